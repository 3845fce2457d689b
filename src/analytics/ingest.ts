/**
 * Event ingestion: validate each event, deduplicate by client id, store the new
 * ones and fold them into the derived state, atomically. The caller answers only
 * after the statement commits, so an acknowledged event is durable, and a retry
 * of the same ids is counted as duplicates, never twice.
 *
 * A batch is one SQL statement whatever its size, never a statement per event.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { FUNNEL } from './definitions.js';
import { checkEvent, type IngestCaller, isRejected, type NormalizedEvent, type RejectedEvent } from './events.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: RejectedEvent[];
  receivedAt: string;
}

export interface IngestOutcome extends IngestResult {
  /** Events stored by this call (not duplicates), with their subject. */
  stored: Array<NormalizedEvent & { subject: string }>;
  /** Subjects whose first magic moment arrived in this call: activations. */
  newlyActivated: string[];
}

/** Events that start or continue a drama run (magic_moment_completed completes it). */
export const DRAMA_START_EVENTS = new Set([
  'vtpr_learning_started',
  'keyword_attempt',
  'first_clue_completed',
  'all_clues_completed',
  'magic_moment_started',
  'focus_mode_triggered',
  'rescue_mode_triggered',
]);

export interface IngestDeps {
  db: Db;
  /** IANA zone for the day boundaries of daily activity and counters. */
  tz: string;
}

