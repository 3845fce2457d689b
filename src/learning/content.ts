/**
 * The content catalog as the API serves it. Content changes only when someone
 * runs `smartalk seed`, so it is read from the database once and kept in memory
 * for a short time; catalog GETs then cost no query at all. Each load also looks at
 * the media files, so a file that lands stops being `pending` within a minute.
 */
import type { Selectable } from 'kysely';
import { Cached } from '../cached.js';
import type { Db } from '../db/database.js';
import type { DramasTable, InterestsTable, KeywordsTable, VtprClipsTable } from '../db/schema.js';
import { JsonView } from '../http/json-view.js';
import { loadContentKey } from './content-key.js';
import { type MediaState, mediaStates, PENDING_MEDIA } from './media.js';

export type InterestRow = Selectable<InterestsTable>;
export type DramaRow = Selectable<DramasTable>;
export type KeywordRow = Selectable<KeywordsTable>;
export type ClipRow = Selectable<VtprClipsTable>;

/**
 * The catalog with its public names (content-key.ts): clip ids, clip positions and media
 * paths are the ones a learner sees; the content team's stay in the database.
 */
export interface Catalog {
  interests: InterestRow[];
  interestById: Map<string, InterestRow>;
  /** Per interest, ordered by chapter. */
  dramasByInterest: Map<string, DramaRow[]>;
  dramaById: Map<string, DramaRow>;
  /** Per drama, ordered by position. */
  keywordsByDrama: Map<string, KeywordRow[]>;
  keywordById: Map<string, KeywordRow>;
  /** Per keyword, in their public order (position 1…n). */
  clipsByKeyword: Map<string, ClipRow[]>;
  /** A public media path (`m/….mp4`) → the file under CONTENT_DIR and where it stands. */
  media: Map<string, { file: string; state: MediaState }>;
}

function group<T, K>(rows: T[], key: (row: T) => K): Map<K, T[]> {
  const map = new Map<K, T[]>();
  for (const row of rows) {
    const list = map.get(key(row));
    if (list) list.push(row);
    else map.set(key(row), [row]);
  }
  return map;
}

/** The catalog from the database, with the state of its media files under `contentDir`. */
export async function loadCatalog(db: Db, contentDir: string): Promise<Catalog> {
  const [interests, dramaRows, keywordRows, clipRows, key] = await Promise.all([
    db.kysely.selectFrom('interests').selectAll().orderBy('sort_order').execute(),
    db.kysely.selectFrom('dramas').selectAll().orderBy('interest_id').orderBy('chapter').execute(),
    db.kysely.selectFrom('keywords').selectAll().orderBy('drama_id').orderBy('position').execute(),
    db.kysely.selectFrom('vtpr_clips').selectAll().execute(),
    loadContentKey(db.kysely),
  ]);
  const mediaFiles = new Map<string, string>();
  const media = (file: string) => {
    const shown = key.mediaPath(file);
    mediaFiles.set(shown, file);
    return shown;
  };
  const dramas = dramaRows.map((row) => ({
    ...row,
    video_subtitled: media(row.video_subtitled),
    video_plain: media(row.video_plain),
  }));
  const keywords = keywordRows.map((row) => ({ ...row, audio_path: media(row.audio_path) }));
  const clipsByKeyword = group(clipRows, (row) => row.keyword_id);
  for (const [keywordId, rows] of clipsByKeyword) {
    const ordered = rows.map((row) => ({ row, order: key.orderOf(row.id) })).sort((a, b) => (a.order < b.order ? -1 : 1));
    clipsByKeyword.set(
      keywordId,
      ordered.map(({ row }, i) => ({ ...row, id: key.clipId(row.id), position: i + 1, video_path: media(row.video_path) })),
    );
  }
  const states = await mediaStates(contentDir, mediaFiles.values());
  return {
    interests,
    interestById: new Map(interests.map((row) => [row.id, row])),
    dramasByInterest: group(dramas, (row) => row.interest_id),
    dramaById: new Map(dramas.map((row) => [row.id, row])),
    keywordsByDrama: group(keywords, (row) => row.drama_id),
    keywordById: new Map(keywords.map((row) => [row.id, row])),
    clipsByKeyword,
    media: new Map([...mediaFiles].map(([shown, file]) => [shown, { file, state: states.get(file) ?? PENDING_MEDIA }])),
  };
}

