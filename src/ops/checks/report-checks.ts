/**
 * 生成当日指标报告, 生成周度指标报告, 准备产品团队周报: the report is built, saved under
 * DATA_DIR/reports and — on schedule — sent through the alert channels. The check passes
 * when the report exists; it warns when a channel refused it, and carries the report's
 * top findings as its evidence.
 */
import type { Bilingual } from '../../i18n.js';
import type { ReportKind } from '../reports/ops-report.js';
import type { CheckDefinition, Slot } from './check.js';
import type { ChecksDeps } from './deps.js';

function reportCheck(id: string, slot: Slot, kind: ReportKind, title: Bilingual, action: Bilingual): CheckDefinition<ChecksDeps> {
  return {
    id,
    slot,
    severity: 'info',
    title,
    action,
    run: async (deps, context) => {
      if (!deps.produceReport) {
        return { status: 'skip', summary: context.t({ en: 'reports are made by the server', zh: '报告由服务器生成' }) };
      }
      const { report, files, sent } = await deps.produceReport(kind, {
        lang: context.lang,
        send: context.scheduled,
        now: context.now,
      });
      const failed = sent.filter((result) => !result.ok);
      return {
        status: failed.length > 0 ? 'warn' : 'pass',
        summary: context.t({
          en: `${report.title}: saved ${files.map((f) => f.name).join(', ')}${
            sent.length
              ? `; sent via ${
                  sent
                    .filter((r) => r.ok)
                    .map((r) => r.channel)
                    .join(', ') || 'no channel'
                }`
              : ''
          }`,
          zh: `${report.title}：已保存 ${files.map((f) => f.name).join('、')}${
            sent.length
              ? `；已通过 ${
                  sent
                    .filter((r) => r.ok)
                    .map((r) => r.channel)
                    .join('、') || '无渠道'
                } 发送`
              : ''
          }`,
        }),
        evidence: [
          ...report.findings.slice(0, 3).map((finding) => `${finding.severity}: ${finding.text}`),
          ...failed.map((result) =>
            context.t({
              en: `channel ${result.channel} refused it: ${result.error}`,
              zh: `渠道 ${result.channel} 发送失败：${result.error}`,
            }),
          ),
        ],
        data: { files: files.map((f) => f.name), sent, findings: report.findings },
      };
    },
  };
}

export const reportDaily = reportCheck(
  'report.daily',
  'evening',
  'daily',
  { en: "Today's metrics report", zh: '生成当日指标报告' },
  {
    en: 'A channel refused the report: check its settings (`smartalk alerts test-channel NAME`); the report is saved under DATA_DIR/reports.',
    zh: '有渠道发送失败：检查渠道配置（`smartalk alerts test-channel 名称`）；报告已保存在 DATA_DIR/reports。',
  },
);

export const reportWeekly = reportCheck(
  'report.weekly',
  'friday',
  'weekly',
  { en: 'Weekly metrics report', zh: '生成周度指标报告' },
  reportDaily.action,
);

export const reportProductWeekly = reportCheck(
  'report.product_weekly',
  'friday',
  'product',
  { en: "Product team's weekly report", zh: '准备产品团队周报' },
  reportDaily.action,
);
