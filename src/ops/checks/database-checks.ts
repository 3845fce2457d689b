/**
 * 检查数据库性能指标: connections against the server's limit, the buffer cache hit ratio,
 * sessions running long or idle inside a transaction, the slowest statements (when
 * pg_stat_statements is installed) and the largest tables — PgHero's first page, as a
 * check. Only a PostgreSQL server keeps these statistics; embedded PGlite is skipped.
 */
import { bytes, percent } from '../../format.js';
import { INSIGHT_LIMITS } from '../db-insights/insights.js';
import {
  cacheHit,
  connections,
  heavySequentialScans,
  longSessions,
  redundantIndexes,
  slowestStatements,
  tableSizes,
  unusedIndexes,
} from '../db-insights/queries.js';
import { type CheckDefinition, type CheckStatus, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

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
    const [conn, cache, sessions, tables, statements] = await Promise.all([
      connections(db),
      cacheHit(db),
      longSessions(db, { activeSeconds: INSIGHT_LIMITS.longQuerySeconds, idleSeconds: INSIGHT_LIMITS.idleInTransactionSeconds }),
      tableSizes(db, 5),
      slowestStatements(db, 5),
    ]);
    const { total: used, max } = conn;
    const usedRatio = used / max;
    const { hit, read } = cache;
    const hitRatio = hit + read >= INSIGHT_LIMITS.cacheHitMinBlocks ? hit / (hit + read) : null;
    const statuses: CheckStatus[] = [
      usedRatio >= INSIGHT_LIMITS.connectionsFail ? 'fail' : usedRatio >= INSIGHT_LIMITS.connectionsWarn ? 'warn' : 'pass',
      hitRatio !== null && hitRatio < INSIGHT_LIMITS.cacheHitWarn ? 'warn' : 'pass',
      sessions.length > 0 ? 'warn' : 'pass',
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
      ...sessions.map(
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
        tables.map((t) => `${t.name} ${bytes(t.totalBytes)}`).join(', '),
    ];
    const status = worstOf(statuses);
    return {
      status,
      summary: context.t({
        en: `connections ${percent(usedRatio)} of max, cache hit ${percent(hitRatio)}, ${sessions.length} stuck sessions`,
        zh: `连接占用 ${percent(usedRatio)}，缓存命中 ${percent(hitRatio)}，${sessions.length} 个滞留会话`,
      }),
      evidence,
      data: {
        connections: { used, max },
        cacheHitRatio: hitRatio,
        sessions: sessions,
        largestTables: tables.map((t) => ({ name: t.name, bytes: t.totalBytes })),
        slowestStatements: statements,
      },
    };
  },
};

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
      heavySequentialScans(db),
      unusedIndexes(db),
      redundantIndexes(db),
    ]);
    const slow = (statements ?? []).filter((s) => s.meanMs >= INSIGHT_LIMITS.slowStatementMs);
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
      ...seqScans.map((r) =>
        context.t({
          en: `${r.name}: ${r.seqScans} sequential scans read ${r.seqRows} rows (${r.live} live) — an index may be missing`,
          zh: `${r.name}：${r.seqScans} 次顺序扫描读取 ${r.seqRows} 行（现存 ${r.live} 行）——可能缺少索引`,
        }),
      ),
      ...unused.map((r) =>
        context.t({
          en: `unused index ${r.name} on ${r.table} (${bytes(r.bytes)})`,
          zh: `未使用的索引 ${r.name}（${r.table}，${bytes(r.bytes)}）`,
        }),
      ),
      ...duplicates.map((r) =>
        context.t({
          en: `${r.redundant} is covered by ${r.coveredBy} on ${r.table}`,
          zh: `${r.redundant} 被 ${r.coveredBy} 覆盖（${r.table}）`,
        }),
      ),
    ];
    // Without pg_stat_statements half the line cannot be done: say so until it is installed.
    const status = slow.length > 0 || duplicates.length > 0 || seqScans.length > 0 || statements === null ? 'warn' : 'pass';
    return {
      status,
      summary: context.t({
        en: `${slow.length} statements at ${INSIGHT_LIMITS.slowStatementMs} ms or more on average, ${seqScans.length} tables scanned sequentially, ${unused.length} unused and ${duplicates.length} redundant indexes`,
        zh: `${slow.length} 条语句平均 ≥ ${INSIGHT_LIMITS.slowStatementMs} 毫秒，${seqScans.length} 张表频繁顺序扫描，${unused.length} 个未使用索引，${duplicates.length} 个冗余索引`,
      }),
      evidence,
      data: {
        slowest: statements,
        sequentialScans: seqScans,
        unusedIndexes: unused,
        redundantIndexes: duplicates,
      },
    };
  },
};
