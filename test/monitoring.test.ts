/**
 * The monitoring kit under deploy/ (Prometheus, rules, Alertmanager, Grafana) is what the
 * code generates, real promtool and amtool accept it, and every query of every dashboard
 * panel returns data from a real Prometheus scraping a real server under simulated load.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monitoringFiles, prometheusConfig } from '../src/ops/dashboards/monitoring-kit.js';
import { DASHBOARDS } from '../src/ops/dashboards/panels.js';
import { findBinary, requireBinaries } from './helpers/binaries.js';
import { ROOT, smartalkAsync } from './helpers/cli.js';
import { freePort, waitFor } from './helpers/private-services.js';
import { api, createLearner, startTestServer, type TestServer } from './helpers/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-monitoring-'));
let prometheus: ChildProcess | undefined;
let server: TestServer | undefined;
afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    prometheus.kill('SIGTERM');
    await new Promise((resolve) => prometheus?.once('exit', resolve));
  }
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the monitoring kit in deploy/', () => {
  it('is exactly what the code generates (npm run monitoring rewrites it)', () => {
    const stale = Object.entries(monitoringFiles()).filter(
      ([name, text]) => readFileSync(path.join(ROOT, 'deploy', name), 'utf8') !== text,
    );
    expect(
      stale.map(([name]) => name),
      'run `npm run monitoring` and commit deploy/',
    ).toEqual([]);
  });

  it('passes promtool check config and amtool check-config', (context) => {
    requireBinaries(context, 'the monitoring configs are checked by the real tools', 'promtool', 'amtool');
    const files = monitoringFiles();
    const rules = path.join(dir, 'rules.yml');
    writeFileSync(rules, files['prometheus/rules/smartalk.yml'] as string);
    // The shipped file names /etc/prometheus/rules; the check reads the same rules from here.
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      (files['prometheus/prometheus.yml'] as string).replace('/etc/prometheus/rules/smartalk.yml', rules),
    );
    expect(
      execFileSync(findBinary('promtool') as string, ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8' }),
    ).toMatch(/SUCCESS: 1 rule files found[\s\S]*SUCCESS: \d+ rules found/);
    writeFileSync(path.join(dir, 'alertmanager.yml'), files['alertmanager/alertmanager.yml'] as string);
    expect(
      execFileSync(findBinary('amtool') as string, ['check-config', path.join(dir, 'alertmanager.yml')], { encoding: 'utf8' }),
    ).toMatch(/SUCCESS/);
  });

  it('writes Grafana dashboards whose panels each have a datasource, targets and a place on the grid', () => {
    const files = monitoringFiles();
    for (const definition of DASHBOARDS) {
      for (const suffix of ['', '.zh-CN']) {
        const dashboard = JSON.parse(files[`grafana/dashboards/${definition.uid}${suffix}.json`] as string);
        expect(dashboard).toMatchObject({ uid: `${definition.uid}${suffix ? '-zh' : ''}`, schemaVersion: expect.any(Number) });
        expect(dashboard.panels).toHaveLength(definition.panels.length);
        for (const panel of dashboard.panels) {
          expect(panel.gridPos).toMatchObject({
            w: expect.any(Number),
            h: expect.any(Number),
            x: expect.any(Number),
            y: expect.any(Number),
          });
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax
          expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
          expect(panel.targets.length).toBeGreaterThan(0);
          for (const target of panel.targets)
            expect(target).toMatchObject({ refId: expect.stringMatching(/^[A-H]$/), expr: expect.any(String) });
        }
      }
    }
    const business = JSON.parse(files['grafana/dashboards/smartalk-business.zh-CN.json'] as string);
    expect(business.panels.map((p: { title: string }) => p.title)).toEqual(
      expect.arrayContaining(['用户激活率趋势', '转化漏斗可视化', '用户反馈情绪分析', '学习效果统计']),
    );
    const activation = business.panels.find((p: { title: string }) => p.title === '用户激活率趋势');
    // The 40% target line of LowActivationRate.
    expect(activation.fieldConfig.defaults.thresholds.steps).toEqual([
      { value: null, color: 'red' },
      { value: 0.4, color: 'green' },
    ]);
  });
});

describe('every panel of every dashboard returns data from a real Prometheus', () => {
  it('scrapes a server under simulated load and runs each panel query through the HTTP API', async (context) => {
    requireBinaries(context, 'the dashboards are proven against a real Prometheus', 'prometheus');
    // The edge's access log, for smartalk_cdn_cache_hit_ratio: a few video lookups this hour.
    const edgeLog = path.join(dir, 'access.log');
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    writeFileSync(
      edgeLog,
      `${[3, 2, 1].map((m, i) => `10.0.0.1 [${at(m)}] "GET /videos/sample.mp4 HTTP/1.1" 200 100 rt=0.001 cache=${i ? 'HIT' : 'MISS'}`).join('\n')}\n`,
    );
    server = await startTestServer({ env: { CDN_ACCESS_LOG: edgeLog } });
    const token = server.opsToken;
    // A population, a backup and a drill: every series a panel reads exists.
    const simulated = await smartalkAsync(['simulate', '--users', '40', '--days', '8', '--seed', '5', '--url', server.url], {
      OPS_TOKEN: token,
      DATA_DIR: server.database.dataDir,
    });
    expect(simulated.status, simulated.stderr).toBe(0);
    expect((await api(server.url, '/api/v1/ops/backups', { method: 'POST', body: {}, token })).body.status).toBe('success');
    expect((await api(server.url, '/api/v1/ops/backups/verify', { method: 'POST', body: {}, token })).body.status).toBe(
      'success',
    );

    // Feedback in the 7 days before the window (the simulator writes its feedback now), so
    // the sentiment panel's baseline has something to divide.
    const learner = await createLearner(server.url, 'monitoring-baseline-0001');
    for (const [text, rating] of [
      ['视频加载太慢了', 2],
      ['Great stories, I understood everything', 5],
      ['字幕很清楚', 4],
    ] as const) {
      await server.runtime.feedback.submit(
        learner.userId,
        { type: 'overall_experience', text, rating },
        new Date(Date.now() - 10 * 86_400_000),
      );
    }
    // The gauges read reports cached for 30 s: start Prometheus on fresh ones.
    server.runtime.reports.metrics.invalidate();
    server.runtime.reports.feedback.invalidate();
    const port = await freePort();
    const config = prometheusConfig({
      app: [new URL(server.url).host],
      edge: [],
      rulesFile: path.join(dir, 'rules.yml'),
      alertmanager: '127.0.0.1:9',
      scrapeInterval: '1s',
    });
    writeFileSync(path.join(dir, 'rules.yml'), monitoringFiles()['prometheus/rules/smartalk.yml'] as string);
    writeFileSync(path.join(dir, 'prom.yml'), config);
    prometheus = spawn(
      findBinary('prometheus') as string,
      [
        `--config.file=${path.join(dir, 'prom.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const prom = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${prom}/-/ready`)).ok, 30_000, 'prometheus');

    // Traffic while Prometheus scrapes, so rates over the window have something to divide.
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        await Promise.all([fetch(`${server?.url}/api/v1/interests`), fetch(`${server?.url}/api/v1/health`)]);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const query = async (expr: string) => {
      const response = await fetch(`${prom}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: Array<{ value: [number, string] }> };
      };
      return body;
    };
    try {
      // A few scrapes: rate() needs two samples in its window.
      await waitFor(
        async () => ((await query('sum_over_time(up{job="smartalk"}[1m]) > 4')).data?.result.length ?? 0) > 0,
        30_000,
        'five scrapes',
      );
      const empty: string[] = [];
      for (const dashboard of DASHBOARDS) {
        for (const panel of dashboard.panels) {
          for (const target of panel.queries) {
            const result = await query(target.expr);
            const values = (result.data?.result ?? []).map((sample) => Number(sample.value[1]));
            if (result.status !== 'success' || values.length === 0 || values.some((v) => !Number.isFinite(v))) {
              empty.push(
                `${dashboard.uid} / ${panel.title.en} / ${target.legend}: ${result.error ?? JSON.stringify(result.data?.result)}`,
              );
            }
          }
        }
      }
      expect(empty, 'panels whose query returned nothing, NaN or an error').toEqual([]);
    } finally {
      stop = true;
      await traffic;
    }
  });
});
