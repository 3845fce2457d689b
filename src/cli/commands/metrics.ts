/**
 * `smartalk metrics report`: the LaunchMetricsTracker report in the terminal (or as
 * JSON), read through the running server when there is one, else from the database.
 */
import { Command, Option } from 'commander';
import type { MetricsReport, ReportOptions } from '../../analytics/report.js';
import { type Config, type Lang, loadConfig } from '../../config.js';
import { parseWhen } from '../options.js';
import { printJson } from '../output.js';
import { readReport } from '../report-source.js';

interface ReportFlags {
  since?: string;
  until?: string;
  granularity: 'hour' | 'day';
  breakdown?: 'appVersion' | 'platform' | 'interest';
  json?: boolean;
  lang?: Lang;
  url?: string;
  facade?: boolean;
}

/** The report from the running server if there is one, else straight from the database. */
export async function loadMetricsReport(config: Config, options: ReportOptions, url?: string): Promise<MetricsReport> {
  const query = new URLSearchParams();
  if (options.since) query.set('since', options.since.toISOString());
  if (options.until) query.set('until', options.until.toISOString());
  if (options.granularity) query.set('granularity', options.granularity);
  if (options.breakdown) query.set('breakdown', options.breakdown);
  return readReport(
    config,
    '/api/v1/ops/metrics-report',
    query,
    async ({ db, store }) => {
      const [{ Presence }, { buildMetricsReport }] = await Promise.all([
        import('../../analytics/presence.js'),
        import('../../analytics/report.js'),
      ]);
      return buildMetricsReport({ db, presence: new Presence(store), tz: config.tz }, options);
    },
    url,
  );
}

export function metricsCommand(): Command {
  const metrics = new Command('metrics').description('Business metrics: activation, funnel, retention, real-time users');
  metrics
    .command('report')
    .description('The LaunchMetricsTracker report (default: the last 7 days, compared with the 7 before)')
    .option('--since <when>', 'window start: ISO date-time, or YYYY-MM-DD (a day in SMARTALK_TZ)')
    .option('--until <when>', 'window end (default: now)')
    .addOption(new Option('--granularity <unit>', 'activation cohorts by').choices(['hour', 'day']).default('day'))
    .addOption(
      new Option('--breakdown <by>', 'split new users and activation by').choices(['appVersion', 'platform', 'interest']),
    )
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--lang <lang>', 'language of the text report').choices(['en', 'zh-CN']))
    .option('--url <url>', 'read from this server (default: the one running on DATA_DIR, if any)')
    // For services/LaunchMetricsTracker.js: the report and its text in one JSON document.
    .addOption(new Option('--facade').hideHelp())
    .action(async (flags: ReportFlags) => {
      const config = loadConfig();
      const options: ReportOptions = {
        since: flags.since ? parseWhen(flags.since, config.tz, '--since') : undefined,
        until: flags.until ? parseWhen(flags.until, config.tz, '--until') : undefined,
        granularity: flags.granularity,
        breakdown: flags.breakdown,
      };
      const report = await loadMetricsReport(config, options, flags.url);
      if (flags.json) return printJson(report);
      const { renderReportText } = await import('../../analytics/report-text.js');
      const text = renderReportText(report, flags.lang ?? config.lang);
      if (flags.facade) return printJson({ report, text });
      console.log(text);
    });
  return metrics;
}
