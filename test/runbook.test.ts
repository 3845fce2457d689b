/**
 * The generated runbook is the code's: the committed docs/runbook.generated*.md equal what
 * the catalogs produce now (so a new check or a moved threshold without `npm run runbook`
 * fails here), ALERTS_CONFIG's overrides show when asked, and the HTML form is escaped.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALERTS_YAML, parseAlertsConfig } from '../src/ops/alerts/config.js';
import { CHECKS } from '../src/ops/checks/catalog.js';
import { renderRunbookHtml, renderRunbookMarkdown } from '../src/ops/runbook/runbook.js';
import { smartalkAsync } from './helpers/cli.js';

const defaults = parseAlertsConfig(DEFAULT_ALERTS_YAML, 'defaults');
const committed = (file: string) => readFileSync(new URL(`../docs/${file}`, import.meta.url), 'utf8');

describe('the generated runbook', () => {
  it('is committed as the code generates it, in both languages (else: npm run runbook)', () => {
    expect(committed('runbook.generated.md'), 'docs/runbook.generated.md is stale: run `npm run runbook`').toBe(
      renderRunbookMarkdown('en', defaults),
    );
    expect(committed('runbook.generated.zh-CN.md'), 'docs/runbook.generated.zh-CN.md is stale: run `npm run runbook`').toBe(
      renderRunbookMarkdown('zh-CN', defaults),
    );
  });

  it('lists every check and every rule, with ALERTS_CONFIG’s thresholds and vendors when given', () => {
    const md = renderRunbookMarkdown('en', defaults);
    for (const check of CHECKS) expect(md).toContain(`| \`${check.id}\` |`);
    expect(md).toMatch(/\| `HighCpu` \| CPU above 80% \| 80% \| 5m \| — \|/);
    const custom = parseAlertsConfig(
      `${DEFAULT_ALERTS_YAML}thresholds:\n  HighCpu: { ratio: 0.9 }\nvendors:\n  database: { name: "阿里云 RDS", phone: "95187" }\n`,
      '/etc/smartalk/alerts.yml',
    );
    const overridden = renderRunbookMarkdown('en', custom);
    expect(overridden).toMatch(/\| `HighCpu` \| CPU above 80% \| 90% \| 5m \|/);
    expect(overridden).toContain('with the overrides of /etc/smartalk/alerts.yml');
    expect(overridden).toMatch(/\| `DatabaseDown` \|[^\n]*\| database service: 阿里云 RDS 95187 \|/);
  });

  it('renders as HTML with every text escaped, and from the command line', async () => {
    const page = renderRunbookHtml('zh-CN', defaults);
    expect(page).toMatch(/^<!doctype html>\n<html lang="zh-CN">/);
    expect(page).toContain('<code>smartalk ops check 时段</code>');
    expect(page).not.toMatch(/<script/);
    const cli = await smartalkAsync(['runbook', '--format', 'html', '--lang', 'en'], { ALERTS_CONFIG: '' });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toBe(renderRunbookHtml('en', defaults));
  });
});
