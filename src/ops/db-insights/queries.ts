/**
 * The database's own statistics, as PgHero reads them: every query of the database
 * insights, the morning and Wednesday checks and `diagnose db` lives here. Server-wide
 * views (pg_stat_activity, pg_stat_statements, pg_stat_database) mean something only on a
 * PostgreSQL server; the catalog ones (sizes, indexes, sequences, freeze age) on PGlite too.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';

export async function hasPgStatStatements(db: Db): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS ok`.execute(db.kysely);
  return rows[0]?.ok === true;
}

export interface StatementStats {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
  rows: number;
}

/** The statements with the highest mean time, or null when pg_stat_statements is not installed (or not loaded). */
export async function slowestStatements(db: Db, limit: number): Promise<StatementStats[] | null> {
  if (!(await hasPgStatStatements(db))) return null;
  // Installed but not in shared_preload_libraries, the view refuses to be read: the same as absent.
  const result = await sql<{ query: string; calls: number; mean_ms: number; total_ms: number; rows: number }>`
    SELECT left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 200) AS query, calls::float8 AS calls,
      mean_exec_time::float8 AS mean_ms, total_exec_time::float8 AS total_ms, rows::float8 AS rows
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY mean_exec_time DESC LIMIT ${limit}`
    .execute(db.kysely)
    .catch(() => null);
  if (!result) return null;
  return result.rows.map((row) => ({
    query: row.query,
    calls: row.calls,
    meanMs: row.mean_ms,
    totalMs: row.total_ms,
    rows: row.rows,
  }));
}

export interface Connections {
  max: number;
  /** Every backend on the server (what max_connections limits). */
  total: number;
  /** This database's client sessions by state (active, idle, idle in transaction …). */
  byState: Array<{ state: string; count: number }>;
}

export async function connections(db: Db): Promise<Connections> {
  const [limit, states] = await Promise.all([
    sql<{ used: number; max: number }>`
      SELECT count(*)::int AS used, current_setting('max_connections')::int AS max FROM pg_stat_activity`.execute(db.kysely),
    sql<{ state: string; count: number }>`
      SELECT coalesce(state, 'unknown') AS state, count(*)::int AS count FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      GROUP BY 1 ORDER BY 2 DESC`.execute(db.kysely),
  ]);
  const { used, max } = limit.rows[0] ?? { used: 0, max: 1 };
  return { max, total: used, byState: states.rows };
}

export async function cacheHit(db: Db): Promise<{ hit: number; read: number }> {
  const { rows } = await sql<{ hit: number; read: number }>`
    SELECT coalesce(sum(blks_hit), 0)::float8 AS hit, coalesce(sum(blks_read), 0)::float8 AS read
    FROM pg_stat_database WHERE datname = current_database()`.execute(db.kysely);
  return rows[0] ?? { hit: 0, read: 0 };
}

export interface Session {
  pid: number;
  state: string;
  seconds: number;
  query: string;
  application: string;
  client: string | null;
}

/** Sessions running a statement longer than `activeSeconds`, or idle inside a transaction longer than `idleSeconds`. */
export async function longSessions(db: Db, limits: { activeSeconds: number; idleSeconds: number }): Promise<Session[]> {
  const { rows } = await sql<Session>`
    SELECT pid, state, extract(epoch FROM now() - coalesce(xact_start, query_start))::float8 AS seconds,
      left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 200) AS query, application_name AS application,
      client_addr::text AS client
    FROM pg_stat_activity
    WHERE pid <> pg_backend_pid() AND datname = current_database()
      AND ((state = 'active' AND now() - query_start > make_interval(secs => ${limits.activeSeconds}))
        OR (state LIKE 'idle in transaction%' AND now() - state_change > make_interval(secs => ${limits.idleSeconds})))
    ORDER BY seconds DESC LIMIT 10`.execute(db.kysely);
  return rows;
}

export interface BlockedQuery {
  pid: number;
  seconds: number;
  query: string;
  blockingPid: number;
  blockingState: string;
  blockingQuery: string;
  blockingSeconds: number;
}

