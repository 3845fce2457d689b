/**
 * Anonymous learners, identified by their device. A device id is an identifier, not a
 * credential: creating a learner issues a token and a device secret (each shown once;
 * only their SHA-256 is stored), and resuming the learner of a known device needs that
 * secret or a live token of the learner. Without one, nothing is created, no token is
 * issued and none is revoked (docs/security.md).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { retryWhole } from '../db/retry.js';
import { AppError } from '../errors.js';
import { sameSecret } from '../secrets.js';
import type { JourneyEventSink } from './journey-events.js';

/** A learner keeps at most this many live tokens (their own resumes: reinstalls, a second client); older ones are revoked. */
export const TOKENS_PER_USER = 5;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => `stk_${randomBytes(24).toString('base64url')}`;
const newDeviceSecret = () => `sds_${randomBytes(24).toString('base64url')}`;

export interface CreatedUser {
  userId: string;
  token: string;
  /** Shown when it is issued: on creation, and on the first resume of a learner created before secrets existed. */
  deviceSecret?: string;
  created: boolean;
  createdAt: Date;
}

export interface DeviceRegistration {
  deviceId: string;
  platform?: string | undefined;
  appVersion?: string | undefined;
  /** The secret issued when the device's learner was created. */
  deviceSecret?: string | undefined;
}

/**
 * Create the learner of a new device, or resume the learner of a known one when the
 * caller proves it is that learner: `deviceSecret`, or `callerUserId` (the learner of
 * the request's live token). Each success issues a fresh token.
 *
 * SQL: INSERT INTO users … ON CONFLICT (device_id) DO NOTHING; then, for a known
 * device, SELECT … FOR UPDATE to check the proof.
 */
export async function registerDevice(db: Db, input: DeviceRegistration, callerUserId?: string): Promise<CreatedUser> {
  const token = newToken();
  return db.kysely.transaction().execute(async (trx) => {
    const issueToken = (userId: string) =>
      trx
        .insertInto('user_tokens')
        .values({ token_hash: hashToken(token), user_id: userId })
        .execute();
    const deviceSecret = newDeviceSecret();
    const inserted = await trx
      .insertInto('users')
      .values({
        id: randomUUID(),
        device_id: input.deviceId,
        device_secret_hash: hashToken(deviceSecret),
        platform: input.platform ?? null,
        app_version: input.appVersion ?? null,
      })
      .onConflict((oc) => oc.column('device_id').doNothing())
      .returning(['id', 'created_at'])
      .executeTakeFirst();
    if (inserted) {
      await issueToken(inserted.id);
      return { userId: inserted.id, token, deviceSecret, created: true, createdAt: inserted.created_at };
    }

    const known = await trx
      .selectFrom('users')
      .select(['id', 'created_at', 'device_secret_hash'])
      .where('device_id', '=', input.deviceId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const bySecret =
      input.deviceSecret !== undefined &&
      known.device_secret_hash !== null &&
      sameSecret(hashToken(input.deviceSecret), known.device_secret_hash);
    if (!bySecret && callerUserId !== known.id) {
      if (input.deviceSecret !== undefined)
        throw new AppError('SMT_ERR_AUTH_INVALID', 'The deviceSecret does not match this device');
      throw new AppError('SMT_ERR_DEVICE_REGISTERED');
    }
    // A learner from before device secrets gets theirs on the first resume with a live token.
    const issueSecret = known.device_secret_hash === null;
    await trx
      .updateTable('users')
      .set((eb) => ({
        last_seen_at: sql<Date>`now()`,
        platform: eb.fn.coalesce(eb.val(input.platform ?? null), 'platform'),
        app_version: eb.fn.coalesce(eb.val(input.appVersion ?? null), 'app_version'),
        ...(issueSecret ? { device_secret_hash: hashToken(deviceSecret) } : {}),
      }))
      .where('id', '=', known.id)
      .execute();
    await issueToken(known.id);
    await trx
      .deleteFrom('user_tokens')
      .where('user_id', '=', known.id)
      .where('token_hash', 'not in', (eb) =>
        eb
          .selectFrom('user_tokens')
          .select('token_hash')
          .where('user_id', '=', known.id)
          .orderBy('created_at', 'desc')
          .limit(TOKENS_PER_USER),
      )
      .execute();
    return {
      userId: known.id,
      token,
      ...(issueSecret ? { deviceSecret } : {}),
      created: false,
      createdAt: known.created_at,
    };
  });
}

/**
 * The user a learner token belongs to, or undefined. Read from the database every time
 * (a primary-key lookup): a revoked token must stop working at once on every instance,
 * which no per-instance cache can promise.
 */
export async function findUserByToken(db: Db, token: string): Promise<string | undefined> {
  const row = await db.kysely
    .selectFrom('user_tokens')
    .select('user_id')
    .where('token_hash', '=', hashToken(token))
    .executeTakeFirst();
  return row?.user_id;
}

/** End one token (logout). Resolves true when it was live. */
export async function revokeToken(db: Db, userId: string, token: string): Promise<boolean> {
  const result = await db.kysely
    .deleteFrom('user_tokens')
    .where('token_hash', '=', hashToken(token))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
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
/** Choose an interest at `at`, with its interest_selected event in the same transaction (the first choice counts). */
export async function selectInterest(
  deps: { db: Db; events: JourneyEventSink },
  userId: string,
  interestId: string,
  at: Date,
): Promise<void> {
  await retryWhole(() =>
    deps.db.kysely.transaction().execute(async (trx) => {
      const added = await trx
        .insertInto('user_interests')
        .values({ user_id: userId, interest_id: interestId, selected_at: at })
        .onConflict((oc) => oc.columns(['user_id', 'interest_id']).doNothing())
        .returning('interest_id')
        .executeTakeFirst();
      if (added)
        await deps.events.record(trx, userId, [{ name: 'interest_selected', scope: interestId, at, properties: { interestId } }]);
    }),
  );
}
