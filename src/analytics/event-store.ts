/**
 * The SQL side of ingestion: whom each event belongs to, and storing a batch with
 * its derived state in one statement. Both run once per group of requests (see
 * event-writer.ts), never once per event.
 */
import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { type ArrayElementType, arrayParam, arrayParamCast } from '../db/array-params.js';
import type { Db, DbEngine } from '../db/database.js';
import { retryWhole } from '../db/retry.js';
import type { Database } from '../db/schema.js';
import { FUNNEL } from './definitions.js';
import type { NormalizedEvent } from './events.js';

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

/** An event whose subject is known: it can be stored. */
export type SubjectEvent = NormalizedEvent & { subject: string };

const DEVICE_SUBJECT = 'device:';

/**
 * Set whom each event belongs to: its userId (checked to exist when ops sent it, null
 * when it names no user); a device-only event counts for the device, or — only when
 * ops sent it — for the device's registered learner: anyone can know a device id, so
 * an anonymous event naming one must not move a learner's numbers. One prepared query
 * for the users and devices of the whole group.
 */
export async function resolveSubjects(db: Db, events: NormalizedEvent[]): Promise<void> {
  const claimedUsers = new Set<string>();
  const devices = new Set<string>();
  for (const event of events) {
    if (event.userId === undefined) {
      if (event.sentByOps) devices.add(event.deviceId as string);
    } else if (event.sentByOps) claimedUsers.add(event.userId);
  }
  const knownUsers = new Set<string>();
  const deviceOwners = new Map<string, string>();
  if (claimedUsers.size > 0 || devices.size > 0) {
    const { rows } = await db.executePrepared(
      'smartalk_ingest_subjects_v1',
      sql<{ id: string; device_id: string }>`
        SELECT id::text AS id, device_id FROM users
        WHERE id = ANY(${[...claimedUsers]}::uuid[]) OR device_id = ANY(${[...devices]}::text[])`.compile(db.kysely),
    );
    for (const row of rows) {
      if (claimedUsers.has(row.id)) knownUsers.add(row.id);
      if (devices.has(row.device_id)) deviceOwners.set(row.device_id, row.id);
    }
  }
  for (const event of events) {
    if (event.userId === undefined) {
      const device = event.deviceId as string;
      event.subject = deviceOwners.get(device) ?? DEVICE_SUBJECT + device;
    } else event.subject = !event.sentByOps || knownUsers.has(event.userId) ? event.userId : null;
  }
}

const STEP_COLUMNS = FUNNEL.map((s) => s.column);

/**
 * Store a batch and fold it into the derived state in ONE statement (data-modifying
 * CTEs: atomic without BEGIN/COMMIT, one round trip). Only ids not seen before pass
 * `fresh`; everything derived is computed from those, so a retry adds nothing.
 *
 * The batch travels as one text parameter per column, built by hand (batchColumns):
 * letting the driver serialize JS arrays element by element was the server's
 * largest cost, and PostgreSQL parses JSON rows twice as slowly as array literals.
 */
export async function storeEvents(
  db: Db,
  tz: string,
  events: SubjectEvent[],
): Promise<{ repeated: Set<string>; newlyActivated: string[] }> {
  const compiled = ingestQuery(db, tz, events);
  return ingestOutcome(await retryWhole(() => db.executePrepared(INGEST_STATEMENT, compiled)));
}

/**
 * The same, inside the caller's transaction `q` (the learning actions' own events,
 * learning/journey-events.ts): stored with the action or not at all. Not retried here: a
 * deadlock aborts the whole transaction, which its owner runs again.
 */
export async function storeEventsIn(
  q: Kysely<Database>,
  db: Db,
  tz: string,
  events: SubjectEvent[],
): Promise<{ repeated: Set<string>; newlyActivated: string[] }> {
  return ingestOutcome(await q.executeQuery(ingestQuery(db, tz, events)));
}

const INGEST_STATEMENT = 'smartalk_ingest_events_v12';

function ingestQuery(db: Db, tz: string, events: SubjectEvent[]): CompiledQuery<IngestRow> {
  const statement = ingestStatement(db);
  const columns = batchColumns(db.engine, events);
  return {
    ...statement,
    parameters: statement.parameters.map((value) =>
      value === ZONE
        ? tz
        : typeof value === 'string' && PLACEHOLDERS.has(value)
          ? columns[PLACEHOLDERS.get(value) as InputColumn]
          : value,
    ),
  };
}

function ingestOutcome(result: { rows: IngestRow[] }): { repeated: Set<string>; newlyActivated: string[] } {
  // Duplicates are the exception: the answer lists those, not the (many) new ids.
  const row = result.rows[0];
  return { repeated: new Set(row?.repeated ?? []), newlyActivated: row?.activated ?? [] };
}

/**
 * The batch travels column by column, each column one array parameter (binary for
 * PostgreSQL, see db/array-params.ts) and the properties one JSON array, unnested side
 * by side in SQL: PostgreSQL reads arrays several times faster than the same rows as
 * JSON objects. raw_name is NULL when it equals name; user_id is NULL for a device's
 * subject, subject NULL otherwise.
 */
const INPUT_COLUMNS = [
  ['id', 'uuid', (e) => e.id],
  ['name', 'text', (e) => e.name],
  ['raw_name', 'text', (e) => (e.rawName === e.name ? undefined : e.rawName)],
  ['user_id', 'uuid', (e) => (isDeviceSubject(e) ? undefined : e.subject)],
  ['device_id', 'text', (e) => e.deviceId],
  ['session_id', 'text', (e) => e.sessionId],
  ['ts', 'timestamptz', (e) => e.timestampText],
  ['app_version', 'text', (e) => e.appVersion],
  ['platform', 'text', (e) => e.platform],
  ['subject', 'text', (e) => (isDeviceSubject(e) ? e.subject : undefined)],
  ['properties', 'jsonb', (e) => e.propertiesJson],
] as const satisfies ReadonlyArray<readonly [string, ArrayElementType | 'jsonb', (event: SubjectEvent) => string | undefined]>;
type InputColumn = (typeof INPUT_COLUMNS)[number][0];

