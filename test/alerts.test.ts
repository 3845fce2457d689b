/**
 * The alert catalog as Prometheus files, checked by the real promtool and amtool:
 * every rule fires on its condition after its `for` time and stays silent just
 * below its threshold; every series a rule reads is exported by the server.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULES, SEVERITIES } from '../src/ops/alerts/catalog.js';
import type { OpsCall } from '../src/ops/server-link.js';
import { findBinary, requireBinaries } from './helpers/binaries.js';
import { smartalk } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-alerts-'));
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const run = (binary: string, args: string[]) => spawnSync(findBinary(binary) as string, args, { cwd: dir, encoding: 'utf8' });

describe('the rule catalog', () => {
  it('has the runbook\u2019s rules in its three tiers, in both languages', () => {
    const bySeverity = (severity: string) => RULES.filter((r) => r.severity === severity).map((r) => r.id);
    expect(bySeverity('critical')).toEqual(['ServiceDown', 'DatabaseDown', 'HighErrorRate', 'ActivationRateDrop']);
    expect(bySeverity('warning')).toEqual([
      'LowActivationRate',
      'HighCpu',
      'HighMemory',
      'LowDiskSpace',
      'SlowApi',
      'BackupStale',
      'BackupFailed',
      'DbConnectionsHigh',
    ]);
    expect(bySeverity('info')).toEqual(['NegativeFeedbackRising', 'FunnelStepDrop', 'CdnHitRateLow']);
    expect(Object.values(SEVERITIES).map((s) => s.responseMinutes)).toEqual([0, 60, 240]);
    for (const rule of RULES) {
      expect(rule.summary.zh).toMatch(/\p{Script=Han}/u);
      expect(rule.description.zh).toMatch(/\p{Script=Han}/u);
      expect(rule.runbook).toMatch(/^docs\/runbook\.md#/);
    }
  });
});

describe('Prometheus files (promtool, amtool)', () => {
  it('exports a rules file promtool accepts', (context) => {
    const out = smartalk(['alerts', 'export', '--format', 'prometheus', '--out', path.join(dir, 'smartalk-rules.yml')]);
    expect(out.status, out.stderr).toBe(0);
    requireBinaries(context, 'promtool check rules', 'promtool');
    const check = run('promtool', ['check', 'rules', 'smartalk-rules.yml']);
    expect(check.stdout + check.stderr).toContain(`SUCCESS: ${RULES.length} rules found`);
  });

  it('passes promtool unit tests: each rule fires after its for, and not just below its threshold', (context) => {
    const out = smartalk(['alerts', 'export', '--format', 'promtool-tests', '--out', path.join(dir, 'smartalk-tests.yml')]);
    expect(out.status, out.stderr).toBe(0);
    requireBinaries(context, 'promtool test rules', 'promtool');
    const test = run('promtool', ['test', 'rules', 'smartalk-tests.yml']);
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('fails those tests when a threshold is moved (the tests can fail)', async (context) => {
    requireBinaries(context, 'promtool test rules', 'promtool');
    const { prometheusRules } = await import('../src/ops/alerts/prometheus.js');
    writeFileSync(path.join(dir, 'smartalk-rules.yml'), prometheusRules({ thresholds: { HighErrorRate: { ratio: 0.07 } } }));
    const test = run('promtool', ['test', 'rules', 'smartalk-tests.yml']);
    expect(test.status).not.toBe(0);
    expect(test.stdout + test.stderr).toContain('alertname: HighErrorRate');
  });

  it('exports an Alertmanager config amtool accepts, routing every severity to the intake', (context) => {
    writeFileSync(path.join(dir, 'token'), 'x'.repeat(24));
    const out = smartalk([
      'alerts',
      'export',
      '--format',
      'alertmanager',
      '--intake-url',
      'http://127.0.0.1:3000/api/v1/ops/alertmanager',
      '--token-file',
      path.join(dir, 'token'),
      '--out',
      path.join(dir, 'alertmanager.yml'),
    ]);
    expect(out.status, out.stderr).toBe(0);
    requireBinaries(context, 'amtool check-config', 'amtool');
    const check = run('amtool', ['check-config', 'alertmanager.yml']);
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.stdout).toContain('3 receivers');
  });
});

describe('series the rules read', () => {
  // Backups are a feature still to come; the CDN ratio is exported when CDN_ACCESS_LOG is
  // set (test/deploy.test.ts reads it from the real nginx). Listed so the gap is visible.
  const NOT_YET_EXPORTED = new Set([
    'smartalk_backup_last_success_timestamp_seconds',
    'smartalk_backup_last_run_failed',
    'smartalk_cdn_cache_hit_ratio',
  ]);

  it('are all on a live /metrics scrape (or listed as not yet exported)', async () => {
    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    const exported = new Set(
      scrape
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]),
    );
    for (const rule of RULES) {
      const names = rule.expr(rule.thresholds).match(/\b(?:smartalk|http)_[a-z_]+/g) ?? [];
      for (const name of names) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (NOT_YET_EXPORTED.has(name)) continue;
        expect(exported.has(name) || exported.has(base), `${rule.id} reads ${name}`).toBe(true);
      }
    }
  });
});

describe('docs/alerts.md', () => {
  it('lists every rule', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../docs/alerts.md', import.meta.url), 'utf8');
    for (const rule of RULES) expect(doc, rule.id).toContain(`| ${rule.id} |`);
  });
});

describe('docs/runbook.md', () => {
  it('has the section every rule links to (GitHub heading anchors)', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../docs/runbook.md', import.meta.url), 'utf8');
    // GitHub's slug: lower case, punctuation dropped, each space a hyphen.
    const anchors = new Set(
      [...doc.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading]) =>
        (heading as string)
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      ),
    );
    for (const rule of RULES) expect(anchors, rule.id).toContain(rule.runbook.split('#')[1]);
  });
});

describe('deploy/alerts.example.yml', () => {
  it('is a valid alerts config', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseAlertsConfig } = await import('../src/ops/alerts/config.js');
    const file = new URL('../deploy/alerts.example.yml', import.meta.url);
    const config = parseAlertsConfig(readFileSync(file, 'utf8'), 'deploy/alerts.example.yml');
    expect(config.escalation.critical.map((l) => [l.level, l.afterMs / 60_000])).toEqual([
      [1, 0],
      [2, 15],
      [3, 30],
    ]);
  });
});

describe('short alert ids', () => {
  it('name one alert by a unique prefix, and list the candidates of an ambiguous one', async () => {
    const { resolveAlertId } = await import('../src/cli/commands/alerts.js');
    const { opsRequest } = await import('../src/ops/server-link.js');
    const call: OpsCall = (route, init) =>
      opsRequest(server.url, route, { token: server.opsToken, source: 'env', file: '' }, init);
    const ids = ['abcd1234-0000-4000-8000-000000000001', 'abcd1299-0000-4000-8000-000000000002'];
    for (const [i, id] of ids.entries()) {
      await server.runtime.db.kysely
        .insertInto('alerts')
        .values({
          id,
          fingerprint: `short-id-${i}`,
          rule_id: 'HighCpu',
          severity: 'warning',
          source: 'builtin',
          labels: '{}',
          summary: 'CPU',
          status: 'resolved',
          started_at: new Date('2026-11-30T00:00:00Z'),
          fired_at: new Date('2026-11-30T00:05:00Z'),
          last_seen_at: new Date('2026-11-30T00:05:00Z'),
        })
        .execute();
    }
    expect(await resolveAlertId(call, 'abcd123', 'UTC')).toBe(ids[0]);
    expect(await resolveAlertId(call, 'ABCD1299', 'UTC')).toBe(ids[1]);
    expect(await resolveAlertId(call, ids[1] as string, 'UTC')).toBe(ids[1]);
    const ambiguous = resolveAlertId(call, 'abcd12', 'UTC');
    await expect(ambiguous).rejects.toThrow(/abcd12 names 2 alerts; give more of the id:/);
    await expect(resolveAlertId(call, 'abcd12', 'UTC')).rejects.toThrow(
      /abcd1234-0000 {2}HighCpu {2}resolved {2}2026-11-30 00:00:00 GMT/,
    );
    await expect(resolveAlertId(call, 'abc', 'UTC')).rejects.toThrow(/not an alert id/);
  });

  it('come a page at a time, newest first, with a cursor', async () => {
    const { opsRequest } = await import('../src/ops/server-link.js');
    const token = { token: server.opsToken, source: 'env' as const, file: '' };
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await opsRequest<{ alerts: Array<{ id: string }>; nextCursor: string | null }>(
        server.url,
        `/api/v1/ops/alerts?status=all&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        token,
      );
      seen.push(...page.alerts.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    const whole = await opsRequest<{ alerts: Array<{ id: string }> }>(server.url, '/api/v1/ops/alerts?status=all', token);
    expect(seen).toEqual(whole.alerts.map((a) => a.id));
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });
});
