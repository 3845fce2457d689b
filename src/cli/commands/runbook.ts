/**
 * `smartalk runbook`: the runbook as the code runs it — checklists, alert rules and
 * thresholds, escalation, schedule, reports — generated from the catalogs. Without
 * --config it uses the defaults, which is what docs/runbook.generated*.md hold
 * (`npm run runbook` writes them; a test fails when they drift).
 */
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../config.js';

const oneOf =
  <T extends string>(allowed: readonly T[]) =>
  (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${allowed.join(', ')}`);
    return value as T;
  };

export function runbookCommand(): Command {
  return new Command('runbook')
    .description('Print the runbook as the code runs it (checklists, alert rules, escalation, schedule, reports)')
    .option('--lang <lang>', 'en or zh-CN (default SMARTALK_LANG)', oneOf(['en', 'zh-CN'] as const))
    .option('--format <format>', 'md or html', oneOf(['md', 'html'] as const), 'md' as 'md' | 'html')
    .option('--config', "use ALERTS_CONFIG's thresholds, contacts and vendors instead of the defaults")
    .option('--out <file>', 'write it to this file instead of printing it')
    .action(async (flags: { lang?: 'en' | 'zh-CN'; format: 'md' | 'html'; config?: boolean; out?: string }) => {
      const config = loadConfig();
      const [{ loadAlertsConfig }, { renderRunbookHtml, renderRunbookMarkdown }] = await Promise.all([
        import('../../ops/alerts/config.js'),
        import('../../ops/runbook/runbook.js'),
      ]);
      const alerts = await loadAlertsConfig(flags.config ? config.alertsConfig : undefined);
      const lang = flags.lang ?? config.lang;
      const text = flags.format === 'html' ? renderRunbookHtml(lang, alerts) : renderRunbookMarkdown(lang, alerts);
      if (flags.out) await writeFile(flags.out, text);
      else process.stdout.write(text);
    });
}
