/**
 * The video edge's cache hit ratio over the last hour, read from the nginx access
 * log that deploy/nginx/smartalk.conf writes (`cache=$upstream_cache_status`).
 * It feeds `smartalk_cdn_cache_hit_ratio` (the CdnHitRateLow rule and 查看CDN缓存命中率).
 */
import { readTail } from '../files.js';

/** How much of the log's end is read: an hour of a busy edge, not the whole file. */
const TAIL_BYTES = 32 * 1024 * 1024;
const LINE = /\[([^\]]+)\] "(?:GET|HEAD) (\/videos\/\S*) [^"]*" \d{3} \d+ rt=\S+ cache=([A-Z]+|-)/;

export interface CdnStats {
  requests: number;
  hits: number;
  ratio: number | null;
}

/** One cache lookup of the edge: the path asked for and the cache's answer (HIT, MISS, EXPIRED …). */
export interface CacheLookup {
  path: string;
  status: string;
}

/** Cache lookups of /videos/ requests in the last `windowMs`, from the end of the log. */
export async function cacheLookups(file: string, now = Date.now(), windowMs = 3_600_000): Promise<CacheLookup[]> {
  const lookups: CacheLookup[] = [];
  for (const line of (await readTail(file, TAIL_BYTES)).split('\n')) {
    const match = LINE.exec(line);
    if (!match || match[3] === '-') continue; // not a cache lookup
    const at = Date.parse(match[1] as string);
    if (Number.isNaN(at) || at < now - windowMs || at > now + 60_000) continue;
    lookups.push({ path: match[2] as string, status: match[3] as string });
  }
  return lookups;
}

/** Cache outcomes of /videos/ requests in the last `windowMs` (HIT over every cache lookup). */
export async function cdnStats(file: string, now = Date.now(), windowMs = 3_600_000): Promise<CdnStats> {
  const lookups = await cacheLookups(file, now, windowMs);
  const hits = lookups.filter((lookup) => lookup.status === 'HIT').length;
  return { requests: lookups.length, hits, ratio: lookups.length > 0 ? hits / lookups.length : null };
}
