/**
 * 问题1 应用无法启动/服务不可用: the configuration, the port (and who holds it), the health
 * endpoint, the last errors the process wrote, systemd's view of the unit, nginx's config
 * and its 502/503s. With --fix, a unit systemd gave up on is restarted — only when the
 * configuration is valid, so a restart has a chance.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../config.js';
import { readTail } from '../../files.js';
import { oneLine } from '../../format.js';
import { readLiveServer } from '../server-link.js';
import { type ScenarioDefinition, step } from './diagnosis.js';
import { probeHealth, probeTcp } from './probes.js';

const execFileAsync = promisify(execFile);

/** The systemd unit deploy/systemd installs, and the env file it reads. */
export const SYSTEMD_UNIT = 'smartalk-backend';
export const SYSTEMD_ENV_FILE = '/etc/smartalk/smartalk.env';

const run = async (file: string, args: string[], timeout = 5_000) => {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { timeout });
    return { ok: true, output: `${stdout}${stderr}`.trim() };
  } catch (error) {
    const failed = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failed.code === 'ENOENT') return { ok: false, missing: true, output: `${file} is not installed` };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim() || failed.message };
  }
};

/** KEY=VALUE lines of an env file (systemd's EnvironmentFile syntax, quotes stripped). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    env[match[1] as string] = (match[2] as string).trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/** The process listening on a TCP port, from /proc (Linux); undefined when it cannot be told. */
export async function listenerOf(port: number): Promise<{ pid: number; command: string } | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local || fields[3] !== '0A') continue; // 0A: LISTEN
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(fields[9] as string);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
        return { pid: Number(entry), command };
      }
    }
  }
  return undefined;
}