const isDeviceSubject = (event: SubjectEvent) => event.subject.startsWith(DEVICE_SUBJECT);

function batchColumns(engine: DbEngine, events: SubjectEvent[]): Record<InputColumn, Buffer | string> {
  const columns = {} as Record<InputColumn, Buffer | string>;
  for (const [column, type, value] of INPUT_COLUMNS) {
    // Properties were serialized once when checked (events.ts) and are reused as is.
    columns[column] = type === 'jsonb' ? `[${events.map(value).join(',')}]` : arrayParam(engine, type, events.map(value));
  }
  return columns;
}

// Stand-ins for the per-call parameters: the statement is compiled once per Kysely
// instance and only these values change between calls.
const ZONE = '\u0000smartalk:zone';
const PLACEHOLDERS = new Map<string, InputColumn>(INPUT_COLUMNS.map(([column]) => [`\u0000smartalk:${column}`, column]));
const compiledStatements = new WeakMap<Kysely<Database>, CompiledQuery<IngestRow>>();

interface IngestRow {
  repeated: string[] | null;
  activated: string[] | null;
}

function ingestStatement(db: Db): CompiledQuery<IngestRow> {
  let compiled = compiledStatements.get(db.kysely);
  if (!compiled) {
    compiled = buildIngestStatement(
      db.engine,
      Object.fromEntries([...PLACEHOLDERS].map(([placeholder, column]) => [column, placeholder])) as Record<InputColumn, string>,
      ZONE,
    ).compile(db.kysely);
    compiledStatements.set(db.kysely, compiled);
    // Inside a transaction (storeEventsIn) it is planned once per connection too, as
    // executePrepared plans it outside one (its own name: one text per name).
    db.prepareText(`${INGEST_STATEMENT}_tx`, compiled.sql);
  }
  return compiled;
}

function buildIngestStatement(engine: DbEngine, columns: Record<InputColumn, string>, tz: string) {
  const stepFirsts = sql.join(FUNNEL.map((step) => sql`min(ts) FILTER (WHERE name = ${step.event}) AS ${sql.id(step.column)}`));
  const stepNames = sql.join(STEP_COLUMNS.map((column) => sql.id(column)));
  const stepValues = sql.join(STEP_COLUMNS.map((column) => sql.ref(`p.${column}`)));
  const stepUpdates = sql.join(
    STEP_COLUMNS.map(
      (column) => sql`${sql.id(column)} = LEAST(${sql.ref(`analytics_subjects.${column}`)}, ${sql.ref(`excluded.${column}`)})`,
    ),
  );
  return sql<IngestRow>`
    WITH input AS (
      SELECT id, name, COALESCE(raw_name, name) AS raw_name, user_id, device_id, session_id, ts,
        app_version, platform, properties, COALESCE(subject, user_id::text) AS subject
      FROM ROWS FROM (${sql.join(
        INPUT_COLUMNS.map(([column, type]) =>
          type === 'jsonb'
            ? sql`jsonb_array_elements(${columns[column]}::text::jsonb)`
            : sql`unnest(${columns[column]}${sql.raw(arrayParamCast(engine, type))})`,
        ),
      )}) AS t(${sql.join(INPUT_COLUMNS.map(([column]) => sql.id(column)))})
    ),
    fresh AS (
      -- ON CONFLICT rather than a NOT EXISTS-guarded insert: ~1.5 µs/event dearer, but
      -- always an index probe, where the anti-join's plan, made while the table was
      -- small, can turn into a scan of every id ever stored. In id order, consecutive
      -- probes walk neighbouring index pages (~1 µs/event less than random order).
      INSERT INTO analytics_event_ids (id, received_at)
      SELECT id, now() FROM input ORDER BY id
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
    -- Reading before here makes it run first. Run after the upsert, its FOR UPDATE
    -- would skip every row this statement had just updated (PostgreSQL treats a row
    -- updated by the same command as gone), and an activated learner's later magic
    -- moment would count as a second activation.
    subjects AS (
      INSERT INTO analytics_subjects
        (subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames}, activation_day)
      SELECT p.subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepValues}, activation_day
      FROM per_subject p LEFT JOIN before b ON b.subject = p.subject ORDER BY p.subject
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
      INSERT INTO analytics_daily_counts (day, counter, shard, count)
      SELECT day, counter, mod(pg_backend_pid(), 8), count(*) FROM (
        SELECT (ts AT TIME ZONE ${tz})::date AS day, 'event:' || name AS counter FROM new_events
        UNION ALL
        SELECT (ts AT TIME ZONE ${tz})::date, 'keyword_attempt:correct' FROM new_events
        WHERE name = 'keyword_attempt' AND properties->'correct' = 'true'::jsonb
        UNION ALL
        SELECT (ts AT TIME ZONE ${tz})::date, 'keyword_attempt:mode:' || (properties->>'mode') FROM new_events
        WHERE name = 'keyword_attempt' AND properties->>'mode' IN ('normal', 'focus', 'rescue')
        UNION ALL
        SELECT (ts AT TIME ZONE ${tz})::date, 'srs_card_reviewed:correct' FROM new_events
        WHERE name = 'srs_card_reviewed' AND properties->'correct' = 'true'::jsonb
      ) c
      GROUP BY day, counter ORDER BY day, counter
      ON CONFLICT (day, counter, shard) DO UPDATE SET count = analytics_daily_counts.count + excluded.count
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
}
