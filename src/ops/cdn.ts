/**
 * The video edge's cache hit ratio over the last hour, read from the nginx access
 * log that deploy/nginx/smartalk.conf writes (`cache=$upstream_cache_status`).
 * It feeds `smartalk_cdn_cache_hit_ratio` (the CdnHitRateLow rule and 查看CDN缓存命中率).
 */
import { open } from 'node:fs/promises';

/** How much of the log's end is read: an hour of a busy edge, not the whole file. */
const TAIL_BYTES = 32 * 1024 * 1024;
const LINE = /\[([^\]]+)\] "(?:GET|HEAD) (\/videos\/\S*) [^"]*" \d{3} \d+ rt=\S+ cache=([A-Z]+|-)/;

export interface CdnStats {
  requests: number;
  hits: number;
  ratio: number | null;
}

/** Cache outcomes of /videos/ requests in the last `windowMs` (HIT over every cache lookup). */
export async function cdnStats(file: string, now = Date.now(), windowMs = 3_600_000): Promise<CdnStats> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    let requests = 0;
    let hits = 0;
    for (const line of buffer.toString('utf8').split('\n')) {
      const match = LINE.exec(line);
      if (!match || match[3] === '-') continue; // not a cache lookup
      const at = Date.parse(match[1] as string);
      if (Number.isNaN(at) || at < now - windowMs || at > now + 60_000) continue;
      requests++;
      if (match[3] === 'HIT') hits++;
    }
    return { requests, hits, ratio: requests > 0 ? hits / requests : null };
  } finally {
    await handle.close();
  }
}
