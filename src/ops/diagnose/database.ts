/**
 * 问题2 数据库连接失败: is it reachable, does it let us in, what the server's pool and the
 * database's sessions look like, who blocks whom, what the log says — then, with --fix,
 * the runbook's 重置连接池 and (asked for by name) ending sessions stuck in a transaction.
 */
import pg from 'pg';
import { redactUrl } from '../../config.js';
import { type CheckResult, runStep, type Step } from '../checks/check.js';
import { INSIGHTS, type InsightDeps } from '../db-insights/insights.js';
import { readLiveServer } from '../server-link.js';
import { type DiagnoseDeps, type ScenarioDefinition, step } from './diagnosis.js';
import { probeHealth, probeTcp, recentErrors } from './probes.js';

/** Set by an earlier step when no session can be had: the later ones skip instead of failing the same way. */
const NO_SESSION = 'db.no_session';
const LOG_WINDOW_MS = 3_600_000;
/** What database trouble looks like in our log (pg and our own messages). */
const DATABASE_ERROR =
  /database|postgres|pool|ECONNREFUSED|57P0\d|53300|too many clients|terminating connection|Connection terminated/i;

/** One database insight as a diagnosis step, on a connection this step opens (or a skip when the database is down). */
function fromInsight(id: string): Step<DiagnoseDeps> {
  const item = INSIGHTS.find((candidate) => candidate.id === id) as Step<InsightDeps>;
  return {
    id: `db.${id}`,
    title: item.title,
    action: item.action,
    run: async (deps, context) => {
      if (deps.found.has(NO_SESSION)) {
        return {
          status: 'skip',
          summary: context.t({ en: 'the database is not reachable from here', zh: '从此处无法连接数据库' }),
        };
      }
      if (!deps.config.databaseUrl) {
        return {
          status: 'skip',
          summary: context.t({
            en: 'embedded PGlite has no sessions or locks to inspect',
            zh: '内嵌 PGlite 没有可检查的会话或锁',
          }),
        };
      }
      const db = await deps.openDb();
      try {
        const result: CheckResult = await runStep(item, { db }, context, 6_000);
        return {
          status: result.status,
          summary: result.summary,
          evidence: result.evidence,
          ...(result.data ? { data: result.data } : {}),
        };
      } finally {
        await db.close();
      }
    },
  };
}

