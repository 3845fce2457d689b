/**
 * Anonymous learners, identified by their device. A learner's token is shown once;
 * only its SHA-256 is stored.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import type { KeyValueStore } from '../store/store.js';

/** A device keeps at most this many live tokens (reinstalls, a second client); older ones are revoked. */
export const TOKENS_PER_USER = 5;
const TOKEN_CACHE_SECONDS = 300;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => `stk_${randomBytes(24).toString('base64url')}`;

export interface CreatedUser {
  userId: string;
  token: string;
  created: boolean;
  createdAt: Date;
}

/**
 * Create the learner for a device, or resume it: the same device id always maps
 * to the same user. Each call issues a fresh token.
 *
 * SQL: INSERT INTO users … ON CONFLICT (device_id) DO UPDATE … RETURNING id, (xmax = 0) AS created
 */
export async function createOrResumeUser(
  db: Db,
  input: { deviceId: string; platform?: string | undefined; appVersion?: string | undefined },
): Promise<CreatedUser> {
  const token = newToken();
  return db.kysely.transaction().execute(async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({
        id: randomUUID(),
        device_id: input.deviceId,
        platform: input.platform ?? null,
        app_version: input.appVersion ?? null,
      })
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet((eb) => ({
          last_seen_at: sql<Date>`now()`,
          platform: eb.fn.coalesce('excluded.platform', 'users.platform'),
          app_version: eb.fn.coalesce('excluded.app_version', 'users.app_version'),
        })),
      )
      .returning(['id', 'created_at', sql<boolean>`(xmax = 0)`.as('created')])
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('user_tokens')
      .values({ token_hash: hashToken(token), user_id: user.id })
      .execute();
    await trx
      .deleteFrom('user_tokens')
      .where('user_id', '=', user.id)
      .where('token_hash', 'not in', (eb) =>
        eb
          .selectFrom('user_tokens')
          .select('token_hash')
          .where('user_id', '=', user.id)
          .orderBy('created_at', 'desc')
          .limit(TOKENS_PER_USER),
      )
      .execute();
    return { userId: user.id, token, created: user.created, createdAt: user.created_at };
  });
}

/**
 * The user a learner token belongs to, or undefined. Hits are cached in the store
 * for a few minutes; a revoked token may live that long in the cache.
 */
export async function findUserByToken(db: Db, store: KeyValueStore, token: string): Promise<string | undefined> {
  const hash = hashToken(token);
  const cacheKey = `auth:token:${hash}`;
  const cached = await store.get(cacheKey);
  if (cached) return cached;
  const row = await db.kysely.selectFrom('user_tokens').select('user_id').where('token_hash', '=', hash).executeTakeFirst();
  if (row) await store.set(cacheKey, row.user_id, TOKEN_CACHE_SECONDS);
  return row?.user_id;
}

export interface UserProfile {
  id: string;
  createdAt: Date;
  platform: string | null;
  appVersion: string | null;
  interests: Array<{ id: string; selectedAt: Date }>;
}

export async function getUserProfile(db: Db, userId: string): Promise<UserProfile> {
  const user = await db.kysely
    .selectFrom('users')
    .select(['id', 'created_at', 'platform', 'app_version'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!user) throw new AppError('SMT_ERR_USER_NOT_FOUND');
  const interests = await db.kysely
    .selectFrom('user_interests')
    .select(['interest_id', 'selected_at'])
    .where('user_id', '=', userId)
    .orderBy('selected_at')
    .execute();
  return {
    id: user.id,
    createdAt: user.created_at,
    platform: user.platform,
    appVersion: user.app_version,
    interests: interests.map((row) => ({ id: row.interest_id, selectedAt: row.selected_at })),
  };
}

/** Record that a learner chose an interest theme (idempotent). */
export async function selectInterest(db: Db, userId: string, interestId: string): Promise<void> {
  await db.kysely
    .insertInto('user_interests')
    .values({ user_id: userId, interest_id: interestId })
    .onConflict((oc) => oc.columns(['user_id', 'interest_id']).doNothing())
    .execute();
}
