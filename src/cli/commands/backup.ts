/**
 * `smartalk backup create|verify|list|status|prune`. On PostgreSQL they run here (pg_dump
 * and pg_restore from this machine, a progress bar on the terminal); with the embedded
 * database open in a running server, create and verify go through it — one process may
 * hold PGlite. Every create and verify is recorded in the job log, as a scheduled one is.
 */
import path from 'node:path';
import { Command } from 'commander';
import { type Config, loadConfig } from '../../config.js';
import { bytes, localTime } from '../../format.js';
import { say } from '../../i18n.js';
import { type BackupJobDeps, type BackupRun, type DrillRun, summaryOf } from '../../ops/backups/jobs.js';
import type { BackupOverview } from '../../ops/backups/overview.js';
import { UsageError } from '../options.js';
import { paint, printJson, progressBar, STATUS_COLORS, tableMaker } from '../output.js';
import { type OpsCall, onServerOrHere } from '../report-source.js';

/** A backup of a big database takes a while: the server is given this long to answer. */
const SERVER_TIMEOUT_MS = 6 * 3_600_000;

/**
 * Run `local` here unless the embedded database is held by a running server, in which
 * case `remote` asks that server.
 */
async function hereOrThroughServer<T>(
  config: Config,
  remote: (call: OpsCall) => Promise<T>,
  local: (deps: BackupJobDeps) => Promise<T>,
): Promise<T> {
  if (config.databaseUrl) {
    const { withLocalDatabase } = await import('../report-source.js');
    return withLocalDatabase(config, ({ db }) => local({ db, config }));
  }
  return onServerOrHere(config, undefined, remote, ({ db }) => local({ db, config }));
}

/** A backup or drill run's (or step's) line in the reader's language. */
const runSummary = (run: { summary?: unknown; summaryZh?: unknown }, lang: Config['lang']): string =>
  say(lang, summaryOf(run) ?? { en: '', zh: '' });

function renderDrill(run: DrillRun, lang: Config['lang']): string {
  const lines: string[] = [];
  for (const step of run.drill?.steps ?? []) {
    lines.push(
      `${paint(STATUS_COLORS[step.status], step.status.toUpperCase().padEnd(4))}  ${step.id.padEnd(10)} ${runSummary(step, lang)}`,
    );
    for (const line of step.evidence) lines.push(`            ${paint('dim', line)}`);
  }
  const restore = run.drill?.restoreMs;
  const summary = runSummary(run, lang);
  lines.push(
    '',
    run.status === 'success'
      ? paint('green', say(lang, { en: `OK — ${summary}`, zh: `通过 — ${summary}` }))
      : paint('red', say(lang, { en: `FAILED — ${summary}`, zh: `失败 — ${summary}` })),
  );
  if (restore != null) {
    lines.push(
      say(lang, {
        en: `recovery time to expect: ${(restore / 1000).toFixed(1)} s to restore this backup (plus starting the app)`,
        zh: `可承诺的恢复时间：恢复该备份需 ${(restore / 1000).toFixed(1)} 秒（另加应用启动时间）`,
      }),
    );
  }
  return lines.join('\n');
}