/** Sessions waiting on a lock, each with a session that holds it (pg_blocking_pids). */
export async function blockedQueries(db: Db): Promise<BlockedQuery[]> {
  const { rows } = await sql<{
    pid: number;
    seconds: number;
    query: string;
    blocking_pid: number;
    blocking_state: string;
    blocking_query: string;
    blocking_seconds: number;
  }>`
    SELECT w.pid, extract(epoch FROM now() - w.query_start)::float8 AS seconds,
      left(regexp_replace(w.query, '[[:space:]]+', ' ', 'g'), 200) AS query,
      b.pid AS blocking_pid, coalesce(b.state, 'unknown') AS blocking_state,
      left(regexp_replace(b.query, '[[:space:]]+', ' ', 'g'), 200) AS blocking_query,
      extract(epoch FROM now() - coalesce(b.xact_start, b.query_start))::float8 AS blocking_seconds
    FROM pg_stat_activity w
    CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid)
    JOIN pg_stat_activity b ON b.pid = blocker.pid
    WHERE w.datname = current_database()
    ORDER BY seconds DESC LIMIT 20`.execute(db.kysely);
  return rows.map((row) => ({
    pid: row.pid,
    seconds: row.seconds,
    query: row.query,
    blockingPid: row.blocking_pid,
    blockingState: row.blocking_state,
    blockingQuery: row.blocking_query,
    blockingSeconds: row.blocking_seconds,
  }));
}

export interface TableSize {
  name: string;
  tableBytes: number;
  indexBytes: number;
  totalBytes: number;
  /** Live rows (the planner's estimate for a partitioned table: the sum of its partitions'). */
  rows: number;
}

/** The largest tables, a partitioned table counted with its partitions. */
export async function tableSizes(db: Db, limit: number): Promise<TableSize[]> {
  const { rows } = await sql<{ name: string; table_bytes: number; index_bytes: number; total_bytes: number; rows: number }>`
    WITH parts AS (
      SELECT coalesce(parent.relname, c.relname) AS name, c.oid, c.reltuples
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class parent ON parent.oid = i.inhparent
      WHERE n.nspname = 'public' AND c.relkind = 'r'
    )
    SELECT name, sum(pg_table_size(oid))::float8 AS table_bytes, sum(pg_indexes_size(oid))::float8 AS index_bytes,
      sum(pg_total_relation_size(oid))::float8 AS total_bytes, sum(greatest(reltuples, 0))::float8 AS rows
    FROM parts GROUP BY name ORDER BY total_bytes DESC LIMIT ${limit}`.execute(db.kysely);
  return rows.map((row) => ({
    name: row.name,
    tableBytes: row.table_bytes,
    indexBytes: row.index_bytes,
    totalBytes: row.total_bytes,
    rows: row.rows,
  }));
}

export interface SequentialScan {
  name: string;
  seqScans: number;
  seqRows: number;
  indexScans: number;
  live: number;
}

/** Tables read mostly by sequential scans that each read far more rows than the table holds. */
export async function heavySequentialScans(db: Db): Promise<SequentialScan[]> {
  const { rows } = await sql<{ name: string; seq_scan: number; seq_rows: number; idx_scan: number; live: number }>`
    SELECT relname AS name, seq_scan::float8 AS seq_scan, seq_tup_read::float8 AS seq_rows,
      coalesce(idx_scan, 0)::float8 AS idx_scan, n_live_tup::float8 AS live
    FROM pg_stat_user_tables
    WHERE n_live_tup >= 10000 AND seq_scan > coalesce(idx_scan, 0) AND seq_tup_read > 100 * n_live_tup
    ORDER BY seq_tup_read DESC LIMIT 5`.execute(db.kysely);
  return rows.map((row) => ({
    name: row.name,
    seqScans: row.seq_scan,
    seqRows: row.seq_rows,
    indexScans: row.idx_scan,
    live: row.live,
  }));
}

/** Indexes never scanned since the statistics were reset (unique and primary keys excepted: they enforce). */
export async function unusedIndexes(db: Db): Promise<Array<{ name: string; table: string; bytes: number }>> {
  const { rows } = await sql<{ name: string; table: string; bytes: number }>`
    SELECT s.indexrelname AS name, s.relname AS table, pg_relation_size(s.indexrelid)::float8 AS bytes
    FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
    WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = s.relid)
    ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 10`.execute(db.kysely);
  return rows;
}

/** Two indexes on the same table where the columns of one begin the other: the shorter is redundant. */
export async function redundantIndexes(db: Db): Promise<Array<{ redundant: string; coveredBy: string; table: string }>> {
  const { rows } = await sql<{ redundant: string; covered_by: string; table: string }>`
    SELECT a.indexrelid::regclass::text AS redundant, b.indexrelid::regclass::text AS covered_by, a.indrelid::regclass::text AS table
    FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
    JOIN pg_class t ON t.oid = a.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND NOT a.indisunique AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
      AND array_length(a.indkey::int2[], 1) <= array_length(b.indkey::int2[], 1)
      -- int2vector casts to a 0-based array; slices of both sides compare as 1-based ones.
      AND (b.indkey::int2[])[0:array_length(a.indkey::int2[], 1) - 1] = (a.indkey::int2[])[0:array_length(a.indkey::int2[], 1) - 1]
      AND (array_length(a.indkey::int2[], 1) < array_length(b.indkey::int2[], 1) OR a.indexrelid > b.indexrelid)
    ORDER BY 3, 1`.execute(db.kysely);
  return rows.map((row) => ({ redundant: row.redundant, coveredBy: row.covered_by, table: row.table }));
}