export const databaseScenario: ScenarioDefinition = {
  id: 'db',
  title: { en: 'Problem 2: database connection failure', zh: '问题2：数据库连接失败' },
  vendor: 'database',
  steps: [
    step(
      'db.reachable',
      { en: 'The database server answers', zh: '数据库服务器可达' },
      {
        en: 'Start PostgreSQL (`systemctl status postgresql`, `pg_lsclusters`), check the host and port in DATABASE_URL and the firewall; a managed database: its console and the vendor.',
        zh: '启动 PostgreSQL（`systemctl status postgresql`、`pg_lsclusters`），核对 DATABASE_URL 中的主机与端口及防火墙；托管数据库：查看其控制台并联系服务商。',
      },
      async (deps, context) => {
        const raw = deps.config.databaseUrl;
        if (!raw) {
          // Embedded: one process at a time. A live server holds it — ask the server below.
          const server = readLiveServer(deps.config.dataDir);
          if (server) {
            return {
              status: 'pass',
              summary: context.t({
                en: `embedded PGlite is open in process ${server.pid} (the server at ${server.url}): asked through it below`,
                zh: `内嵌 PGlite 正由进程 ${server.pid}（${server.url} 的服务器）打开：下面通过服务器检查`,
              }),
            };
          }
          try {
            const db = await deps.openDb();
            await db.ping();
            await db.close();
            return {
              status: 'pass',
              summary: context.t({ en: 'embedded PGlite opens and answers', zh: '内嵌 PGlite 可打开并应答' }),
              evidence: [`${deps.config.dataDir}/pglite`],
            };
          } catch (error) {
            deps.found.set(NO_SESSION, true);
            return { status: 'fail', summary: (error as Error).message, evidence: [`${deps.config.dataDir}/pglite`] };
          }
        }
        const url = new URL(raw);
        const host = url.searchParams.get('host') ?? (url.hostname.replace(/^\[|\]$/g, '') || 'localhost');
        const port = Number(url.port || 5432);
        if (host.startsWith('/')) {
          return {
            status: 'skip',
            summary: context.t({
              en: `Unix socket ${host}: checked by connecting below`,
              zh: `Unix 套接字 ${host}：见下方连接检查`,
            }),
          };
        }
        const probe = await probeTcp(host, port);
        if (!probe.ok) deps.found.set(NO_SESSION, true);
        return probe.ok
          ? {
              status: 'pass',
              summary: context.t({
                en: `${host}:${port} accepts connections (${probe.ms.toFixed(0)} ms)`,
                zh: `${host}:${port} 接受连接（${probe.ms.toFixed(0)} 毫秒）`,
              }),
            }
          : {
              status: 'fail',
              summary: context.t({ en: `${host}:${port} does not accept connections`, zh: `${host}:${port} 不接受连接` }),
              evidence: [`${probe.code}: ${probe.message}`, redactUrl(raw)],
            };
      },
    ),
    step(
      'db.login',
      { en: 'SmarTalk can log in', zh: 'SmarTalk 能够登录数据库' },
      {
        en: 'Wrong password (28P01): fix DATABASE_URL or the role; no database (3D000): create it or fix the name; too many clients (53300): reset the pool and find who holds connections.',
        zh: '密码错误（28P01）：修正 DATABASE_URL 或角色；数据库不存在（3D000）：创建或修正库名；连接过多（53300）：重置连接池并找出占用者。',
      },
      async (deps, context) => {
        const raw = deps.config.databaseUrl;
        if (!raw)
          return { status: 'skip', summary: context.t({ en: 'embedded PGlite has no login', zh: '内嵌 PGlite 无需登录' }) };
        if (deps.found.has(NO_SESSION)) {
          return { status: 'skip', summary: context.t({ en: 'the server does not answer (above)', zh: '服务器无应答（见上）' }) };
        }
        const client = new pg.Client({
          connectionString: raw,
          connectionTimeoutMillis: 3_000,
          application_name: 'smartalk-diagnose',
        });
        try {
          await client.connect();
          const { rows } = await client.query<{ version: string; user: string; db: string }>(
            "SELECT current_setting('server_version') AS version, current_user AS user, current_database() AS db",
          );
          const row = rows[0];
          return {
            status: 'pass',
            summary: context.t({
              en: `logged in as ${row?.user} to ${row?.db} (PostgreSQL ${row?.version})`,
              zh: `以 ${row?.user} 登录 ${row?.db}（PostgreSQL ${row?.version}）`,
            }),
          };
        } catch (error) {
          deps.found.set(NO_SESSION, true);
          const code = (error as { code?: string }).code;
          return {
            status: 'fail',
            summary: context.t({ en: 'the database refused the connection', zh: '数据库拒绝了连接' }),
            evidence: [`${code ? `${code}: ` : ''}${(error as Error).message}`, redactUrl(raw)],
          };
        } finally {
          await client.end().catch(() => {});
        }
      },
    ),
    step(
      'db.server_view',
      { en: 'What the running server sees', zh: '运行中的服务器所见' },
      {
        en: 'The server cannot reach a database that answers here: compare its DATABASE_URL, and reset its pool (`--fix`) — connections opened before a database restart are dead.',
        zh: '服务器连不上而此处可以：核对服务器的 DATABASE_URL，并重置其连接池（`--fix`）——数据库重启前建立的连接已失效。',
      },
      async (deps, context) => {
        const health = await probeHealth(deps.url);
        if (!health.ok) {
          return {
            status: 'skip',
            summary: context.t({
              en: `no server answers at ${deps.url} (diagnose app-down)`,
              zh: `${deps.url} 无服务器应答（请运行 diagnose app-down）`,
            }),
            evidence: [health.error],
          };
        }
        const database = health.report.checks.database as {
          status: string;
          detail?: string;
          pool?: { total: number; idle: number; waiting: number };
        };
        const evidence = [`database ${database.status}${database.detail ? `: ${database.detail}` : ''}`];
        if (database.pool) {
          evidence.push(
            context.t({
              en: `pool: ${database.pool.total} open, ${database.pool.idle} idle, ${database.pool.waiting} waiting`,
              zh: `连接池：已开 ${database.pool.total}，空闲 ${database.pool.idle}，等待 ${database.pool.waiting}`,
            }),
          );
        }
        deps.found.set('server.database', database.status);
        const waiting = (database.pool?.waiting ?? 0) > 0;
        return {
          status: database.status === 'down' ? 'fail' : database.status === 'degraded' || waiting ? 'warn' : 'pass',
          summary: context.t({
            en: `the server says the database is ${database.status}`,
            zh: `服务器报告数据库状态为 ${database.status}`,
          }),
          evidence,
          data: { database },
        };
      },
    ),
    fromInsight('connections'),
    fromInsight('blocked'),
    fromInsight('long_running'),
    step(
      'db.log',
      { en: 'Database errors in the log (last hour)', zh: '日志中的数据库错误（最近一小时）' },
      {
        en: 'Read the largest group: its first time is when the trouble began.',
        zh: '先看数量最多的一组：其首次出现时间即故障开始时间。',
      },
      async (deps, context) => {
        const groups = await recentErrors(deps.config.logFile, context.now, LOG_WINDOW_MS, (group) =>
          DATABASE_ERROR.test(group.example),
        );
        const lines = groups.reduce((sum, group) => sum + group.count, 0);
        return {
          status: lines > 0 ? 'warn' : 'pass',
          summary: context.t({
            en: `${lines} database error lines in ${groups.length} groups`,
            zh: `${lines} 条数据库错误日志，${groups.length} 组`,
          }),
          evidence: groups.slice(0, 5).map((group) => `×${group.count} ${group.example} (${group.first} … ${group.last})`),
        };
      },
    ),
    step(
      'db.fix',
      { en: 'Safe fixes (--fix)', zh: '安全修复（--fix）' },
      { en: 'Read what was done; run the diagnosis again to see its effect.', zh: '查看已执行的操作；再次运行诊断确认效果。' },
      async (deps, context) => applyDatabaseFixes(deps, context),
    ),
  ],
};