/**
 * The catalog, cached for `ttlMs`. Concurrent callers during a reload share one
 * load; a failed reload keeps serving the previous copy (content outlives a
 * database hiccup) and retries on the next call.
 */
export class CatalogCache {
  readonly #catalog: Cached<Catalog>;
  /** Serialized public views of the current catalog, dropped with it. */
  #views = new WeakMap<Catalog, Map<string, JsonView>>();
  /** The latest view under each key, whatever catalog load made it. */
  #latest = new Map<string, JsonView>();

  readonly #db: Db;
  #watching: NodeJS.Timeout | undefined;
  #seenVersion: number | undefined;

  constructor(db: Db, contentDir: string, ttlMs = 60_000, now: () => number = Date.now) {
    this.#db = db;
    this.#catalog = new Cached(() => loadCatalog(db, contentDir), { maxAgeMs: ttlMs, stale: 'on-failure', now });
  }

  /**
   * Reload as soon as the content changes, wherever it was changed: the content version
   * (migration 018, bumped in the changing transaction) is read every `everyMs`. One tiny
   * query per instance every few seconds instead of a stale catalog for up to a minute.
   */
  watch(everyMs = 2_000): void {
    if (this.#watching) return;
    void this.#checkVersion();
    this.#watching = setInterval(() => void this.#checkVersion(), everyMs);
    this.#watching.unref();
  }

  stop(): void {
    clearInterval(this.#watching);
    this.#watching = undefined;
  }

  async #checkVersion(): Promise<void> {
    try {
      const row = await this.#db.kysely.selectFrom('content_version').select('version').executeTakeFirst();
      const version = row?.version;
      if (version !== undefined && this.#seenVersion !== undefined && version !== this.#seenVersion) this.invalidate();
      this.#seenVersion = version;
    } catch {
      // The database is away: the catalog keeps serving what it has (and the TTL retries).
    }
  }

  get(): Promise<Catalog> {
    return this.#catalog.get();
  }

  invalidate(): void {
    this.#catalog.invalidate();
  }

  /**
   * The catalog at once when it is loaded and fresh — every request but about one a
   * minute — so a route can answer without a promise; undefined when it must be loaded.
   */
  current(): Catalog | undefined {
    return this.#catalog.peek();
  }

  /**
   * A public view of `catalog` (the same for every caller), serialized once per catalog
   * load — and compressed once, on first demand, for clients that accept it: catalog GETs
   * then cost neither mapping, serialization nor compression.
   */
  viewOf(catalog: Catalog, key: string, render: (catalog: Catalog) => string): JsonView {
    let views = this.#views.get(catalog);
    if (!views) {
      views = new Map();
      this.#views.set(catalog, views);
    }
    let view = views.get(key);
    if (view === undefined) {
      const json = render(catalog);
      // The catalog is reloaded every minute and rarely changes: an unchanged view keeps
      // its compressed forms instead of compressing again.
      const previous = this.#latest.get(key);
      view = previous?.json === json ? previous : new JsonView(json);
      views.set(key, view);
      this.#latest.set(key, view);
    }
    return view;
  }
}

export interface LockState {
  locked: boolean;
  /** The drama whose magic moment unlocks this one; null for a first chapter. */
  requires: string | null;
}

/**
 * Chapter unlock rule: chapter 1 of every theme is open; chapter N opens when the
 * learner has completed the magic moment of chapter N−1 of the same theme.
 *
 * @example lockStates([ch1, ch2, ch3], new Set([ch1.id])) → ch1 open, ch2 open, ch3 locked
 */
export function lockStates(dramas: DramaRow[], completed: ReadonlySet<string>): Map<string, LockState> {
  const states = new Map<string, LockState>();
  const ordered = [...dramas].sort((a, b) => a.chapter - b.chapter);
  ordered.forEach((drama, i) => {
    const previous = ordered[i - 1];
    states.set(drama.id, {
      locked: previous !== undefined && !completed.has(previous.id),
      requires: previous?.id ?? null,
    });
  });
  return states;
}