export async function ingestEvents(
  deps: IngestDeps,
  raw: unknown[],
  caller: IngestCaller,
  now = new Date(),
): Promise<IngestOutcome> {
  const rejected: RejectedEvent[] = [];
  const valid: NormalizedEvent[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  raw.forEach((item, index) => {
    const result = checkEvent(item, index, caller, now);
    if (isRejected(result)) rejected.push(result);
    else if (seen.has(result.id)) duplicates++;
    else {
      seen.add(result.id);
      valid.push(result);
    }
  });
  const receivedAt = now.toISOString();
  if (valid.length === 0) return { accepted: 0, duplicates, rejected, receivedAt, stored: [], newlyActivated: [] };

  const { db } = deps;
  const subjects = await resolveSubjects(db, valid, caller);
  const withSubject: Array<NormalizedEvent & { subject: string }> = [];
  for (const event of valid) {
    const subject = subjects.get(event);
    if (typeof subject === 'string')
      withSubject.push({ ...event, subject, userId: subject.startsWith('device:') ? undefined : subject });
    else rejected.push({ index: event.index, id: event.id, reason: subject?.reason ?? 'unknown user' });
  }
  rejected.sort((a, b) => a.index - b.index);
  if (withSubject.length === 0) return { accepted: 0, duplicates, rejected, receivedAt, stored: [], newlyActivated: [] };

  const { repeated, newlyActivated } = await storeEvents(db, deps.tz, withSubject);
  const stored = repeated.size === 0 ? withSubject : withSubject.filter((event) => !repeated.has(event.id));
  return {
    accepted: stored.length,
    duplicates: duplicates + (withSubject.length - stored.length),
    rejected,
    receivedAt,
    stored,
    newlyActivated,
  };
}

/**
 * Who each event belongs to: its userId (checked to exist when ops sends it), or
 * the registered user of its device, or the device itself until it registers.
 */
async function resolveSubjects(
  db: Db,
  events: NormalizedEvent[],
  caller: IngestCaller,
): Promise<Map<NormalizedEvent, string | { reason: string }>> {
  const result = new Map<NormalizedEvent, string | { reason: string }>();
  const claimedUsers = [...new Set(events.map((e) => e.userId).filter((id): id is string => id !== undefined))];
  const devices = [...new Set(events.filter((e) => e.userId === undefined).map((e) => e.deviceId as string))];
  let knownUsers = new Set<string>(caller.kind === 'learner' ? [caller.userId] : []);
  if (caller.kind === 'ops' && claimedUsers.length > 0) {
    const rows = await db.kysely.selectFrom('users').select('id').where('id', 'in', claimedUsers).execute();
    knownUsers = new Set(rows.map((row) => row.id));
  }
  const deviceOwners = new Map<string, string>();
  if (devices.length > 0) {
    const rows = await db.kysely.selectFrom('users').select(['id', 'device_id']).where('device_id', 'in', devices).execute();
    for (const row of rows) deviceOwners.set(row.device_id, row.id);
  }
  for (const event of events) {
    if (event.userId !== undefined) {
      result.set(event, knownUsers.has(event.userId) ? event.userId : { reason: 'unknown user' });
    } else {
      const device = event.deviceId as string;
      result.set(event, deviceOwners.get(device) ?? `device:${device}`);
    }
  }
  return result;
}

const STEP_COLUMNS = FUNNEL.map((s) => s.column);

/**
 * Store a batch and fold it into the derived state in ONE statement (data-modifying
 * CTEs: atomic without BEGIN/COMMIT, one round trip). Only ids not seen before pass
 * `fresh`; everything derived is computed from those, so a retry adds nothing.
 *
 * The batch travels as one JSON array (json_to_recordset), not a bind parameter per
 * column: serializing arrays element by element was the server's largest cost.
 */
async function storeEvents(
  db: Db,
  tz: string,
  events: Array<NormalizedEvent & { subject: string }>,
): Promise<{ repeated: Set<string>; newlyActivated: string[] }> {
  // Properties were serialized once when checked (events.ts); they are reused as is.
  const text = (value: string | undefined) => (value === undefined ? 'null' : JSON.stringify(value));
  const batch = `[${events
    .map(
      (e) =>
        `{"id":"${e.id}","name":${text(e.name)},"raw_name":${text(e.rawName)},"user_id":${text(e.userId)},` +
        `"device_id":${text(e.deviceId)},"session_id":${text(e.sessionId)},"ts":"${e.timestamp.toISOString()}",` +
        `"app_version":${text(e.appVersion)},"platform":${text(e.platform)},"properties":${e.propertiesJson},"subject":${text(e.subject)}}`,
    )
    .join(',')}]`;
  const stepFirsts = sql.join(FUNNEL.map((step) => sql`min(ts) FILTER (WHERE name = ${step.event}) AS ${sql.id(step.column)}`));
  const stepNames = sql.join(STEP_COLUMNS.map((column) => sql.id(column)));
  const stepUpdates = sql.join(
    STEP_COLUMNS.map(
      (column) => sql`${sql.id(column)} = LEAST(${sql.ref(`analytics_subjects.${column}`)}, ${sql.ref(`excluded.${column}`)})`,
    ),
  );
  const query = sql<{ repeated: string[] | null; activated: string[] | null }>`
    WITH input AS (
      SELECT * FROM json_to_recordset(${batch}::json) AS t(
        id uuid, name text, raw_name text, user_id uuid, device_id text, session_id text,
        ts timestamptz, app_version text, platform text, properties jsonb, subject text)
    ),
    fresh AS (
      INSERT INTO analytics_event_ids (id, received_at)
      SELECT id, now() FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ),
    new_events AS (
      SELECT input.* FROM input JOIN fresh ON fresh.id = input.id
    ),
    stored AS (
      INSERT INTO analytics_events
        (id, name, raw_name, user_id, device_id, session_id, "timestamp", received_at, app_version, platform, properties)
      SELECT id, name, raw_name, user_id, device_id, session_id, ts, now(), app_version, platform, properties FROM new_events
    ),
    per_subject AS (
      SELECT subject,
        (array_agg(user_id) FILTER (WHERE user_id IS NOT NULL))[1] AS user_id,
        min(ts) AS first_seen_at,
        max(ts) AS last_seen_at,
        (array_agg(app_version ORDER BY ts DESC) FILTER (WHERE app_version IS NOT NULL))[1] AS app_version,
        (array_agg(platform ORDER BY ts DESC) FILTER (WHERE platform IS NOT NULL))[1] AS platform,
        (array_agg(properties->>'interestId' ORDER BY ts) FILTER (
          WHERE name = 'interest_selected' AND jsonb_typeof(properties->'interestId') = 'string'
            AND length(properties->>'interestId') BETWEEN 1 AND 64))[1] AS interest_id,
        ${stepFirsts},
        (min(ts) FILTER (WHERE name = 'magic_moment_completed') AT TIME ZONE ${tz})::date AS activation_day
      FROM new_events GROUP BY subject
    ),
    before AS (
      SELECT s.subject, s.magic_moment_completed_at
      FROM analytics_subjects s JOIN per_subject p ON p.subject = s.subject
      ORDER BY s.subject FOR UPDATE OF s
    ),
    subjects AS (
      INSERT INTO analytics_subjects
        (subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames}, activation_day)
      SELECT subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames}, activation_day
      FROM per_subject ORDER BY subject
      ON CONFLICT (subject) DO UPDATE SET
        user_id = COALESCE(analytics_subjects.user_id, excluded.user_id),
        first_seen_at = LEAST(analytics_subjects.first_seen_at, excluded.first_seen_at),
        last_seen_at = GREATEST(analytics_subjects.last_seen_at, excluded.last_seen_at),
        app_version = CASE WHEN excluded.last_seen_at >= analytics_subjects.last_seen_at
          THEN COALESCE(excluded.app_version, analytics_subjects.app_version)
          ELSE COALESCE(analytics_subjects.app_version, excluded.app_version) END,
        platform = CASE WHEN excluded.last_seen_at >= analytics_subjects.last_seen_at
          THEN COALESCE(excluded.platform, analytics_subjects.platform)
          ELSE COALESCE(analytics_subjects.platform, excluded.platform) END,
        interest_id = CASE WHEN analytics_subjects.interest_selected_at IS NULL
            OR excluded.interest_selected_at < analytics_subjects.interest_selected_at
          THEN COALESCE(excluded.interest_id, analytics_subjects.interest_id)
          ELSE analytics_subjects.interest_id END,
        ${stepUpdates},
        activation_day = (LEAST(analytics_subjects.magic_moment_completed_at, excluded.magic_moment_completed_at)
          AT TIME ZONE ${tz})::date
      RETURNING subject, magic_moment_completed_at
    ),
    activity AS (
      INSERT INTO analytics_daily_activity (subject, day)
      SELECT DISTINCT subject, (ts AT TIME ZONE ${tz})::date FROM new_events ORDER BY 1, 2
      ON CONFLICT DO NOTHING
    ),
    counts AS (
      INSERT INTO analytics_daily_counts (day, counter, count)
      SELECT day, counter, count(*) FROM (
        SELECT (ts AT TIME ZONE ${tz})::date AS day, 'event:' || name AS counter FROM new_events
        UNION ALL
        SELECT (ts AT TIME ZONE ${tz})::date, 'keyword_attempt:correct' FROM new_events
        WHERE name = 'keyword_attempt' AND properties->'correct' = 'true'::jsonb
        UNION ALL
        SELECT (ts AT TIME ZONE ${tz})::date, 'keyword_attempt:mode:' || (properties->>'mode') FROM new_events
        WHERE name = 'keyword_attempt' AND properties->>'mode' IN ('normal', 'focus', 'rescue')
      ) c
      GROUP BY day, counter ORDER BY day, counter
      ON CONFLICT (day, counter) DO UPDATE SET count = analytics_daily_counts.count + excluded.count
    ),
    runs AS (
      INSERT INTO analytics_drama_runs (subject, drama_id, started_at, completed_at)
      SELECT subject, properties->>'dramaId', min(ts), min(ts) FILTER (WHERE name = 'magic_moment_completed')
      FROM new_events
      WHERE (name = ANY(${[...DRAMA_START_EVENTS]}::text[]) OR name = 'magic_moment_completed')
        AND jsonb_typeof(properties->'dramaId') = 'string' AND length(properties->>'dramaId') BETWEEN 1 AND 64
      GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (subject, drama_id) DO UPDATE SET
        started_at = LEAST(analytics_drama_runs.started_at, excluded.started_at),
        completed_at = LEAST(analytics_drama_runs.completed_at, excluded.completed_at)
    )
    SELECT
      (SELECT array_agg(i.id::text) FROM input i WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.id = i.id)) AS repeated,
      (SELECT array_agg(u.subject) FROM subjects u LEFT JOIN before b ON b.subject = u.subject
        WHERE u.magic_moment_completed_at IS NOT NULL AND b.magic_moment_completed_at IS NULL) AS activated`;
  const compiled = query.compile(db.kysely);
  const result = await retryOnDeadlock(() => db.executePrepared('smartalk_ingest_events_v3', compiled));
  // Duplicates are the exception: the answer lists those, not the (many) new ids.
  const row = result.rows[0];
  return { repeated: new Set(row?.repeated ?? []), newlyActivated: row?.activated ?? [] };
}

/**
 * Concurrent batches lock subject and rollup rows; rows are taken in a fixed order,
 * but two batches can still meet in opposite orders (an insert trigger and an update
 * trigger of one statement, say). PostgreSQL then aborts one statement whole; it is
 * safe to run again, since nothing of it was stored.
 */
async function retryOnDeadlock<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