async function applyDatabaseFixes(deps: DiagnoseDeps, context: Parameters<Step<DiagnoseDeps>['run']>[1]) {
  if (!deps.fix) {
    return {
      status: 'skip' as const,
      summary: context.t({ en: 'not asked (--fix applies the safe ones)', zh: '未要求（--fix 执行安全修复）' }),
    };
  }
  const done: string[] = [];
  if (deps.config.databaseUrl && deps.call && deps.found.has('server.database')) {
    try {
      const reset = await deps.call<{ before: { total: number; idle: number; waiting: number } }>('/api/v1/ops/db/pool/reset', {
        method: 'POST',
        body: {},
      });
      const detail = `${reset.before.total} connections (${reset.before.idle} idle) replaced`;
      deps.fixes.push({
        action: context.t({ en: 'reset the server’s connection pool', zh: '重置服务器连接池' }),
        ok: true,
        detail,
      });
      done.push(detail);
    } catch (error) {
      deps.fixes.push({
        action: context.t({ en: 'reset the server’s connection pool', zh: '重置服务器连接池' }),
        ok: false,
        detail: (error as Error).message,
      });
    }
  }
  if (deps.terminateIdleSeconds !== undefined && deps.config.databaseUrl && !deps.found.has(NO_SESSION)) {
    const db = await deps.openDb();
    try {
      const pool = db.pool as pg.Pool;
      const { rows } = await pool.query<{ pid: number; terminated: boolean }>(
        `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'
           AND now() - state_change > make_interval(secs => $1)`,
        [deps.terminateIdleSeconds],
      );
      const detail = rows.length ? `pids ${rows.map((row) => row.pid).join(', ')}` : 'none were that old';
      deps.fixes.push({
        action: context.t({
          en: `ended sessions idle in a transaction for over ${deps.terminateIdleSeconds} s`,
          zh: `结束事务中空闲超过 ${deps.terminateIdleSeconds} 秒的会话`,
        }),
        ok: true,
        detail,
      });
      done.push(detail);
    } finally {
      await db.close();
    }
  }
  const failed = deps.fixes.filter((fix) => !fix.ok);
  return {
    status: failed.length > 0 ? ('warn' as const) : ('pass' as const),
    summary: deps.fixes.length
      ? deps.fixes.map((fix) => `${fix.action}: ${fix.ok ? fix.detail : `failed — ${fix.detail}`}`).join('; ')
      : context.t({ en: 'nothing safe to do from here', zh: '此处没有可安全执行的修复' }),
  };
}
