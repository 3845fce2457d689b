/**
 * `smartalk ops check` and `smartalk ops schedule`: the runbook's checklists on demand,
 * and when they run on their own. Through the running server when there is one (it
 * holds the embedded database and the request metrics), else against the database
 * configured here. Exit codes are the monitoring-plugin convention (Nagios, Icinga):
 * 0 all pass or skip, 1 a warning, 2 a failure, 3 could not run.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type Config, loadConfig } from '../../config.js';
import { localTime } from '../../format.js';
import { say } from '../../i18n.js';
import type { CheckResult, CheckRun, CheckStatus } from '../../ops/checks/check.js';
import type { JobView } from '../../ops/schedule/scheduler.js';
import { usePluginExitCodes } from '../options.js';
import { paint, printJson, STATUS_COLORS, tableMaker } from '../output.js';

/** The plugin convention's "UNKNOWN": the checks could not be run at all. */
const COULD_NOT_RUN = 3;

/** A check run for people: one line per check, its evidence under it, the action when it needs one. */
export function renderCheckRun(run: CheckRun, lang: Config['lang'], tz: string): string {
  return renderResults(
    `${run.slot ?? say(lang, { en: 'checks', zh: '检查' })} — ${localTime(run.startedAt, tz)} … ${localTime(run.finishedAt, tz)}`,
    run.results,
    run.worst,
    lang,
  );
}

/** Results of checks, insights or a diagnosis, under a heading, with the worst status last. */
export function renderResults(heading: string, results: CheckResult[], worst: CheckStatus, lang: Config['lang']): string {
  const width = Math.max(22, ...results.map((result) => result.id.length + 1));
  const lines = [paint('bold', heading)];
  for (const result of results) {
    const status = result.status.toUpperCase().padEnd(4);
    lines.push(`${paint(STATUS_COLORS[result.status], status)}  ${result.id.padEnd(width)} ${result.title}: ${result.summary}`);
    for (const line of result.evidence) lines.push(`        ${paint('dim', line)}`);
    if (result.action) lines.push(`        → ${result.action}`);
  }
  const counts = (['pass', 'warn', 'fail', 'skip'] as const).map((s) => `${results.filter((r) => r.status === s).length} ${s}`);
  lines.push(
    '',
    `${say(lang, { en: 'worst', zh: '最差' })}: ${paint(STATUS_COLORS[worst], worst.toUpperCase())} (${counts.join(', ')})`,
  );
  return lines.join('\n');
}

