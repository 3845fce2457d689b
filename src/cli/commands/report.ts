/**
 * `smartalk report daily|weekly|product`: the runbook's reports — made now, saved under
 * DATA_DIR/reports, printed or written to a file, and sent through the alert channels
 * with --send. Through the running server when there is one, else here.
 */
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';
import { say } from '../../i18n.js';
import type { ReportKind } from '../../ops/reports/ops-report.js';
import type { ReportFormat } from '../../ops/reports/report-files.js';
import type { ProducedReport } from '../../ops/reports/reports.js';
import { parseDay } from '../options.js';
import { defaultOutputFormat, useColor } from '../output.js';

const oneOf =
  <T extends string>(allowed: readonly T[]) =>
  (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${allowed.join(', ')}`);
    return value as T;
  };

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'Make the daily, weekly or product-team weekly report (Markdown, HTML with charts, JSON); saved under DATA_DIR/reports',
    )
    .argument('<kind>', 'daily, weekly or product', oneOf(['daily', 'weekly', 'product'] as const))
    .option('--date <YYYY-MM-DD>', 'the last day the report covers, in SMARTALK_TZ (default today)', parseDay)
    .option(
      '--format <format>',
      'text (a terminal’s default), md (a pipe’s or a file’s default), html or json',
      oneOf(['text', 'md', 'html', 'json'] as const),
    )
    .option('--lang <lang>', 'en or zh-CN (default SMARTALK_LANG)', oneOf(['en', 'zh-CN'] as const))
    .option('--out <file>', 'write it to this file instead of printing it')
    .option('--send', 'also send it through the alert channels (email: the HTML; chat: the top three findings)')
    .option('--url <url>', 'the server to make it on (default: the one running from this DATA_DIR, else here)')
    .action(
      async (
        kind: ReportKind,
        flags: {
          date?: string;
          format?: ReportFormat | 'text';
          lang?: 'en' | 'zh-CN';
          out?: string;
          send?: boolean;
          url?: string;
        },
      ) => {
        const config = loadConfig();
        const lang = flags.lang ?? config.lang;
        const options = { lang, send: flags.send ?? false, ...(flags.date ? { date: flags.date } : {}) };
        const { onServerOrHere } = await import('../report-source.js');
        const produced = await onServerOrHere(
          config,
          flags.url,
          (call) => call<ProducedReport>('/api/v1/ops/reports', { method: 'POST', body: { kind, ...options } }),
          async (here) => {
            const { produceReportHere } = await import('../local-checks.js');
            return produceReportHere(config, here, kind, options);
          },
        );
        const format = flags.format ?? (flags.out ? 'md' : defaultOutputFormat());
        const [{ renderReport }, { renderReportText }] = await Promise.all([
          import('../../ops/reports/report-files.js'),
          import('../../ops/reports/render-markdown.js'),
        ]);
        const text =
          format === 'text' ? renderReportText(produced.report, !flags.out && useColor()) : renderReport(produced.report, format);
        if (flags.out) await writeFile(flags.out, text);
        else process.stdout.write(text);
        const notes = [
          say(config.lang, {
            en: `saved: ${produced.files.map((f) => f.name).join(', ')}`,
            zh: `已保存：${produced.files.map((f) => f.name).join('、')}`,
          }),
          ...produced.sent.map((r) =>
            r.ok
              ? say(config.lang, { en: `sent via ${r.channel}`, zh: `已通过 ${r.channel} 发送` })
              : say(config.lang, { en: `NOT sent via ${r.channel}: ${r.error}`, zh: `未能通过 ${r.channel} 发送：${r.error}` }),
          ),
        ];
        console.error(notes.join('\n'));
        if (produced.sent.some((r) => !r.ok)) process.exitCode = 1;
      },
    );
}
