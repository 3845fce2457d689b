/**
 * Monday's maintenance (周一：系统维护): 检查系统更新和安全补丁 — the Node.js line's
 * end of life, vulnerabilities in the installed packages, pending Debian security
 * updates — and 清理过期日志和临时文件 — what retention would free, as a dry run.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { applyEventRetention } from '../../db/partitions.js';
import { type CheckDefinition, type CheckStatus, worstOf } from './check.js';
import type { ChecksDeps } from './deps.js';

const run = promisify(execFile);

/** The install directory (dist/ops/checks or src/ops/checks, three levels down). */
const INSTALL_DIR = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * End of life of each Node.js release line (nodejs.org/en/about/previous-releases);
 * odd lines are never LTS. Shipped, not fetched: the check works offline.
 */
export const NODE_END_OF_LIFE: Record<number, string> = {
  18: '2025-04-30',
  20: '2026-04-30',
  22: '2027-04-30',
  24: '2028-04-30',
  26: '2029-04-30',
};

/** How long before its end a line counts as ending soon. */
const EOL_WARN_DAYS = 90;

export function nodeSupport(
  version: string,
  now: Date,
): { status: CheckStatus; line: number; endOfLife: string | null; daysLeft: number | null } {
  const line = Number(/^v?(\d+)\./.exec(version)?.[1]);
  const endOfLife = NODE_END_OF_LIFE[line] ?? null;
  if (!endOfLife) return { status: 'warn', line, endOfLife, daysLeft: null };
  const daysLeft = Math.floor((Date.parse(`${endOfLife}T00:00:00Z`) - now.getTime()) / 86_400_000);
  return { status: daysLeft < 0 ? 'fail' : daysLeft <= EOL_WARN_DAYS ? 'warn' : 'pass', line, endOfLife, daysLeft };
}

interface AuditCounts {
  info: number;
  low: number;
  moderate: number;
  high: number;
  critical: number;
}

/** `npm audit` of the production tree; undefined when the registry cannot be reached. */
async function npmAudit(): Promise<AuditCounts | { error: string }> {
  try {
    const { stdout } = await run('npm', ['audit', '--json', '--omit=dev'], {
      cwd: INSTALL_DIR,
      timeout: 25_000,
      maxBuffer: 32 * 1024 * 1024,
    }).catch(
      // npm audit exits 1 when it finds something: its report is still on stdout.
      (error: { stdout?: string; message: string }) => {
        if (error.stdout) return { stdout: error.stdout };
        throw error;
      },
    );
    const report = JSON.parse(stdout) as { metadata?: { vulnerabilities?: AuditCounts }; error?: { summary?: string } };
    if (!report.metadata?.vulnerabilities) return { error: report.error?.summary ?? 'no audit report' };
    return report.metadata.vulnerabilities;
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] ?? 'npm audit failed' };
  }
}

/** Debian security updates pending (apt-get's simulation; read-only, no root needed). */
async function debianSecurityUpdates(): Promise<string[] | undefined> {
  if (!existsSync('/usr/bin/apt-get')) return undefined;
  try {
    const { stdout } = await run('apt-get', ['-s', '-o', 'Debug::NoLocking=1', 'upgrade'], {
      timeout: 30_000,
      maxBuffer: 8 * 1024 * 1024,
    });
    return stdout
      .split('\n')
      .filter((line) => line.startsWith('Inst ') && /security/i.test(line))
      .map((line) => line.split(' ')[1] as string);
  } catch {
    return undefined;
  }
}

export const systemUpdates: CheckDefinition<ChecksDeps> = {
  id: 'system.updates',
  slot: 'monday',
  severity: 'warning',
  title: { en: 'System updates and security patches', zh: '检查系统更新和安全补丁' },
  action: {
    en: 'Plan the upgrades this week: `npm audit fix` (test, then deploy), `apt-get upgrade` in a maintenance window, and move to a supported Node.js LTS line before its predecessor ends.',
    zh: '本周安排升级：`npm audit fix`（测试后部署），在维护窗口执行 `apt-get upgrade`，并在旧版本停止支持前升级到受支持的 Node.js LTS。',
  },
  run: async (_deps, context) => {
    const node = nodeSupport(process.version, context.now);
    const [audit, security] = await Promise.all([npmAudit(), debianSecurityUpdates()]);
    const statuses: CheckStatus[] = [node.status];
    const evidence = [
      node.endOfLife === null
        ? context.t({
            en: `Node.js ${process.version}: not an LTS line we know`,
            zh: `Node.js ${process.version}：非已知的 LTS 版本`,
          })
        : context.t({
            en: `Node.js ${process.version}: line ${node.line} ${node.daysLeft !== null && node.daysLeft < 0 ? `ended ${node.endOfLife}` : `supported until ${node.endOfLife} (${node.daysLeft} days)`}`,
            zh: `Node.js ${process.version}：${node.line} 版本${node.daysLeft !== null && node.daysLeft < 0 ? `已于 ${node.endOfLife} 停止支持` : `支持至 ${node.endOfLife}（剩 ${node.daysLeft} 天）`}`,
          }),
    ];
    if ('error' in audit) {
      evidence.push(context.t({ en: `npm audit: could not run (${audit.error})`, zh: `npm audit：无法运行（${audit.error}）` }));
    } else {
      statuses.push(audit.critical + audit.high > 0 ? 'fail' : audit.moderate > 0 ? 'warn' : 'pass');
      evidence.push(`npm audit: ${audit.critical} critical, ${audit.high} high, ${audit.moderate} moderate, ${audit.low} low`);
    }
    if (security === undefined) {
      evidence.push(context.t({ en: 'Debian security updates: apt not available here', zh: 'Debian 安全更新：此处无 apt' }));
    } else {
      statuses.push(security.length > 0 ? 'warn' : 'pass');
      evidence.push(
        context.t({
          en: `Debian security updates pending: ${security.length}${security.length ? ` (${security.slice(0, 10).join(', ')})` : ''}`,
          zh: `待安装的 Debian 安全更新：${security.length}${security.length ? `（${security.slice(0, 10).join('、')}）` : ''}`,
        }),
      );
    }
    const status = worstOf(statuses);
    return {
      status,
      summary:
        status === 'pass'
          ? context.t({
              en: 'runtime supported, no known vulnerability or pending security update',
              zh: '运行时受支持，无已知漏洞或待装安全更新',
            })
          : context.t({ en: 'updates needed (see evidence)', zh: '需要更新（见证据）' }),
      evidence,
      data: { node, audit, debianSecurity: security ?? null },
    };
  },
};

