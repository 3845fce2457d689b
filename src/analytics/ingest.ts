/**
 * Event ingestion: validate each event, deduplicate by client id, store the new
 * ones and fold them into the derived state, all in one transaction. The caller
 * answers only after it commits, so an acknowledged event is durable, and a retry
 * of the same ids is counted as duplicates, never twice.
 *
 * Each batch is a fixed handful of statements whatever its size (arrays through
 * unnest), never a statement per event.
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

const stringProperty = (properties: Record<string, unknown>, ...keys: string[]): string | undefined => {
  for (const key of keys) {
    const value = properties[key];
    if (typeof value === 'string' && value.length > 0 && value.length <= 64) return value;
  }
  return undefined;
};

/** Counters kept per day for one event (learning effectiveness reads these). */
export function dailyCounters(event: Pick<NormalizedEvent, 'name' | 'properties'>): string[] {
  const counters = [`event:${event.name}`];
  if (event.name === 'keyword_attempt') {
    if (event.properties.correct === true) counters.push('keyword_attempt:correct');
    const mode = event.properties.mode;
    if (mode === 'normal' || mode === 'focus' || mode === 'rescue') counters.push(`keyword_attempt:mode:${mode}`);
  }
  return counters;
}

interface SubjectRow {
  subject: string;
  userId: string | null;
  firstSeen: Date;
  lastSeen: Date;
  appVersion: string | null;
  platform: string | null;
  interestId: string | null;
  steps: Array<Date | null>;
}

/** Fold a batch's new events into one row per subject (min/max per column). */
export function subjectRows(events: Array<NormalizedEvent & { subject: string }>): SubjectRow[] {
  const rows = new Map<string, SubjectRow>();
  for (const event of events) {
    let row = rows.get(event.subject);
    if (!row) {
      row = {
        subject: event.subject,
        userId: event.userId ?? null,
        firstSeen: event.timestamp,
        lastSeen: event.timestamp,
        appVersion: null,
        platform: null,
        interestId: null,
        steps: FUNNEL.map(() => null),
      };
      rows.set(event.subject, row);
    }
    if (event.timestamp < row.firstSeen) row.firstSeen = event.timestamp;
    if (event.timestamp >= row.lastSeen) {
      row.lastSeen = event.timestamp;
      row.appVersion = event.appVersion ?? row.appVersion;
      row.platform = event.platform ?? row.platform;
    } else {
      row.appVersion ??= event.appVersion ?? null;
      row.platform ??= event.platform ?? null;
    }
    const step = FUNNEL.findIndex((s) => s.event === event.name);
    if (step >= 0) {
      const current = row.steps[step];
      if (!current || event.timestamp < current) {
        row.steps[step] = event.timestamp;
        if (event.name === 'interest_selected') {
          row.interestId = stringProperty(event.properties, 'interestId', 'interest', 'theme') ?? row.interestId;
        }
      }
    }
  }
  return [...rows.values()];
}

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

  const { stored, newlyActivated } = await db.kysely.transaction().execute(async (trx) => {
    const inserted = await sql<{ id: string }>`
      INSERT INTO analytics_event_ids (id, received_at)
      SELECT id, ${receivedAt}::timestamptz FROM unnest(${withSubject.map((e) => e.id)}::uuid[]) AS t(id)
      ON CONFLICT (id) DO NOTHING
      RETURNING id`.execute(trx);
    const fresh = new Set(inserted.rows.map((row) => row.id));
    const stored = withSubject.filter((event) => fresh.has(event.id));
    if (stored.length === 0) return { stored, newlyActivated: [] as string[] };

    const col = <T>(pick: (event: NormalizedEvent & { subject: string }) => T) => stored.map(pick);
    await sql`
      INSERT INTO analytics_events
        (id, name, raw_name, user_id, device_id, session_id, "timestamp", received_at, app_version, platform, properties)
      SELECT id, name, raw_name, user_id, device_id, session_id, ts, ${receivedAt}::timestamptz, app_version, platform, properties
      FROM unnest(
        ${col((e) => e.id)}::uuid[], ${col((e) => e.name)}::text[], ${col((e) => e.rawName)}::text[],
        ${col((e) => e.userId ?? null)}::uuid[], ${col((e) => e.deviceId ?? null)}::text[],
        ${col((e) => e.sessionId ?? null)}::text[], ${col((e) => e.timestamp.toISOString())}::timestamptz[],
        ${col((e) => e.appVersion ?? null)}::text[], ${col((e) => e.platform ?? null)}::text[],
        ${col((e) => e.propertiesJson)}::jsonb[]
      ) AS t(id, name, raw_name, user_id, device_id, session_id, ts, app_version, platform, properties)`.execute(trx);

    const newlyActivated = await upsertSubjects(trx, subjectRows(stored));

    await sql`
      INSERT INTO analytics_daily_activity (subject, day)
      SELECT DISTINCT subject, (ts AT TIME ZONE ${deps.tz})::date
      FROM unnest(${col((e) => e.subject)}::text[], ${col((e) => e.timestamp.toISOString())}::timestamptz[]) AS t(subject, ts)
      ON CONFLICT DO NOTHING`.execute(trx);

    const counterTimes: string[] = [];
    const counterNames: string[] = [];
    for (const event of stored) {
      for (const counter of dailyCounters(event)) {
        counterTimes.push(event.timestamp.toISOString());
        counterNames.push(counter);
      }
    }
    await sql`
      INSERT INTO analytics_daily_counts (day, counter, count)
      SELECT (ts AT TIME ZONE ${deps.tz})::date, counter, count(*)
      FROM unnest(${counterTimes}::timestamptz[], ${counterNames}::text[]) AS t(ts, counter)
      GROUP BY 1, 2
      ON CONFLICT (day, counter) DO UPDATE SET count = analytics_daily_counts.count + excluded.count`.execute(trx);

    await upsertDramaRuns(trx, stored);
    return { stored, newlyActivated };
  });

  return {
    accepted: stored.length,
    duplicates: duplicates + (withSubject.length - stored.length),
    rejected,
    receivedAt,
    stored,
    newlyActivated,
  };
}

