/**
 * Reports go out through the alert channels to the people of the info tier's first
 * level (who reads what is not urgent): email carries the whole HTML report, chat
 * channels a summary with the top three findings. A channel that fails is reported,
 * not retried: the report stays saved and listed.
 */
import { say } from '../../i18n.js';
import type { Channel } from '../alerts/channels.js';
import type { AlertsConfig } from '../alerts/config.js';
import type { Message } from '../alerts/messages.js';
import type { OpsReport } from './ops-report.js';
import { findingLine } from './render-markdown.js';

export interface SendResult {
  channel: string;
  ok: boolean;
  error?: string;
}

/** The channels reports go to: those of the contacts at the info tier's first level. */
export function reportChannels(config: AlertsConfig): string[] {
  const first = [...config.escalation.info].sort((a, b) => a.level - b.level)[0];
  const names = (first?.contacts ?? []).flatMap((contact) => config.contacts[contact]?.channels ?? []);
  return [...new Set(names)];
}

export function reportMessage(report: OpsReport, html: string, link: string): Message {
  const t = (en: string, zh: string) => say(report.lang, { en, zh });
  const top = report.findings.slice(0, 3);
  const summary = [report.title, '', ...top.map((f) => findingLine(f, true)), '', `${t('Full report', '完整报告')}: ${link}`];
  return {
    title: report.title,
    text: `${summary.join('\n')}\n`,
    markdown: `### ${report.title}\n\n${top.map((f) => `- ${findingLine(f)}`).join('\n')}\n\n${t('Full report', '完整报告')}: ${link}\n`,
    kind: 'report',
    level: 0,
    severity: top[0]?.severity ?? 'info',
    html,
  };
}

export async function sendReport(
  channels: Map<string, Channel>,
  names: string[],
  report: OpsReport,
  rendered: { html: string; link: string },
): Promise<SendResult[]> {
  const message = reportMessage(report, rendered.html, rendered.link);
  const results: SendResult[] = [];
  for (const name of names) {
    const channel = channels.get(name);
    if (!channel) {
      results.push({ channel: name, ok: false, error: 'no such channel' });
      continue;
    }
    try {
      await channel.send(channel.type === 'email' ? message : { ...message, html: undefined }, null);
      results.push({ channel: name, ok: true });
    } catch (error) {
      results.push({ channel: name, ok: false, error: (error as Error).message.slice(0, 200) });
    }
  }
  return results;
}
