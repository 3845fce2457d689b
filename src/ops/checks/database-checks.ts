/**
 * 检查数据库性能指标: connections against the server's limit, the buffer cache hit ratio,
 * sessions running long or idle inside a transaction, the slowest statements (when
 * pg_stat_statements is installed) and the largest tables — PgHero's first page, as a
 * check. Only a PostgreSQL server keeps these statistics; embedded PGlite is skipped.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/database.js';
import { percent } from '../../format.js';
import { type CheckDefinition, type CheckStatus, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

/** Thresholds PgHero uses: long queries over a minute, a cache hit ratio under 99%. */
export const DB_LIMITS = {
  connectionsWarn: 0.8,
  connectionsFail: 0.95,
  cacheHitWarn: 0.99,
  /** Below this many block reads and hits the ratio says nothing yet. */
  cacheHitMinBlocks: 10_000,
  longQuerySeconds: 60,
  idleInTransactionSeconds: 60,
} as const;

const bytes = (n: number) =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : `${(n / 1024).toFixed(0)} KiB`;

export async function hasPgStatStatements(db: Db): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS ok`.execute(db.kysely);
  return rows[0]?.ok === true;
}

export const dbPerformance: CheckDefinition<ChecksDeps> = {
  id: 'db.performance',
  slot: 'morning',
  severity: 'warning',
  title: { en: 'Database performance', zh: '检查数据库性能指标' },
  action: {
    en: 'Near the connection limit: find who holds them (pg_stat_activity) and reset the pool; long or idle-in-transaction sessions: find their client and end them (pg_terminate_backend) if stuck; a low cache hit ratio: add memory (shared_buffers) or fix the query that reads most.',
    zh: '连接数接近上限：在 pg_stat_activity 中找出占用者并重置连接池；长时间运行或事务中空闲的会话：找到其客户端，卡住时用 pg_terminate_backend 结束；缓存命中率低：增加内存（shared_buffers）或优化读取最多的查询。',
  },
  run: async ({ db }, context) => {
    if (db.engine !== 'postgres') {
      return {
        status: 'skip',
        summary: context.t({
          en: 'embedded PGlite keeps no server statistics (connections, cache, sessions); set DATABASE_URL to a PostgreSQL server',
          zh: '内嵌 PGlite 没有服务器统计（连接、缓存、会话）；请将 DATABASE_URL 指向 PostgreSQL 服务器',
        }),
      };
    }
    const [connections, cache, sessions, tables, statements] = await Promise.all([
      sql<{ used: number; max: number }>`
        SELECT count(*)::int AS used, current_setting('max_connections')::int AS max FROM pg_stat_activity`.execute(db.kysely),
      sql<{ hit: number; read: number }>`
        SELECT coalesce(sum(blks_hit), 0)::float8 AS hit, coalesce(sum(blks_read), 0)::float8 AS read
        FROM pg_stat_database WHERE datname = current_database()`.execute(db.kysely),
      sql<{ pid: number; state: string; seconds: number; query: string }>`
        SELECT pid, state, extract(epoch FROM now() - coalesce(xact_start, query_start))::float8 AS seconds, left(query, 200) AS query
        FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND datname = current_database()
          AND ((state = 'active' AND now() - query_start > make_interval(secs => ${DB_LIMITS.longQuerySeconds}))
            OR (state LIKE 'idle in transaction%' AND now() - state_change > make_interval(secs => ${DB_LIMITS.idleInTransactionSeconds})))
        ORDER BY seconds DESC LIMIT 10`.execute(db.kysely),
      sql<{ name: string; bytes: number }>`
        SELECT c.relname AS name, pg_total_relation_size(c.oid)::float8 AS bytes
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' AND NOT c.relispartition
        ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 5`.execute(db.kysely),
      slowestStatements(db, 5),
    ]);
    const { used, max } = connections.rows[0] ?? { used: 0, max: 1 };
    const usedRatio = used / max;
    const { hit, read } = cache.rows[0] ?? { hit: 0, read: 0 };
    const hitRatio = hit + read >= DB_LIMITS.cacheHitMinBlocks ? hit / (hit + read) : null;
    const statuses: CheckStatus[] = [
      usedRatio >= DB_LIMITS.connectionsFail ? 'fail' : usedRatio >= DB_LIMITS.connectionsWarn ? 'warn' : 'pass',
      hitRatio !== null && hitRatio < DB_LIMITS.cacheHitWarn ? 'warn' : 'pass',
      sessions.rows.length > 0 ? 'warn' : 'pass',
    ];
    const evidence = [
      context.t({
        en: `connections ${used} of ${max} (${percent(usedRatio)})`,
        zh: `连接数 ${used}/${max}（${percent(usedRatio)}）`,
      }),
      context.t({
        en: `cache hit ratio ${hitRatio === null ? `— (only ${hit + read} block reads so far)` : percent(hitRatio)}`,
        zh: `缓存命中率 ${hitRatio === null ? `—（目前仅 ${hit + read} 次块读取）` : percent(hitRatio)}`,
      }),
      ...sessions.rows.map(
        (s) =>
          `${context.t({ en: 'session', zh: '会话' })} pid ${s.pid} ${s.state} ${Math.round(s.seconds)} s: ${s.query.replace(/\s+/g, ' ')}`,
      ),
      ...(statements === null
        ? [
            context.t({
              en: 'slowest statements: pg_stat_statements is not installed',
              zh: '最慢语句：未安装 pg_stat_statements',
            }),
          ]
        : statements.map((s) => `${s.meanMs.toFixed(1)} ms × ${s.calls}: ${s.query}`)),
      context.t({ en: 'largest tables:', zh: '最大的表：' }) +
        ' ' +
        tables.rows.map((t) => `${t.name} ${bytes(t.bytes)}`).join(', '),
    ];
    const status = worstOf(statuses);
    return {
      status,
      summary: context.t({
        en: `connections ${percent(usedRatio)} of max, cache hit ${percent(hitRatio)}, ${sessions.rows.length} stuck sessions`,
        zh: `连接占用 ${percent(usedRatio)}，缓存命中 ${percent(hitRatio)}，${sessions.rows.length} 个滞留会话`,
      }),
      evidence,
      data: {
        connections: { used, max },
        cacheHitRatio: hitRatio,
        sessions: sessions.rows,
        largestTables: tables.rows,
        slowestStatements: statements,
      },
    };
  },
};

export interface StatementStats {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
}

/** The statements with the highest mean time, or null when pg_stat_statements is not installed. */
export async function slowestStatements(db: Db, limit: number): Promise<StatementStats[] | null> {
  if (!(await hasPgStatStatements(db))) return null;
  // Installed but not in shared_preload_libraries, the view refuses to be read: the same as absent.
  const result = await sql<{ query: string; calls: number; mean_ms: number; total_ms: number }>`
    SELECT left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 200) AS query, calls::float8 AS calls,
      mean_exec_time::float8 AS mean_ms, total_exec_time::float8 AS total_ms
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY mean_exec_time DESC LIMIT ${limit}`
    .execute(db.kysely)
    .catch(() => null);
  if (!result) return null;
  return result.rows.map((row) => ({ query: row.query, calls: row.calls, meanMs: row.mean_ms, totalMs: row.total_ms }));
}

/** A statement this slow on average is worth a look (PgHero's "slow queries" line is 20 ms; ours serve a few dozen rows). */
const SLOW_STATEMENT_MS = 100;

export const dbQueryAnalysis: CheckDefinition<ChecksDeps> = {
  id: 'db.query_analysis',
  slot: 'wednesday',
  severity: 'info',
  title: { en: 'Database query performance', zh: '分析数据库查询性能' },
  action: {
    en: "EXPLAIN (ANALYZE, BUFFERS) the slowest statement and add the index it lacks; drop a redundant index; an index never used costs every write — drop it after a release cycle. Without statement statistics: shared_preload_libraries = 'pg_stat_statements', restart, CREATE EXTENSION pg_stat_statements.",
    zh: "对最慢的语句执行 EXPLAIN (ANALYZE, BUFFERS) 并补上缺失的索引；删除冗余索引；从未使用的索引拖慢每次写入，观察一个发布周期后删除。缺少语句统计时：设置 shared_preload_libraries = 'pg_stat_statements'，重启后执行 CREATE EXTENSION pg_stat_statements。",
  },
  run: async ({ db }, context) => {
    if (db.engine !== 'postgres') {
      return {
        status: 'skip',
        summary: context.t({
          en: 'embedded PGlite keeps no statement or index statistics; set DATABASE_URL to a PostgreSQL server',
          zh: '内嵌 PGlite 不保存语句与索引统计；请将 DATABASE_URL 指向 PostgreSQL 服务器',
        }),
      };
    }
    const [statements, seqScans, unused, duplicates] = await Promise.all([
      slowestStatements(db, 10),
      sql<{ name: string; seq_scan: number; seq_rows: number; idx_scan: number; live: number }>`
        SELECT relname AS name, seq_scan::float8 AS seq_scan, seq_tup_read::float8 AS seq_rows,
          coalesce(idx_scan, 0)::float8 AS idx_scan, n_live_tup::float8 AS live
        FROM pg_stat_user_tables
        WHERE n_live_tup >= 10000 AND seq_scan > coalesce(idx_scan, 0) AND seq_tup_read > 100 * n_live_tup
        ORDER BY seq_tup_read DESC LIMIT 5`.execute(db.kysely),
      sql<{ name: string; table: string; bytes: number }>`
        SELECT s.indexrelname AS name, s.relname AS table, pg_relation_size(s.indexrelid)::float8 AS bytes
        FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
        WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = s.relid)
        ORDER BY pg_relation_size(s.indexrelid) DESC LIMIT 10`.execute(db.kysely),
      // Two indexes on the same table whose columns one begins the other: the shorter is redundant.
      sql<{ redundant: string; covered_by: string; table: string }>`
        SELECT a.indexrelid::regclass::text AS redundant, b.indexrelid::regclass::text AS covered_by, a.indrelid::regclass::text AS table
        FROM pg_index a JOIN pg_index b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
        JOIN pg_class t ON t.oid = a.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND NOT a.indisunique AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
          AND array_length(a.indkey::int2[], 1) <= array_length(b.indkey::int2[], 1)
          -- int2vector casts to a 0-based array; slices of both sides compare as 1-based ones.
          AND (b.indkey::int2[])[0:array_length(a.indkey::int2[], 1) - 1] = (a.indkey::int2[])[0:array_length(a.indkey::int2[], 1) - 1]
          AND (array_length(a.indkey::int2[], 1) < array_length(b.indkey::int2[], 1) OR a.indexrelid > b.indexrelid)
        ORDER BY 3, 1`.execute(db.kysely),
    ]);
    const slow = (statements ?? []).filter((s) => s.meanMs >= SLOW_STATEMENT_MS);
    const evidence = [
      ...(statements === null
        ? [
            context.t({
              en: 'statements: pg_stat_statements is not installed (shared_preload_libraries)',
              zh: '语句：未安装 pg_stat_statements（shared_preload_libraries）',
            }),
          ]
        : statements
            .slice(0, 5)
            .map((s) => `${s.meanMs.toFixed(1)} ms × ${s.calls} (${(s.totalMs / 1000).toFixed(1)} s): ${s.query}`)),
      ...seqScans.rows.map((r) =>
        context.t({
          en: `${r.name}: ${r.seq_scan} sequential scans read ${r.seq_rows} rows (${r.live} live) — an index may be missing`,
          zh: `${r.name}：${r.seq_scan} 次顺序扫描读取 ${r.seq_rows} 行（现存 ${r.live} 行）——可能缺少索引`,
        }),
      ),
      ...unused.rows.map((r) =>
        context.t({
          en: `unused index ${r.name} on ${r.table} (${bytes(r.bytes)})`,
          zh: `未使用的索引 ${r.name}（${r.table}，${bytes(r.bytes)}）`,
        }),
      ),
      ...duplicates.rows.map((r) =>
        context.t({
          en: `${r.redundant} is covered by ${r.covered_by} on ${r.table}`,
          zh: `${r.redundant} 被 ${r.covered_by} 覆盖（${r.table}）`,
        }),
      ),
    ];
    // Without pg_stat_statements half the line cannot be done: say so until it is installed.
    const status =
      slow.length > 0 || duplicates.rows.length > 0 || seqScans.rows.length > 0 || statements === null ? 'warn' : 'pass';
    return {
      status,
      summary: context.t({
        en: `${slow.length} statements at ${SLOW_STATEMENT_MS} ms or more on average, ${seqScans.rows.length} tables scanned sequentially, ${unused.rows.length} unused and ${duplicates.rows.length} redundant indexes`,
        zh: `${slow.length} 条语句平均 ≥ ${SLOW_STATEMENT_MS} 毫秒，${seqScans.rows.length} 张表频繁顺序扫描，${unused.rows.length} 个未使用索引，${duplicates.rows.length} 个冗余索引`,
      }),
      evidence,
      data: {
        slowest: statements,
        sequentialScans: seqScans.rows,
        unusedIndexes: unused.rows,
        redundantIndexes: duplicates.rows,
      },
    };
  },
};
