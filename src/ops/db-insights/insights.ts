/**
 * `smartalk db insights` and GET /api/v1/ops/db: PgHero's checks for our database, each
 * a step with a status, evidence and what to do. Server-wide statistics exist only on a
 * PostgreSQL server; on embedded PGlite those steps skip and say why, and the catalog
 * ones (indexes, sizes, sequences, transaction-id age) still run.
 */
import type pg from 'pg';
import type { Lang } from '../../config.js';
import type { Db } from '../../db/database.js';
import { bytes, percent } from '../../format.js';
import type { Bilingual } from '../../i18n.js';
import { say } from '../../i18n.js';
import { type CheckContext, type CheckOutcome, type CheckResult, runStep, type Step, worstOf } from '../checks/check.js';
import * as q from './queries.js';

export interface InsightDeps {
  db: Db;
  /** The serving process's pool (its figures mean something only there). */
  pool?: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount' | 'options'> | undefined;
}

/** PgHero's lines: connections near the limit, a query over a minute, cache under 99%, a statement over 20 ms on average… */
export const INSIGHT_LIMITS = {
  connectionsWarn: 0.8,
  connectionsFail: 0.95,
  longQuerySeconds: 60,
  idleInTransactionSeconds: 60,
  cacheHitWarn: 0.99,
  /** Below this many block reads and hits the ratio says nothing yet. */
  cacheHitMinBlocks: 10_000,
  slowStatementMs: 20,
  deadRowShareWarn: 0.2,
  deadRowsMin: 10_000,
  /** Share of the 2^31 transaction-id space used: autovacuum must freeze long before. */
  wraparoundWarn: 0.5,
  wraparoundFail: 0.75,
  sequenceWarn: 0.75,
  sequenceFail: 0.9,
} as const;

const XID_LIMIT = 2 ** 31;

const serverOnly = (context: CheckContext): CheckOutcome => ({
  status: 'skip',
  summary: context.t({
    en: 'embedded PGlite is one in-process session: no server sessions or statistics to read',
    zh: '内嵌 PGlite 是进程内的单一会话：没有服务器会话或统计可读',
  }),
});

type Insight = Step<InsightDeps> & { postgresOnly?: boolean };

const insight = (
  id: string,
  title: Bilingual,
  action: Bilingual,
  run: Step<InsightDeps>['run'],
  postgresOnly = false,
): Insight => ({ id, title, action, run, postgresOnly });