/** Retention: rotated logs and saved reports older than these are removed by `smartalk ops cleanup --apply`. */
export const RETENTION = { rotatedLogDays: 30, reportDays: 365, tempFileHours: 24 } as const;

export interface CleanupItem {
  file: string;
  bytes: number;
  reason: string;
}

/** What retention removes (or, with apply, removed): rotated logs, old reports, left-over temporary files. */
export async function cleanup(
  config: ChecksDeps['config'],
  now: Date,
  apply: boolean,
): Promise<{ items: CleanupItem[]; bytes: number }> {
  const items: CleanupItem[] = [];
  const consider = async (dir: string, match: (name: string) => boolean, maxAgeMs: number, reason: string) => {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (!match(name)) continue;
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile() || now.getTime() - info.mtime.getTime() < maxAgeMs) continue;
      items.push({ file, bytes: info.size, reason });
    }
  };
  const logBase = path.basename(config.logFile);
  await consider(
    path.dirname(config.logFile),
    (name) => name !== logBase && name.startsWith(`${logBase}.`),
    RETENTION.rotatedLogDays * 86_400_000,
    `rotated log older than ${RETENTION.rotatedLogDays} days`,
  );
  await consider(
    path.join(config.dataDir, 'reports'),
    (name) => /\.(html|md|json)$/.test(name),
    RETENTION.reportDays * 86_400_000,
    `report older than ${RETENTION.reportDays} days`,
  );
  for (const dir of [config.dataDir, path.join(config.dataDir, 'reports')]) {
    await consider(
      dir,
      (name) => name.endsWith('.tmp'),
      RETENTION.tempFileHours * 3_600_000,
      `temporary file older than ${RETENTION.tempFileHours} h`,
    );
  }
  if (apply) for (const item of items) await unlink(item.file).catch(() => {});
  return { items, bytes: items.reduce((sum, item) => sum + item.bytes, 0) };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export const logsCleanup: CheckDefinition<ChecksDeps> = {
  id: 'logs.cleanup',
  slot: 'monday',
  severity: 'info',
  title: { en: 'Clean expired logs and temp files', zh: '清理过期日志和临时文件' },
  action: {
    en: 'Remove them: `smartalk ops cleanup --apply` (the check itself only looks).',
    zh: '执行清理：`smartalk ops cleanup --apply`（本检查只查看不删除）。',
  },
  run: async (deps, context) => {
    const { items, bytes } = await cleanup(deps.config, context.now, false);
    // Events leave by the daily events.partitions job; a month past retention still here
    // means that job has not run.
    const retentionDays = deps.config.eventsRetentionDays;
    const retention = await applyEventRetention(deps.db, context.now, retentionDays, { apply: false });
    const { partitions } = retention;
    const oldest = partitions[0]?.from.toISOString().slice(0, 7) ?? '—';
    const expired = retention.expired.map((range) => range.name);
    return {
      status: items.length > 0 || expired.length > 0 ? 'warn' : 'pass',
      summary: context.t({
        en: `${items.length} files past retention (${mib(bytes)} to free)${expired.length > 0 ? `; ${expired.length} event months past ${retentionDays} days` : ''}`,
        zh: `${items.length} 个文件超过保留期（可释放 ${mib(bytes)}）${expired.length > 0 ? `；${expired.length} 个月的事件超过 ${retentionDays} 天` : ''}`,
      }),
      evidence: [
        ...items.slice(0, 20).map((item) => `${item.file} (${mib(item.bytes)}): ${item.reason}`),
        context.t({
          en: `event partitions: ${partitions.length} monthly, oldest ${oldest}; events older than ${retentionDays} days (before ${retention.cutoff.toISOString().slice(0, 10)}) leave a month at a time (job events.partitions, daily 03:30); reports read rollups, not events`,
          zh: `事件分区：${partitions.length} 个月分区，最早 ${oldest}；超过 ${retentionDays} 天（${retention.cutoff.toISOString().slice(0, 10)} 之前）的事件按月整体删除（任务 events.partitions，每天 03:30）；报告读取汇总表而非事件`,
        }),
        ...expired.map((name) =>
          context.t({
            en: `${name}: past retention, not dropped yet (is the events.partitions job running?)`,
            zh: `${name}：已超过保留期但尚未删除（events.partitions 任务是否在运行？）`,
          }),
        ),
      ],
      data: { items, bytes, dryRun: true, eventPartitions: partitions.length, expiredEventPartitions: expired },
    };
  },
};