export function addCheckCommands(ops: Command): void {
  usePluginExitCodes(ops.command('check'))
    .description(
      'Run checklist slots (morning, afternoon, evening, monday, wednesday, friday) or single checks; exit 0 ok, 1 warn, 2 fail, 3 could not run',
    )
    .argument('<names...>', 'slots or check ids, e.g. morning, or db.performance logs.overnight')
    .option('--json', 'print {slot, startedAt, finishedAt, worst, results:[{id, status, summary, evidence, action}]}')
    .option('--lang <lang>', 'en or zh-CN (default SMARTALK_LANG)')
    .option('--url <url>', 'the server to run them on (default: the one running from this DATA_DIR, else here)')
    .action(async (names: string[], flags: { json?: boolean; lang?: string; url?: string }) => {
      const config = loadConfig();
      const lang = flags.lang === 'zh-CN' ? 'zh-CN' : flags.lang === undefined || flags.lang === 'en' ? config.lang : undefined;
      const { CHECK_SELECTORS } = await import('../../ops/checks/catalog.js');
      const unknown = names.filter((name) => !CHECK_SELECTORS.includes(name));
      if (lang === undefined || unknown.length > 0) {
        console.error(
          lang === undefined
            ? `smartalk: --lang must be en or zh-CN`
            : `smartalk: ${say(config.lang, { en: 'unknown slot or check', zh: '未知的时段或检查项' })}: ${unknown.join(', ')}\n  ${CHECK_SELECTORS.join(' ')}`,
        );
        process.exitCode = COULD_NOT_RUN;
        return;
      }
      let run: CheckRun;
      try {
        const { onServerOrHere } = await import('../report-source.js');
        run = await onServerOrHere(
          config,
          flags.url,
          (call) => call<CheckRun>('/api/v1/ops/checks/run', { method: 'POST', body: { checks: names, lang } }),
          async (here) => {
            const { runChecksHere } = await import('../local-checks.js');
            return runChecksHere(config, here, names, lang);
          },
        );
      } catch (error) {
        console.error(
          `smartalk: ${say(config.lang, { en: 'the checks could not run', zh: '检查无法运行' })}: ${(error as Error).message}`,
        );
        process.exitCode = COULD_NOT_RUN;
        return;
      }
      if (flags.json) printJson(run);
      else console.log(renderCheckRun(run, lang, config.tz));
      const { exitCodeOf } = await import('../../ops/checks/check.js');
      process.exitCode = exitCodeOf(run.worst);
    });

  usePluginExitCodes(ops.command('diagnose'))
    .description(
      "Run the runbook's troubleshooting (故障排除) for a scenario: findings in order with evidence and the remedy; exit 0 ok, 1 warn, 2 fail, 3 could not run",
    )
    .argument('<scenario>', 'app-down, db, video or activation-drop')
    .option('--url <url>', 'the server to diagnose (default: the one running from this DATA_DIR, else HOST:PORT)')
    .option(
      '--fix',
      'apply the safe remedies (reset the connection pool, restart a failed unit, purge a stale edge copy) and say what was done',
    )
    .option(
      '--terminate-idle-in-transaction <seconds>',
      'with --fix: end sessions idle in a transaction for longer than this',
      (value) => {
        const seconds = Number(value);
        if (!Number.isInteger(seconds) || seconds < 1) throw new InvalidArgumentError('a whole number of seconds');
        return seconds;
      },
    )
    .option('--json', 'print {scenario, worst, findings: [{id, status, summary, evidence, action}], fixes, vendor}')
    .option('--lang <lang>', 'en or zh-CN (default SMARTALK_LANG)')
    .action(
      async (
        scenario: string,
        flags: { url?: string; fix?: boolean; terminateIdleInTransaction?: number; json?: boolean; lang?: string },
      ) => {
        const config = loadConfig();
        const lang = flags.lang === 'zh-CN' ? 'zh-CN' : config.lang;
        const [{ SCENARIO_DEFINITIONS, assembleDiagnoseDeps }, { runDiagnosis }] = await Promise.all([
          import('../../ops/diagnose/scenarios.js'),
          import('../../ops/diagnose/diagnosis.js'),
        ]);
        const definition = SCENARIO_DEFINITIONS[scenario as keyof typeof SCENARIO_DEFINITIONS];
        if (!definition) {
          console.error(
            `smartalk: ${say(config.lang, { en: 'unknown scenario', zh: '未知场景' })}: ${scenario} (${Object.keys(SCENARIO_DEFINITIONS).join(', ')})`,
          );
          process.exitCode = COULD_NOT_RUN;
          return;
        }
        if (flags.terminateIdleInTransaction !== undefined && !flags.fix) {
          console.error('smartalk: --terminate-idle-in-transaction needs --fix');
          process.exitCode = COULD_NOT_RUN;
          return;
        }
        const deps = await assembleDiagnoseDeps(config, {
          url: flags.url,
          fix: flags.fix,
          terminateIdleSeconds: flags.terminateIdleInTransaction,
        });
        const diagnosis = await runDiagnosis(definition, deps, { lang });
        process.exitCode = (await import('../../ops/checks/check.js')).exitCodeOf(diagnosis.worst);
        if (flags.json) return printJson(diagnosis);
        console.log(
          renderResults(
            `${diagnosis.title} — ${diagnosis.url} — ${diagnosis.startedAt}`,
            diagnosis.findings,
            diagnosis.worst,
            lang,
          ),
        );
        for (const fix of diagnosis.fixes) {
          console.log(`${paint(fix.ok ? 'green' : 'red', fix.ok ? 'FIXED' : 'FIX FAILED')}  ${fix.action}: ${fix.detail}`);
        }
        if (diagnosis.vendor && diagnosis.worst === 'fail') {
          console.log(`${say(lang, { en: 'vendor contact', zh: '服务商联系方式' })}: ${diagnosis.vendor}`);
        }
      },
    );

  ops
    .command('cleanup')
    .description('Rotated logs, old reports and temporary files past retention: list them, or remove them with --apply')
    .option('--apply', 'remove them (default: a dry run that only lists)')
    .option('--json', 'print JSON')
    .action(async (flags: { apply?: boolean; json?: boolean }) => {
      const config = loadConfig();
      const { cleanup } = await import('../../ops/checks/maintenance-checks.js');
      const result = await cleanup(config, new Date(), flags.apply ?? false);
      if (flags.json) return printJson({ ...result, applied: flags.apply ?? false });
      for (const item of result.items) console.log(`${item.file}  ${(item.bytes / 2 ** 20).toFixed(1)} MiB  ${item.reason}`);
      const total = `${(result.bytes / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        flags.apply
          ? say(config.lang, {
              en: `removed ${result.items.length} files, ${total} freed`,
              zh: `已删除 ${result.items.length} 个文件，释放 ${total}`,
            })
          : say(config.lang, {
              en: `${result.items.length} files, ${total} to free (dry run; --apply removes them)`,
              zh: `${result.items.length} 个文件，可释放 ${total}（试运行；--apply 执行删除）`,
            }),
      );
    });

  ops
    .command('schedule')
    .description('The scheduled jobs (the checklists) with their last and next run')
    .option('--json', 'print JSON')
    .option('--url <url>', 'the server to ask (default: the one running from this DATA_DIR)')
    .action(async (flags: { json?: boolean; url?: string }) => {
      const config = loadConfig();
      const { readReport } = await import('../report-source.js');
      const schedule = await readReport<{ tz: string; enabledHere: boolean; jobs: JobView[] }>(
        config,
        '/api/v1/ops/schedule',
        new URLSearchParams(),
        async (here) => {
          const { scheduleHere } = await import('../local-checks.js');
          return scheduleHere(config, here);
        },
        flags.url,
      );
      if (flags.json) return printJson(schedule);
      const table = (await tableMaker())({
        head: say(config.lang, { en: 'job|when|last run|status|next run', zh: '任务|时间|上次运行|状态|下次运行' }).split('|'),
      });
      for (const job of schedule.jobs) {
        table.push([
          job.id,
          `${job.cron} (${say(config.lang, job.description)})`,
          job.lastRun
            ? `${localTime(job.lastRun.startedAt, config.tz)}${job.lastRun.instance ? `\n${job.lastRun.instance}` : ''}`
            : '—',
          `${job.lastRun?.status ?? '—'}${job.late ? say(config.lang, { en: ' LATE', zh: ' 延迟' }) : ''}`,
          job.nextRun ? localTime(job.nextRun, config.tz) : '—',
        ]);
      }
      console.log(table.toString());
      console.log(say(config.lang, { en: `cron times in ${schedule.tz}`, zh: `cron 时间按 ${schedule.tz}` }));
    });
}
