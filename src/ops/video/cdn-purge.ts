/**
 * `smartalk cdn purge PATH…`: the runbook's `curl -X PURGE https://cdn…/videos/*`, behind
 * one interface with an adapter per edge:
 * - `nginx-cache:DIR` — our own nginx edge (deploy/nginx). Open-source nginx has no PURGE,
 *   so the adapter removes the cache files whose key (`$uri$slice_range`, written in each
 *   file's header) is the path, or starts with it for `/videos/*`; nginx then misses and
 *   fetches from the origin again.
 * - `http-purge:URL` — an edge that accepts the PURGE method (Varnish, nginx with the
 *   cache_purge module, several CDNs).
 * A vendor's API (Aliyun, Tencent, Cloudflare) is one more adapter with the same shape.
 */
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

export interface PurgeOutcome {
  path: string;
  ok: boolean;
  /** Cache entries removed (nginx-cache), or the edge's answer (http-purge). */
  detail: string;
  removed?: number;
}

export interface CdnPurger {
  /** `nginx-cache:/var/cache/nginx/smartalk` */
  describe(): string;
  purge(paths: string[]): Promise<PurgeOutcome[]>;
}

/** A path to purge: an absolute URL path, `*` only at its end. */
export function validPurgePath(value: string): boolean {
  return /^\/[\w./%-]*\*?$/.test(value) && !value.includes('..');
}

async function cacheKeyOf(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('latin1', 0, bytesRead);
    return /\nKEY: ([^\n]*)\n/.exec(text)?.[1];
  } finally {
    await handle.close();
  }
}

async function cacheFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (current: string, depth: number) => {
    for (const entry of await readdir(current, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory() && depth < 3) await walk(full, depth + 1);
      else if (entry.isFile()) files.push(full);
    }
  };
  await walk(dir, 0);
  return files;
}

/** Our edge's key is `$uri$slice_range`: a path's entries are the key itself and its slices. */
const keyMatches = (key: string, wanted: string) =>
  wanted.endsWith('*') ? key.startsWith(wanted.slice(0, -1)) : key === wanted || key.startsWith(`${wanted}bytes=`);

export function nginxCachePurger(dir: string): CdnPurger {
  return {
    describe: () => `nginx-cache:${dir}`,
    async purge(paths) {
      const files = await cacheFiles(dir);
      const keys = new Map<string, string | undefined>();
      for (const file of files) keys.set(file, await cacheKeyOf(file).catch(() => undefined));
      const outcomes: PurgeOutcome[] = [];
      for (const wanted of paths) {
        let removed = 0;
        for (const [file, key] of keys) {
          if (key === undefined || !keyMatches(key, wanted)) continue;
          await rm(file, { force: true });
          keys.delete(file);
          removed++;
        }
        outcomes.push({ path: wanted, ok: true, removed, detail: `${removed} cache entries removed` });
      }
      return outcomes;
    },
  };
}

export function httpPurger(base: string): CdnPurger {
  return {
    describe: () => `http-purge:${base}`,
    async purge(paths) {
      const outcomes: PurgeOutcome[] = [];
      for (const wanted of paths) {
        try {
          const response = await fetch(new URL(wanted, base), { method: 'PURGE', signal: AbortSignal.timeout(10_000) });
          await response.body?.cancel();
          outcomes.push({ path: wanted, ok: response.ok, detail: `${response.status} ${response.statusText}` });
        } catch (error) {
          outcomes.push({ path: wanted, ok: false, detail: (error as Error).message });
        }
      }
      return outcomes;
    },
  };
}

/** The purger CDN_PURGE names, or undefined when none is configured. */
export function purgerOf(setting: string | undefined): CdnPurger | undefined {
  if (!setting) return undefined;
  if (setting.startsWith('nginx-cache:')) return nginxCachePurger(setting.slice('nginx-cache:'.length));
  if (setting.startsWith('http-purge:')) return httpPurger(setting.slice('http-purge:'.length));
  return undefined;
}