export const INSIGHTS: Insight[] = [
  insight(
    'connections',
    { en: 'Connections', zh: '连接数' },
    {
      en: 'Find who holds them (pg_stat_activity by application and client) and reset the pool (`smartalk ops diagnose db --fix`); raise max_connections only with memory to match.',
      zh: '找出占用者（按应用与客户端查看 pg_stat_activity）并重置连接池（`smartalk ops diagnose db --fix`）；仅在内存充足时调高 max_connections。',
    },
    async ({ db, pool }, context) => {
      const c = await q.connections(db);
      const used = c.total / c.max;
      const evidence = [
        context.t({
          en: `${c.total} of max_connections ${c.max} (${percent(used)})`,
          zh: `${c.total}/${c.max}（${percent(used)}）`,
        }),
        context.t({ en: 'this database, by state: ', zh: '本库按状态：' }) +
          (c.byState.map((s) => `${s.state} ${s.count}`).join(', ') || '—'),
      ];
      if (pool) {
        evidence.push(
          context.t({
            en: `the server's pool: ${pool.totalCount} open of ${pool.options.max}, ${pool.idleCount} idle, ${pool.waitingCount} waiting`,
            zh: `服务器连接池：已开 ${pool.totalCount}/${pool.options.max}，空闲 ${pool.idleCount}，等待 ${pool.waitingCount}`,
          }),
        );
      }
      const status =
        used >= INSIGHT_LIMITS.connectionsFail
          ? 'fail'
          : used >= INSIGHT_LIMITS.connectionsWarn || (pool?.waitingCount ?? 0) > 0
            ? 'warn'
            : 'pass';
      return {
        status,
        summary: context.t({ en: `${percent(used)} of max_connections in use`, zh: `已用 max_connections 的 ${percent(used)}` }),
        evidence,
        data: {
          ...c,
          pool: pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max } : null,
        },
      };
    },
    true,
  ),
  insight(
    'long_running',
    { en: 'Long-running and idle-in-transaction sessions', zh: '长时间运行与事务中空闲的会话' },
    {
      en: 'Find the client of each (application, address); a session idle in a transaction holds locks and blocks vacuum: end it with pg_terminate_backend(pid) (`smartalk ops diagnose db --fix --terminate-idle-in-transaction`).',
      zh: '找到每个会话的客户端（应用、地址）；事务中空闲的会话持有锁并阻碍 vacuum：用 pg_terminate_backend(pid) 结束（`smartalk ops diagnose db --fix --terminate-idle-in-transaction`）。',
    },
    async ({ db }, context) => {
      const sessions = await q.longSessions(db, {
        activeSeconds: INSIGHT_LIMITS.longQuerySeconds,
        idleSeconds: INSIGHT_LIMITS.idleInTransactionSeconds,
      });
      return {
        status: sessions.length > 0 ? 'warn' : 'pass',
        summary: context.t({
          en: `${sessions.length} sessions over ${INSIGHT_LIMITS.longQuerySeconds} s`,
          zh: `${sessions.length} 个会话超过 ${INSIGHT_LIMITS.longQuerySeconds} 秒`,
        }),
        evidence: sessions.map(
          (s) =>
            `pid ${s.pid} ${s.state} ${Math.round(s.seconds)} s (${s.application || '?'}${s.client ? ` ${s.client}` : ''}): ${s.query}`,
        ),
        data: { sessions },
      };
    },
    true,
  ),
  insight(
    'blocked',
    { en: 'Blocked queries', zh: '被阻塞的查询' },
    {
      en: 'The blocking session is the cause: finish or end it (pg_terminate_backend on the blocking pid); a blocker idle in a transaction is an application that forgot to commit.',
      zh: '阻塞方是根源：让其完成或结束它（对阻塞方 pid 执行 pg_terminate_backend）；事务中空闲的阻塞方通常是应用忘记提交。',
    },
    async ({ db }, context) => {
      const blocked = await q.blockedQueries(db);
      return {
        status: blocked.length > 0 ? 'warn' : 'pass',
        summary: context.t({ en: `${blocked.length} queries waiting on a lock`, zh: `${blocked.length} 个查询在等待锁` }),
        evidence: blocked.map((b) =>
          context.t({
            en: `pid ${b.pid} waits ${b.seconds.toFixed(0)} s: ${b.query} — blocked by pid ${b.blockingPid} (${b.blockingState}, ${b.blockingSeconds.toFixed(0)} s): ${b.blockingQuery}`,
            zh: `pid ${b.pid} 已等待 ${b.seconds.toFixed(0)} 秒：${b.query} —— 被 pid ${b.blockingPid} 阻塞（${b.blockingState}，${b.blockingSeconds.toFixed(0)} 秒）：${b.blockingQuery}`,
          }),
        ),
        data: { blocked },
      };
    },
    true,
  ),
  insight(
    'cache_hit',
    { en: 'Cache hit ratio', zh: '缓存命中率' },
    {
      en: 'Under 99%: the working set does not fit in memory; raise shared_buffers (and the machine’s memory) or fix the statement that reads most.',
      zh: '低于 99%：工作集放不进内存；调大 shared_buffers（及内存），或优化读取最多的语句。',
    },
    async ({ db }, context) => {
      const { hit, read } = await q.cacheHit(db);
      const ratio = hit + read >= INSIGHT_LIMITS.cacheHitMinBlocks ? hit / (hit + read) : null;
      return {
        status: ratio !== null && ratio < INSIGHT_LIMITS.cacheHitWarn ? 'warn' : 'pass',
        summary:
          ratio === null
            ? context.t({ en: `too few reads to judge (${hit + read} blocks)`, zh: `读取太少，无法判断（${hit + read} 个块）` })
            : context.t({ en: `${percent(ratio, 2)} of block reads from memory`, zh: `${percent(ratio, 2)} 的块读取命中内存` }),
        data: { hit, read, ratio },
      };
    },
    true,
  ),
  insight(
    'slow_statements',
    { en: 'Slow statements', zh: '慢语句' },
    {
      en: "EXPLAIN (ANALYZE, BUFFERS) the slowest and add the index it lacks (see index suggestions). Without statistics: shared_preload_libraries = 'pg_stat_statements', restart, CREATE EXTENSION pg_stat_statements.",
      zh: "对最慢的语句执行 EXPLAIN (ANALYZE, BUFFERS)，补上缺失的索引（见索引建议）。没有统计时：设置 shared_preload_libraries = 'pg_stat_statements'，重启后 CREATE EXTENSION pg_stat_statements。",
    },
    async ({ db }, context) => {
      const statements = await q.slowestStatements(db, 10);
      if (statements === null) {
        return {
          status: 'warn',
          summary: context.t({
            en: 'pg_stat_statements is not installed: statement statistics are missing',
            zh: '未安装 pg_stat_statements：缺少语句统计',
          }),
        };
      }
      const slow = statements.filter((s) => s.meanMs >= INSIGHT_LIMITS.slowStatementMs);
      return {
        status: slow.length > 0 ? 'warn' : 'pass',
        summary: context.t({
          en: `${slow.length} statements at ${INSIGHT_LIMITS.slowStatementMs} ms or more on average`,
          zh: `${slow.length} 条语句平均 ≥ ${INSIGHT_LIMITS.slowStatementMs} 毫秒`,
        }),
        evidence: statements.map(
          (s) => `${s.meanMs.toFixed(1)} ms × ${s.calls} (${(s.totalMs / 1000).toFixed(1)} s): ${s.query}`,
        ),
        data: { statements },
      };
    },
    true,
  ),
  insight(
    'index_suggestions',
    { en: 'Index suggestions', zh: '索引建议' },
    {
      en: 'Check each with EXPLAIN on the real statement, then CREATE INDEX CONCURRENTLY (it does not block writes) in a new numbered migration.',
      zh: '先对真实语句执行 EXPLAIN 确认，再在新的编号迁移中 CREATE INDEX CONCURRENTLY（不阻塞写入）。',
    },
    async ({ db }, context) => {
      const [statements, scans, indexed] = await Promise.all([
        q.slowestStatements(db, 20),
        q.heavySequentialScans(db),
        q.leadingIndexColumns(db),
      ]);
      const suggestions = suggestIndexes(
        (statements ?? []).filter((s) => s.meanMs >= INSIGHT_LIMITS.slowStatementMs),
        scans,
        indexed,
      );
      return {
        status: suggestions.length > 0 ? 'warn' : 'pass',
        summary: context.t({ en: `${suggestions.length} suggestions`, zh: `${suggestions.length} 条建议` }),
        evidence: suggestions.map((s) => `${s.sql} — ${s.reason}`),
        data: { suggestions },
      };
    },
    true,
  ),
  insight(
    'indexes',
    { en: 'Unused, redundant and invalid indexes', zh: '未使用、冗余与无效的索引' },
    {
      en: 'Drop a redundant or invalid index (DROP INDEX CONCURRENTLY, in a migration); an index never used costs every write — drop it after a release cycle.',
      zh: '删除冗余或无效的索引（在迁移中 DROP INDEX CONCURRENTLY）；从未使用的索引拖慢每次写入，观察一个发布周期后删除。',
    },
    async ({ db }, context) => {
      const [unused, redundant, invalid] = await Promise.all([q.unusedIndexes(db), q.redundantIndexes(db), q.invalidIndexes(db)]);
      return {
        status: redundant.length > 0 || invalid.length > 0 ? 'warn' : 'pass',
        summary:
          db.engine === 'postgres'
            ? context.t({
                en: `${unused.length} unused, ${redundant.length} redundant, ${invalid.length} invalid`,
                zh: `${unused.length} 个未使用，${redundant.length} 个冗余，${invalid.length} 个无效`,
              })
            : context.t({
                en: `${redundant.length} redundant, ${invalid.length} invalid`,
                zh: `${redundant.length} 个冗余，${invalid.length} 个无效`,
              }),
        evidence: [
          ...invalid.map((i) => context.t({ en: `invalid: ${i.name} on ${i.table}`, zh: `无效：${i.name}（${i.table}）` })),
          ...redundant.map((r) =>
            context.t({
              en: `${r.redundant} is covered by ${r.coveredBy} on ${r.table}`,
              zh: `${r.redundant} 被 ${r.coveredBy} 覆盖（${r.table}）`,
            }),
          ),
          ...unused.map((u) =>
            context.t({
              en: `unused: ${u.name} on ${u.table} (${bytes(u.bytes)})`,
              zh: `未使用：${u.name}（${u.table}，${bytes(u.bytes)}）`,
            }),
          ),
        ],
        data: { unused, redundant, invalid },
      };
    },
  ),
  insight(
    'table_sizes',
    { en: 'Table and index sizes', zh: '表与索引大小' },
    {
      en: 'Plan disk for the largest; old event partitions can be detached and archived.',
      zh: '为最大的表规划磁盘；旧的事件分区可分离归档。',
    },
    async ({ db }, context) => {
      const sizes = await q.tableSizes(db, 10);
      const total = sizes.reduce((sum, t) => sum + t.totalBytes, 0);
      return {
        status: 'pass',
        summary: context.t({ en: `largest 10 tables: ${bytes(total)}`, zh: `最大的 10 张表共 ${bytes(total)}` }),
        evidence: sizes.map(
          (t) =>
            `${t.name}: ${bytes(t.totalBytes)} (${context.t({ en: 'table', zh: '表' })} ${bytes(t.tableBytes)}, ${context.t({ en: 'indexes', zh: '索引' })} ${bytes(t.indexBytes)}, ~${Math.round(t.rows)} ${context.t({ en: 'rows', zh: '行' })})`,
        ),
        data: { tables: sizes },
      };
    },
  ),
  insight(
    'dead_rows',
    { en: 'Dead rows (bloat estimate) and vacuum/analyze age', zh: '死行（膨胀估计）与 vacuum/analyze 时间' },
    {
      en: 'VACUUM (ANALYZE) the table now; if it keeps growing, lower its autovacuum_vacuum_scale_factor, and look for a long transaction holding vacuum back.',
      zh: '立即对该表执行 VACUUM (ANALYZE)；若持续增长，调低其 autovacuum_vacuum_scale_factor，并排查阻碍 vacuum 的长事务。',
    },
    async ({ db }, context) => {
      const tables = await q.tableMaintenance(db);
      const bloated = tables.filter(
        (t) => t.dead >= INSIGHT_LIMITS.deadRowsMin && t.dead / Math.max(1, t.live + t.dead) >= INSIGHT_LIMITS.deadRowShareWarn,
      );
      const unanalyzed = tables.filter((t) => t.modifiedSinceAnalyze >= Math.max(INSIGHT_LIMITS.deadRowsMin, t.live * 0.2));
      return {
        status: bloated.length > 0 || unanalyzed.length > 0 ? 'warn' : 'pass',
        summary: context.t({
          en: `${bloated.length} tables with over ${percent(INSIGHT_LIMITS.deadRowShareWarn, 0)} dead rows, ${unanalyzed.length} with stale statistics`,
          zh: `${bloated.length} 张表死行超过 ${percent(INSIGHT_LIMITS.deadRowShareWarn, 0)}，${unanalyzed.length} 张表统计信息过期`,
        }),
        evidence: [
          ...bloated.map(
            (t) =>
              `${t.name}: ${t.dead} ${context.t({ en: 'dead of', zh: '死行 /' })} ${t.live + t.dead} (${percent(t.dead / (t.live + t.dead))}), ${context.t({ en: 'last vacuum', zh: '最近 vacuum' })} ${t.lastVacuum ?? '—'}`,
          ),
          ...unanalyzed.map(
            (t) =>
              `${t.name}: ${t.modifiedSinceAnalyze} ${context.t({ en: 'rows changed since analyze', zh: '行在 analyze 后变更' })} (${t.lastAnalyze ?? '—'})`,
          ),
        ],
        data: { bloated, unanalyzed },
      };
    },
  ),
  insight(
    'wraparound',
    { en: 'Transaction-id wraparound', zh: '事务 ID 回卷' },
    {
      en: 'Find what holds vacuum back (a long transaction, an abandoned replication slot, a prepared transaction) and run VACUUM (FREEZE) on the oldest tables before PostgreSQL stops accepting writes.',
      zh: '找出阻碍 vacuum 的原因（长事务、废弃的复制槽、预备事务），在 PostgreSQL 拒绝写入之前对最老的表执行 VACUUM (FREEZE)。',
    },
    async ({ db }, context) => {
      const { age, freezeMaxAge } = await q.transactionIdAge(db);
      const used = age / XID_LIMIT;
      return {
        status: used >= INSIGHT_LIMITS.wraparoundFail ? 'fail' : used >= INSIGHT_LIMITS.wraparoundWarn ? 'warn' : 'pass',
        summary: context.t({
          en: `oldest unfrozen transaction id is ${age} old: ${percent(used, 2)} of the limit`,
          zh: `最老的未冻结事务 ID 年龄 ${age}：已用上限的 ${percent(used, 2)}`,
        }),
        evidence: [`autovacuum_freeze_max_age ${freezeMaxAge}`],
        data: { age, freezeMaxAge, used },
      };
    },
  ),
  insight(
    'sequences',
    { en: 'Sequence danger', zh: '序列耗尽风险' },
    {
      en: 'Widen the column to bigint (ALTER TABLE … ALTER COLUMN … TYPE bigint, then ALTER SEQUENCE … AS bigint) before the sequence runs out and inserts fail.',
      zh: '在序列耗尽、插入失败之前，把列改为 bigint（ALTER TABLE … ALTER COLUMN … TYPE bigint，再 ALTER SEQUENCE … AS bigint）。',
    },
    async ({ db }, context) => {
      const sequences = await q.sequenceUse(db);
      const worst = sequences[0];
      const used = (s: q.SequenceUse) => s.lastValue / s.maxValue;
      const danger = sequences.filter((s) => used(s) >= INSIGHT_LIMITS.sequenceWarn);
      return {
        status: danger.some((s) => used(s) >= INSIGHT_LIMITS.sequenceFail) ? 'fail' : danger.length > 0 ? 'warn' : 'pass',
        summary: worst
          ? context.t({
              en: `${sequences.length} sequences; the fullest is ${worst.sequence} at ${percent(used(worst), 4)}`,
              zh: `${sequences.length} 个序列；使用最多的是 ${worst.sequence}，${percent(used(worst), 4)}`,
            })
          : context.t({ en: 'no sequences', zh: '没有序列' }),
        evidence: danger.map((s) => `${s.sequence}${s.column ? ` (${s.column})` : ''}: ${s.lastValue} of ${s.maxValue}`),
        data: { sequences: sequences.slice(0, 10) },
      };
    },
  ),
];

