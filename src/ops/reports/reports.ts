/** Build, save and (when asked) send a report: what `smartalk report`, the API and the evening and Friday checks share. */
import type { Lang } from '../../config.js';
import type { AlertService } from '../alerts/service.js';
import { buildOpsReport, type OpsReport, type ReportKind, type ReportSources } from './ops-report.js';
import { renderReport, type SavedReport, saveReport } from './report-files.js';
import { reportChannels, type SendResult, sendReport } from './send-report.js';

export interface ProducedReport {
  report: OpsReport;
  files: SavedReport[];
  sent: SendResult[];
}

export interface ProduceOptions {
  date?: string;
  lang: Lang;
  /** Send through the alert channels (the scheduled runs do; a report asked for by hand only when told). */
  send?: boolean;
  now?: Date;
}

export async function produceReport(
  deps: ReportSources,
  alerts: AlertService | undefined,
  kind: ReportKind,
  options: ProduceOptions,
): Promise<ProducedReport> {
  const report = await buildOpsReport(deps, kind, options);
  const files = await saveReport(deps.config.dataDir, report);
  let sent: SendResult[] = [];
  if (options.send && alerts) {
    const html = files.find((file) => file.format === 'html');
    sent = await sendReport(alerts.channels, reportChannels(alerts.config), report, {
      html: renderReport(report, 'html'),
      link: `${deps.config.publicUrl}/api/v1/ops/reports/${html?.name ?? ''}`,
    });
  }
  return { report, files, sent };
}