export const appDownScenario: ScenarioDefinition = {
  id: 'app-down',
  title: { en: 'Problem 1: the application does not start or does not answer', zh: '问题1：应用无法启动/服务不可用' },
  vendor: 'cloud',
  steps: [
    step(
      'app.config',
      { en: 'The configuration is valid', zh: '配置有效' },
      {
        en: 'Fix the variable named (deploy/systemd/smartalk.env.example documents each), then restart.',
        zh: '修正报错的变量（deploy/systemd/smartalk.env.example 逐一说明），然后重启。',
      },
      async (deps, context) => {
        const evidence = [context.t({ en: 'this environment: valid', zh: '当前环境：有效' })];
        // The unit's own environment file is what the service starts with.
        const text = await readFile(SYSTEMD_ENV_FILE, 'utf8').catch(() => undefined);
        if (text !== undefined) {
          try {
            loadConfig(parseEnvFile(text));
            evidence.push(`${SYSTEMD_ENV_FILE}: ${context.t({ en: 'valid', zh: '有效' })}`);
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            deps.found.set('config.invalid', true);
            return {
              status: 'fail',
              summary: `${SYSTEMD_ENV_FILE}: ${error.message}`,
              evidence: [
                context.t({
                  en: 'the service starts with this file and stops at this value',
                  zh: '服务以此文件启动，并会因该值退出',
                }),
              ],
            };
          }
        }
        return { status: 'pass', summary: context.t({ en: 'the configuration loads', zh: '配置可以加载' }), evidence };
      },
    ),
    step(
      'app.port',
      { en: 'Something listens on the port', zh: '端口有进程监听' },
      {
        en: 'Nothing listens: start the service (`systemctl start smartalk-backend`) and read its last log lines; another process holds the port: stop it or change PORT.',
        zh: '无进程监听：启动服务（`systemctl start smartalk-backend`）并查看最后的日志；端口被其他进程占用：停止该进程或修改 PORT。',
      },
      async (deps, context) => {
        const url = new URL(deps.url);
        const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
        const probe = await probeTcp(url.hostname.replace(/^\[|\]$/g, ''), port);
        if (!probe.ok) {
          deps.found.set('port.closed', true);
          return {
            status: 'fail',
            summary: context.t({ en: `nothing accepts connections on ${url.host}`, zh: `${url.host} 上没有进程接受连接` }),
            evidence: [`${probe.code}: ${probe.message}`],
          };
        }
        const owner = await listenerOf(port);
        const ours = readLiveServer(deps.config.dataDir);
        const evidence = [
          owner
            ? `pid ${owner.pid}: ${owner.command.slice(0, 200)}`
            : context.t({
                en: 'its process cannot be told from here (another host, or no permission)',
                zh: '无法从此处判断其进程（其他主机或无权限）',
              }),
        ];
        if (ours)
          evidence.push(
            context.t({
              en: `this DATA_DIR's server: pid ${ours.pid} at ${ours.url}`,
              zh: `本 DATA_DIR 的服务器：pid ${ours.pid}，${ours.url}`,
            }),
          );
        const foreign = owner && !/smartalk|node/.test(owner.command);
        return {
          status: foreign ? 'warn' : 'pass',
          summary: foreign
            ? context.t({ en: `port ${port} is held by another program`, zh: `端口 ${port} 被其他程序占用` })
            : context.t({ en: `port ${port} is listening`, zh: `端口 ${port} 正在监听` }),
          evidence,
          ...(owner ? { data: { pid: owner.pid, command: owner.command } } : {}),
        };
      },
    ),
    step(
      'app.health',
      { en: 'Health endpoint', zh: '健康检查接口' },
      {
        en: 'A component is down: follow it (database: `smartalk ops diagnose db`; cache: Redis; disk: free space); no answer: the process hangs — read its log, then restart it.',
        zh: '某组件故障：逐项处理（数据库：`smartalk ops diagnose db`；缓存：Redis；磁盘：释放空间）；无应答：进程卡住——查看日志后重启。',
      },
      async (deps, context) => {
        if (deps.found.has('port.closed')) {
          return {
            status: 'fail',
            summary: context.t({ en: 'no server to ask (the port is closed)', zh: '没有可询问的服务器（端口未监听）' }),
          };
        }
        const health = await probeHealth(deps.url);
        if (!health.ok)
          return {
            status: 'fail',
            summary: context.t({ en: 'GET /api/v1/health did not answer', zh: 'GET /api/v1/health 无应答' }),
            evidence: [health.error],
          };
        const components = Object.entries(health.report.checks) as Array<[string, { status: string; detail?: string }]>;
        const unwell = components.filter(([, check]) => check.status !== 'ok');
        return {
          status: health.report.status === 'down' ? 'fail' : health.report.status === 'degraded' ? 'warn' : 'pass',
          summary: context.t({
            en: `${health.status} ${health.report.status} in ${health.ms.toFixed(0)} ms (version ${health.report.version}, up ${Math.round(health.report.uptimeSeconds)} s)`,
            zh: `${health.status} ${health.report.status}，耗时 ${health.ms.toFixed(0)} 毫秒（版本 ${health.report.version}，已运行 ${Math.round(health.report.uptimeSeconds)} 秒）`,
          }),
          evidence: unwell.map(([name, check]) => `${name} ${check.status}${check.detail ? `: ${check.detail}` : ''}`),
        };
      },
    ),
    step(
      'app.log',
      { en: 'The last errors in the log', zh: '日志中最近的错误' },
      {
        en: 'The last fatal line is usually why the process stopped: fix that first.',
        zh: '最后一条 fatal 日志通常就是进程退出的原因：先处理它。',
      },
      async (deps, context) => {
        const { logFile } = deps.config;
        const text = await readTail(logFile, 4 * 1024 * 1024).catch(() => undefined);
        if (text === undefined)
          return { status: 'skip', summary: context.t({ en: `no log file at ${logFile}`, zh: `日志文件不存在：${logFile}` }) };
        const errors: Array<{ level: string; time: string; text: string }> = [];
        for (const line of text.split('\n')) {
          if (!line.includes('"level":"error"') && !line.includes('"level":"fatal"')) continue;
          try {
            const entry = JSON.parse(line) as { level: string; time: string; msg?: string; err?: { message?: string } };
            errors.push({
              level: entry.level,
              time: entry.time,
              text: [entry.msg, entry.err?.message].filter(Boolean).join(': ').slice(0, 300),
            });
          } catch {
            // a torn last line
          }
        }
        const last = errors.slice(-5);
        const fatal = last.some((entry) => entry.level === 'fatal');
        return {
          status: fatal ? 'fail' : last.length > 0 ? 'warn' : 'pass',
          summary: context.t({
            en: `${errors.length} error lines in the log's last 4 MiB`,
            zh: `日志最后 4 MiB 中有 ${errors.length} 条错误`,
          }),
          evidence: last.map((entry) => `${entry.time} [${entry.level}] ${entry.text}`),
        };
      },
    ),
    step(
      'app.systemd',
      { en: 'The systemd unit', zh: 'systemd 服务单元' },
      {
        en: '`journalctl -u smartalk-backend -n 100` shows why it stopped; `systemctl restart smartalk-backend` (or `--fix`) once the cause is fixed.',
        zh: '`journalctl -u smartalk-backend -n 100` 查看停止原因；排除后 `systemctl restart smartalk-backend`（或 `--fix`）。',
      },
      async (deps, context) => {
        const show = await run('systemctl', [
          'show',
          SYSTEMD_UNIT,
          '--property=LoadState,ActiveState,SubState,Result,NRestarts,ExecMainStatus',
        ]);
        if (!show.ok)
          return {
            status: 'skip',
            summary: context.t({ en: 'systemd is not running here', zh: '此处未运行 systemd' }),
            evidence: [oneLine(show.output).slice(0, 200)],
          };
        const props = parseEnvFile(show.output);
        if (props.LoadState === 'not-found')
          return {
            status: 'skip',
            summary: context.t({ en: `no ${SYSTEMD_UNIT} unit installed here`, zh: `此处未安装 ${SYSTEMD_UNIT} 单元` }),
          };
        const active = props.ActiveState === 'active';
        // Why it stopped, in its own words: a bad setting is one `configuration error` line.
        const journal = active ? undefined : await run('journalctl', ['-u', SYSTEMD_UNIT, '-n', '8', '--no-pager', '-o', 'cat']);
        if (!active && deps.fix && !deps.found.has('config.invalid')) {
          const restart = await run('systemctl', ['restart', SYSTEMD_UNIT], 30_000);
          deps.fixes.push({ action: `systemctl restart ${SYSTEMD_UNIT}`, ok: restart.ok, detail: restart.output || 'restarted' });
        }
        return {
          status: active ? 'pass' : 'fail',
          summary: `${SYSTEMD_UNIT}: ${props.ActiveState}/${props.SubState} (result ${props.Result}, ${props.NRestarts ?? 0} restarts, last exit ${props.ExecMainStatus})`,
          evidence: journal?.ok ? journal.output.split('\n').filter(Boolean).slice(-8) : [],
        };
      },
    ),
    step(
      'app.nginx',
      { en: 'nginx in front', zh: '前端 nginx' },
      {
        en: '`nginx -t` names the broken line; many 502/504: nginx cannot reach the app (port, upstream address); 503: the app refuses (database down, draining).',
        zh: '`nginx -t` 会指出出错的行；大量 502/504：nginx 连不上应用（端口、upstream 地址）；503：应用拒绝服务（数据库故障、正在下线）。',
      },
      async (deps, context) => {
        const test = await run('nginx', ['-t']);
        if ('missing' in test)
          return { status: 'skip', summary: context.t({ en: 'nginx is not installed here', zh: '此处未安装 nginx' }) };
        const evidence = [`nginx -t: ${test.output.split('\n').slice(-2).join(' ')}`];
        let upstreamErrors = 0;
        let requests = 0;
        const log = deps.config.cdnAccessLog;
        if (log) {
          const since = context.now.getTime() - 3_600_000;
          for (const line of (await readTail(log, 16 * 1024 * 1024).catch(() => '')).split('\n')) {
            const match = /\[([^\]]+)\] "[^"]*" (\d{3}) /.exec(line);
            if (!match || Date.parse(match[1] as string) < since) continue;
            requests++;
            if (/^50[234]$/.test(match[2] as string)) upstreamErrors++;
          }
          evidence.push(
            context.t({
              en: `${log}: ${upstreamErrors} of ${requests} requests answered 502/503/504 in the last hour`,
              zh: `${log}：最近一小时 ${requests} 个请求中 ${upstreamErrors} 个返回 502/503/504`,
            }),
          );
        }
        const share = requests > 0 ? upstreamErrors / requests : 0;
        return {
          status: !test.ok ? 'fail' : share > 0.05 ? 'fail' : upstreamErrors > 0 ? 'warn' : 'pass',
          summary: test.ok
            ? context.t({ en: 'the configuration is valid', zh: '配置有效' })
            : context.t({ en: 'nginx -t fails', zh: 'nginx -t 未通过' }),
          evidence,
        };
      },
    ),
  ],
};