/** Indexes a failed CREATE INDEX CONCURRENTLY left invalid: written on every insert, never read. */
export async function invalidIndexes(db: Db): Promise<Array<{ name: string; table: string }>> {
  const { rows } = await sql<{ name: string; table: string }>`
    SELECT i.indexrelid::regclass::text AS name, i.indrelid::regclass::text AS table
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND NOT i.indisvalid ORDER BY 1`.execute(db.kysely);
  return rows;
}

/** The columns each index of a table starts with (for index suggestions). */
export async function leadingIndexColumns(db: Db): Promise<Array<{ table: string; column: string }>> {
  const { rows } = await sql<{ table: string; column: string }>`
    SELECT coalesce(parent.relname, t.relname) AS table, a.attname AS column
    FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
    LEFT JOIN pg_inherits h ON h.inhrelid = t.oid LEFT JOIN pg_class parent ON parent.oid = h.inhparent
    WHERE n.nspname = 'public' GROUP BY 1, 2`.execute(db.kysely);
  return rows;
}

export interface TableMaintenance {
  name: string;
  live: number;
  dead: number;
  modifiedSinceAnalyze: number;
  lastVacuum: string | null;
  lastAnalyze: string | null;
}

/** Dead rows (the bloat estimate vacuum has not reclaimed yet) and vacuum/analyze times, per table. */
export async function tableMaintenance(db: Db): Promise<TableMaintenance[]> {
  const { rows } = await sql<{
    name: string;
    live: number;
    dead: number;
    modified: number;
    last_vacuum: Date | null;
    last_analyze: Date | null;
  }>`
    SELECT relname AS name, n_live_tup::float8 AS live, n_dead_tup::float8 AS dead, n_mod_since_analyze::float8 AS modified,
      greatest(last_vacuum, last_autovacuum) AS last_vacuum, greatest(last_analyze, last_autoanalyze) AS last_analyze
    FROM pg_stat_user_tables ORDER BY n_dead_tup DESC`.execute(db.kysely);
  return rows.map((row) => ({
    name: row.name,
    live: row.live,
    dead: row.dead,
    modifiedSinceAnalyze: row.modified,
    lastVacuum: row.last_vacuum ? new Date(row.last_vacuum).toISOString() : null,
    lastAnalyze: row.last_analyze ? new Date(row.last_analyze).toISOString() : null,
  }));
}

/** How old the oldest unfrozen transaction id is, against the 2^31 wraparound limit and autovacuum's freeze age. */
export async function transactionIdAge(db: Db): Promise<{ age: number; freezeMaxAge: number }> {
  const { rows } = await sql<{ age: number; freeze_max_age: number }>`
    SELECT age(datfrozenxid)::float8 AS age, current_setting('autovacuum_freeze_max_age')::float8 AS freeze_max_age
    FROM pg_database WHERE datname = current_database()`.execute(db.kysely);
  const row = rows[0] ?? { age: 0, freeze_max_age: 200_000_000 };
  return { age: row.age, freezeMaxAge: row.freeze_max_age };
}

export interface SequenceUse {
  sequence: string;
  column: string | null;
  lastValue: number;
  /** The smaller of the sequence's maximum and its column type's. */
  maxValue: number;
}

/** How far each sequence has gone toward the largest value it (or the column it feeds) can hold. */
export async function sequenceUse(db: Db): Promise<SequenceUse[]> {
  const { rows } = await sql<{ sequence: string; column: string | null; last_value: number | null; max_value: number }>`
    SELECT s.schemaname || '.' || s.sequencename AS sequence,
      CASE WHEN a.attname IS NOT NULL THEN t.relname || '.' || a.attname END AS column,
      s.last_value::float8 AS last_value,
      least(s.max_value::float8, CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647
        ELSE 9223372036854775807 END::float8) AS max_value
    FROM pg_sequences s
    JOIN pg_class sc ON sc.relname = s.sequencename
    JOIN pg_namespace sn ON sn.oid = sc.relnamespace AND sn.nspname = s.schemaname
    LEFT JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    LEFT JOIN pg_class t ON t.oid = d.refobjid
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE s.schemaname = 'public'
    ORDER BY s.last_value::float8 / nullif(s.max_value::float8, 0) DESC NULLS LAST`.execute(db.kysely);
  return rows.map((row) => ({
    sequence: row.sequence,
    column: row.column,
    lastValue: row.last_value ?? 0,
    maxValue: row.max_value,
  }));
}