type Trx = Db['kysely'];

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

/** Upsert subject rows; returns the subjects whose activation time was set by this call. */
async function upsertSubjects(trx: Trx, rows: SubjectRow[]): Promise<string[]> {
  const steps = STEP_COLUMNS.map((_, i) => rows.map((row) => row.steps[i]?.toISOString() ?? null));
  const stepArrays = sql.join(steps.map((values) => sql`${values}::timestamptz[]`));
  const stepNames = sql.raw(STEP_COLUMNS.join(', '));
  const stepUpdates = sql.raw(
    STEP_COLUMNS.map((column) => `${column} = LEAST(analytics_subjects.${column}, excluded.${column})`).join(',\n'),
  );
  const result = await sql<{ subject: string }>`
    WITH incoming AS (
      SELECT * FROM unnest(
        ${rows.map((r) => r.subject)}::text[], ${rows.map((r) => r.userId)}::uuid[],
        ${rows.map((r) => r.firstSeen.toISOString())}::timestamptz[], ${rows.map((r) => r.lastSeen.toISOString())}::timestamptz[],
        ${rows.map((r) => r.appVersion)}::text[], ${rows.map((r) => r.platform)}::text[], ${rows.map((r) => r.interestId)}::text[],
        ${stepArrays}
      ) AS t(subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames})
    ),
    before AS (
      SELECT s.subject, s.magic_moment_completed_at
      FROM analytics_subjects s JOIN incoming i ON i.subject = s.subject
      FOR UPDATE OF s
    ),
    upserted AS (
      INSERT INTO analytics_subjects
        (subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames})
      SELECT subject, user_id, first_seen_at, last_seen_at, app_version, platform, interest_id, ${stepNames} FROM incoming
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
        ${stepUpdates}
      RETURNING subject, magic_moment_completed_at
    )
    SELECT u.subject FROM upserted u LEFT JOIN before b ON b.subject = u.subject
    WHERE u.magic_moment_completed_at IS NOT NULL AND b.magic_moment_completed_at IS NULL`.execute(trx);
  return result.rows.map((row) => row.subject);
}

async function upsertDramaRuns(trx: Trx, events: Array<NormalizedEvent & { subject: string }>): Promise<void> {
  const runs = new Map<string, { subject: string; dramaId: string; started: Date; completed: Date | null }>();
  for (const event of events) {
    const isCompletion = event.name === 'magic_moment_completed';
    if (!isCompletion && !DRAMA_START_EVENTS.has(event.name)) continue;
    const dramaId = stringProperty(event.properties, 'dramaId', 'drama');
    if (!dramaId) continue;
    const key = `${event.subject}\u0000${dramaId}`;
    const run = runs.get(key) ?? { subject: event.subject, dramaId, started: event.timestamp, completed: null };
    if (event.timestamp < run.started) run.started = event.timestamp;
    if (isCompletion && (!run.completed || event.timestamp < run.completed)) run.completed = event.timestamp;
    runs.set(key, run);
  }
  if (runs.size === 0) return;
  const list = [...runs.values()];
  await sql`
    INSERT INTO analytics_drama_runs (subject, drama_id, started_at, completed_at)
    SELECT * FROM unnest(
      ${list.map((r) => r.subject)}::text[], ${list.map((r) => r.dramaId)}::text[],
      ${list.map((r) => r.started.toISOString())}::timestamptz[], ${list.map((r) => r.completed?.toISOString() ?? null)}::timestamptz[]
    )
    ON CONFLICT (subject, drama_id) DO UPDATE SET
      started_at = LEAST(analytics_drama_runs.started_at, excluded.started_at),
      completed_at = LEAST(analytics_drama_runs.completed_at, excluded.completed_at)`.execute(trx);
}