export function backupCommand(): Command {
  const backup = new Command('backup').description(
    'Backups: pg_dump (PostgreSQL) or PGlite’s dump with a manifest; restore drills; retention',
  );

  backup
    .command('create')
    .description('Back up the database now, copy it off the machine (BACKUP_COPY_COMMAND), apply retention; exit 1 if it failed')
    .option('--json', 'print {status, summary, summaryZh, backup: {file, bytes, tables, rows, sha256}, pruned}')
    .action(async (flags: { json?: boolean }) => {
      const config = loadConfig();
      const bar = progressBar(say(config.lang, { en: 'backup', zh: '备份' }), !flags.json && process.stderr.isTTY === true);
      const run = await hereOrThroughServer<BackupRun>(
        config,
        (call) => call<BackupRun>('/api/v1/ops/backups', { method: 'POST', body: {}, timeoutMs: SERVER_TIMEOUT_MS }),
        async (deps) => {
          const { runBackup, recordManualRun } = await import('../../ops/backups/jobs.js');
          const startedAt = new Date();
          const result = await runBackup(deps, { onProgress: (done, total, label) => bar.update(done, total, label) });
          bar.stop();
          await recordManualRun(deps.db, 'backup', startedAt, result);
          return result;
        },
      );
      bar.stop();
      process.exitCode = run.status === 'success' ? 0 : 1;
      if (flags.json) return printJson(run);
      const status =
        run.status === 'success' ? paint('green', 'OK') : paint('red', say(config.lang, { en: 'FAILED', zh: '失败' }));
      console.log(`${status}  ${runSummary(run, config.lang)}`);
      if (run.backup) {
        console.log(`    ${run.backup.file}  ${bytes(run.backup.bytes)}  sha256 ${run.backup.sha256.slice(0, 16)}…`);
        if (run.backup.copy)
          console.log(
            `    ${say(config.lang, { en: 'off-machine copy', zh: '异地复制' })}: ${run.backup.copy.ok ? 'ok' : run.backup.copy.output}`,
          );
      }
      for (const removed of run.pruned)
        console.log(`    ${say(config.lang, { en: 'removed', zh: '已删除' })} ${path.basename(removed.file)}: ${removed.reason}`);
    });

  backup
    .command('verify')
    .description(
      'Restore drill: restore a backup (default the newest) into a scratch database and check it against its manifest; exit 1 if it failed',
    )
    .argument('[file]', 'a backup file (a path, or a name in BACKUP_DIR)')
    .option('--json', 'print {status, summary, summaryZh, drill: {steps, restoreMs, tables}}')
    .action(async (file: string | undefined, flags: { json?: boolean }) => {
      const config = loadConfig();
      const resolved =
        file === undefined ? undefined : file.includes('/') ? path.resolve(file) : path.join(config.backups.dir, file);
      const bar = progressBar(
        say(config.lang, { en: 'restore drill', zh: '恢复演练' }),
        !flags.json && process.stderr.isTTY === true,
      );
      const run = await hereOrThroughServer<DrillRun>(
        config,
        (call) => {
          if (resolved && path.dirname(resolved) !== config.backups.dir) {
            throw new UsageError(
              `the running server drills backups in BACKUP_DIR (${config.backups.dir}) only; copy ${resolved} there`,
            );
          }
          return call<DrillRun>('/api/v1/ops/backups/verify', {
            method: 'POST',
            body: resolved ? { name: path.basename(resolved) } : {},
            timeoutMs: SERVER_TIMEOUT_MS,
          });
        },
        async (deps) => {
          const { runDrill, recordManualRun } = await import('../../ops/backups/jobs.js');
          const startedAt = new Date();
          const result = await runDrill(deps, resolved, { onProgress: (done, total, label) => bar.update(done, total, label) });
          bar.stop();
          await recordManualRun(deps.db, 'backup.drill', startedAt, result);
          return result;
        },
      );
      bar.stop();
      process.exitCode = run.status === 'success' ? 0 : 1;
      if (flags.json) return printJson(run);
      console.log(renderDrill(run, config.lang));
    });

  backup
    .command('list')
    .description('The backups in BACKUP_DIR, newest first')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const config = loadConfig();
      const [{ listBackups }, { listingOf }] = await Promise.all([
        import('../../ops/backups/backup-files.js'),
        import('../../ops/backups/overview.js'),
      ]);
      const listings = (await listBackups(config.backups.dir)).map(listingOf);
      if (flags.json) return printJson({ dir: config.backups.dir, backups: listings });
      if (listings.length === 0) {
        console.log(say(config.lang, { en: `no backups in ${config.backups.dir}`, zh: `${config.backups.dir} 中没有备份` }));
        return;
      }
      const table = (await tableMaker())({
        head: say(config.lang, { en: 'backup|size|tables|rows|migration|state', zh: '备份|大小|表|行数|迁移|状态' }).split('|'),
      });
      for (const b of listings) {
        table.push([
          b.name,
          bytes(b.bytes),
          b.tables ?? '—',
          b.rows ?? '—',
          b.migration ?? '—',
          b.complete ? 'ok' : (b.problem ?? ''),
        ]);
      }
      console.log(`${config.backups.dir}\n${table.toString()}`);
    });

  backup
    .command('status')
    .description(
      'The last backup and restore drill (from the job log), what is on disk, retention and schedule; exit 1 if the latest run of either failed',
    )
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const config = loadConfig();
      const overview = await onServerOrHere<BackupOverview>(
        config,
        undefined,
        (call) => call<BackupOverview>('/api/v1/ops/backups'),
        async ({ db }) => {
          const { backupOverview } = await import('../../ops/backups/overview.js');
          return backupOverview({ db, config });
        },
      );
      const failed = overview.lastRun?.status === 'failed' || overview.lastDrill?.status === 'failed';
      process.exitCode = failed ? 1 : 0;
      if (flags.json) return printJson(overview);
      const t = (en: string, zh: string) => say(config.lang, { en, zh });
      const line = (label: string, run: BackupOverview['lastRun'], lastSuccess: string | null) => {
        const state = run ? paint(run.status === 'success' ? 'green' : 'red', run.status) : '—';
        const summary = typeof run?.details.summary === 'string' ? ` — ${runSummary(run.details, config.lang)}` : '';
        console.log(`${label.padEnd(18)} ${state} ${run?.finishedAt ? localTime(run.finishedAt, config.tz) : ''}${summary}`);
        console.log(
          `${''.padEnd(18)} ${t('last success', '最近成功')}: ${lastSuccess ? localTime(lastSuccess, config.tz) : t('never', '从未')}`,
        );
      };
      line(t('backup', '备份'), overview.lastRun, overview.lastSuccess);
      line(t('restore drill', '恢复演练'), overview.lastDrill, overview.lastDrillSuccess);
      const complete = overview.backups.filter((b) => b.complete).length;
      console.log(
        t(
          `on disk: ${complete} backups (${overview.backups.length - complete} incomplete), ${bytes(overview.totalBytes)} in ${overview.dir}`,
          `磁盘上：${complete} 个备份（${overview.backups.length - complete} 个不完整），共 ${bytes(overview.totalBytes)}，位于 ${overview.dir}`,
        ),
      );
      console.log(
        t(
          `retention: ${overview.retention.keepDaily} daily, ${overview.retention.keepWeekly} weekly · schedule: backup ${overview.schedule.backup ?? 'off'}, drill ${overview.schedule.drill ?? 'off'} (${overview.schedule.tz})`,
          `保留：每日 ${overview.retention.keepDaily} 个、每周 ${overview.retention.keepWeekly} 个 · 计划：备份 ${overview.schedule.backup ?? '关闭'}，演练 ${overview.schedule.drill ?? '关闭'}（${overview.schedule.tz}）`,
        ),
      );
    });

  backup
    .command('prune')
    .description('Remove the backups retention does not keep (BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY)')
    .option('--dry-run', 'only list what would be removed')
    .option('--json', 'print JSON')
    .action(async (flags: { dryRun?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const { prune } = await import('../../ops/backups/jobs.js');
      const removed = await prune(config, new Date(), !flags.dryRun);
      if (flags.json) return printJson({ removed, applied: !flags.dryRun });
      for (const entry of removed) console.log(`${path.basename(entry.file)}: ${entry.reason}`);
      console.log(
        flags.dryRun
          ? say(config.lang, {
              en: `${removed.length} backups would be removed (dry run)`,
              zh: `将删除 ${removed.length} 个备份（试运行）`,
            })
          : say(config.lang, { en: `${removed.length} backups removed`, zh: `已删除 ${removed.length} 个备份` }),
      );
    });

  return backup;
}