export interface IndexSuggestion {
  table: string;
  column: string;
  sql: string;
  reason: string;
}

/**
 * Suggest an index where a slow statement filters a table on a column no index starts
 * with — a heuristic read of the normalized statement text (`WHERE col = $1`), to be
 * confirmed with EXPLAIN — and name tables read by heavy sequential scans.
 */
export function suggestIndexes(
  statements: q.StatementStats[],
  scans: q.SequentialScan[],
  indexed: Array<{ table: string; column: string }>,
): IndexSuggestion[] {
  const has = new Set(indexed.map((i) => `${i.table}.${i.column}`));
  const suggestions = new Map<string, IndexSuggestion>();
  for (const statement of statements) {
    const table = /\bFROM\s+"?(?:public"?\."?)?([a-z_][a-z0-9_]*)"?/i.exec(statement.query)?.[1];
    const where = /\bWHERE\s+(.*)$/i.exec(statement.query)?.[1];
    if (!table || !where) continue;
    const column = /"?([a-z_][a-z0-9_]*)"?\s*(?:=|<|>|<=|>=|\bIN\b|\bBETWEEN\b|=\s*ANY)/i.exec(where)?.[1];
    if (!column || has.has(`${table}.${column}`)) continue;
    const key = `${table}.${column}`;
    if (!suggestions.has(key)) {
      suggestions.set(key, {
        table,
        column,
        sql: `CREATE INDEX CONCURRENTLY ON ${table} (${column});`,
        reason: `${statement.meanMs.toFixed(1)} ms × ${statement.calls}: ${statement.query.slice(0, 120)}`,
      });
    }
  }
  for (const scan of scans) {
    if ([...suggestions.values()].some((s) => s.table === scan.name)) continue;
    suggestions.set(`${scan.name}.*`, {
      table: scan.name,
      column: '?',
      sql: `-- ${scan.name}: find the filtering column in pg_stat_statements`,
      reason: `${scan.seqScans} sequential scans read ${scan.seqRows} rows of a ${scan.live}-row table`,
    });
  }
  return [...suggestions.values()];
}

export interface DbInsights {
  engine: Db['engine'];
  checkedAt: string;
  worst: CheckResult['status'];
  insights: CheckResult[];
}

export async function collectDbInsights(deps: InsightDeps, options: { lang: Lang; now?: Date }): Promise<DbInsights> {
  const now = options.now ?? new Date();
  const context: CheckContext = { lang: options.lang, now, scheduled: false, t: (message) => say(options.lang, message) };
  const insights: CheckResult[] = [];
  for (const item of INSIGHTS) {
    const step: Step<InsightDeps> =
      item.postgresOnly && deps.db.engine !== 'postgres' ? { ...item, run: async (_deps, c) => serverOnly(c) } : item;
    insights.push(await runStep(step, deps, context, 30_000));
  }
  return { engine: deps.db.engine, checkedAt: now.toISOString(), worst: worstOf(insights.map((i) => i.status)), insights };
}
