/**
 * The content's public names, keyed by this install's secret (migration 016), so the API
 * does not give the answer away: the content team's ids and file names say which keyword
 * a clip shows (`travel-01-k01-c1`, `clips/travel-01-k01.mp4`) and the seeded right clip
 * cycles through the four positions. A learner sees instead
 *
 * - clip ids `clip_` + 16 characters of HMAC-SHA-256 (96 bits),
 * - a clue's clips ordered by a keyed hash of their ids — the same for every learner and
 *   every retry, unknowable without the secret,
 * - media under `/videos/m/` + 22 characters of HMAC (132 bits) + the file's extension.
 *
 * The database keeps the content team's names; only what leaves the server is mapped.
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export class ContentKey {
  constructor(private readonly secret: string) {}

  #mac(purpose: string, value: string): string {
    return createHmac('sha256', this.secret).update(`${purpose}:${value}`).digest('base64url');
  }

  /** The id a learner sees for a clip. */
  clipId(id: string): string {
    return `clip_${this.#mac('clip', id).slice(0, 16)}`;
  }

  /** Where a learner fetches a media file, under /videos/. */
  mediaPath(file: string): string {
    return `m/${this.#mac('media', file).slice(0, 22)}${path.extname(file)}`;
  }

  /** Sorts a clue's clips: by this, not by the position the content team gave them. */
  orderOf(id: string): string {
    return this.#mac('order', id);
  }
}

/** This install's content key (made by migration 016). */
export async function loadContentKey(kysely: Kysely<Database>): Promise<ContentKey> {
  const row = await kysely.selectFrom('install_secrets').select('secret').where('name', '=', 'content').executeTakeFirst();
  if (!row) throw new Error('install_secrets has no content key: migration 016 made one; restore it from a backup');
  return new ContentKey(row.secret);
}
