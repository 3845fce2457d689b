/**
 * The built-in evaluator: the same catalog, evaluated in process against the
 * server's own numbers, so the embedded default alerts without Prometheus.
 *
 * Each rule's condition is read every round; true for its whole `for` → firing
 * (opened in the alert store, which escalates and notifies); false on two rounds in
 * a row → resolved (hysteresis, so a flapping value does not page on every swing).
 * One instance evaluates: the one holding a PostgreSQL advisory lock for its lifetime.
 *
 * Not evaluated here: ServiceDown (a server cannot report its own death — that is
 * `smartalk ops watch`), and CdnHitRateLow (its series comes from the edge's log, for
 * Prometheus).
 */
import os from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import { enoughNewUsersToCompare } from '../../analytics/definitions.js';
import type { MetricsReport } from '../../analytics/report.js';
import type { Cached } from '../../cached.js';
import type { Db } from '../../db/database.js';
import type { FeedbackReport } from '../../feedback/report.js';
import { HTTP_BUCKETS, type HttpRequestMetrics } from '../../http/metrics.js';
import type { BackupStatus } from '../backups/status.js';
import type { HealthService } from '../health/health.js';
import { type AlertRule, RULES, type RuleId, thresholdsOf, type ValueFormat } from './catalog.js';
import { durationMs } from './config.js';
import { type AlertService, fingerprintOf } from './service.js';

export interface EvaluatorInputs {
  health: Pick<HealthService, 'check'>;
  http: Pick<HttpRequestMetrics, 'snapshot'>;
  metricsReport: Pick<Cached<MetricsReport>, 'get'>;
  feedbackReport: Pick<Cached<FeedbackReport>, 'get'>;
  /** The job log's view of the backups (BackupStale, BackupFailed). */
  backups?: () => Promise<BackupStatus>;
}

/** A rule's reading: which label sets are over the threshold, with their values. */
type Reading = Array<{ labels: Record<string, string>; value: number; breached: boolean }>;

interface Sample {
  at: number;
  total: number;
  errors: number;
  buckets: number[];
}

interface State {
  pendingSince: number | undefined;
  firing: boolean;
  quietRounds: number;
}

const WINDOW_MS = 5 * 60_000;
/** The advisory lock the evaluating instance holds (any constant shared by all instances). */
const EVALUATOR_LOCK_ID = 7366172;
/** Rounds in a row a firing condition must be false before it resolves. */
const RESOLVE_AFTER_ROUNDS = 2;

export function formatValue(value: number, format: ValueFormat): string {
  if (format === 'percentage') return `${+(value * 100).toFixed(2)}%`;
  if (format === 'seconds') return `${+value.toFixed(3)}s`;
  if (format === 'duration') return `${Math.round(value / 60)}m`;
  return String(+value.toFixed(4));
}

/** Prometheus's histogram_quantile over cumulative bucket counts (linear within a bucket). */
export function histogramQuantile(q: number, cumulative: number[], bounds: number[]): number | undefined {
  const total = cumulative.at(-1) ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < cumulative.length; i++) {
    if ((cumulative[i] as number) >= rank) {
      if (i >= bounds.length) return bounds.at(-1);
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const below = i === 0 ? 0 : (cumulative[i - 1] as number);
      const inBucket = (cumulative[i] as number) - below;
      return lower + ((bounds[i] as number) - lower) * (inBucket === 0 ? 0 : (rank - below) / inBucket);
    }
  }
  return bounds.at(-1);
}

export class BuiltinEvaluator {
  readonly #states = new Map<string, State>();
  /** Request counters over time, for rates over the last 5 minutes. */
  readonly #samples: Sample[] = [];
  readonly #instance = os.hostname();
  #leader: pg.PoolClient | 'pglite' | undefined;
  #seeded = false;

  constructor(
    private readonly deps: {
      db: Db;
      alerts: AlertService;
      inputs: EvaluatorInputs;
      logger: Logger;
      thresholds?: Record<string, Record<string, number>>;
      now?: () => Date;
    },
  ) {}

  /** Hold the evaluation lock (PostgreSQL: a session advisory lock on a dedicated connection). */
  async #isLeader(): Promise<boolean> {
    if (this.#leader) return true;
    const { db } = this.deps;
    if (!db.pool) {
      this.#leader = 'pglite';
      return true;
    }
    const client = await db.pool.connect();
    try {
      const result = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [EVALUATOR_LOCK_ID]);
      if (result.rows[0]?.locked) {
        client.on('error', () => {
          // The connection died: the lock went with it; try again next round.
          this.#leader = undefined;
        });
        this.#leader = client;
        this.deps.logger.info('this instance evaluates the built-in alert rules');
        return true;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    client.release();
    return false;
  }

  async close(): Promise<void> {
    const leader = this.#leader;
    this.#leader = undefined;
    if (!leader || leader === 'pglite') return;
    // Unlock before letting the connection go: a closing backend frees its locks only
    // once it has exited, and the next leader should not have to wait for that.
    await leader.query('SELECT pg_advisory_unlock($1)', [EVALUATOR_LOCK_ID]).catch(() => {});
    leader.release(true);
  }

  #thresholds(rule: AlertRule) {
    return thresholdsOf(rule, this.deps.thresholds);
  }

  /** Read every rule once. */
  async #read(now: number): Promise<Map<RuleId, Reading>> {
    const { inputs } = this.deps;
    const snapshot = inputs.http.snapshot();
    this.#samples.push({ at: now, ...snapshot });
    while (this.#samples.length > 2 && (this.#samples[1] as { at: number }).at <= now - WINDOW_MS) this.#samples.shift();
    const oldest = this.#samples[0] as Sample;
    const health = await inputs.health.check();
    const readings = new Map<RuleId, Reading>();
    const t = (id: RuleId) => this.#thresholds(RULES.find((r) => r.id === id) as AlertRule);
    const instance = { instance: this.#instance };
    const gauge = (id: RuleId, value: unknown, breached: (v: number) => boolean) => {
      if (typeof value === 'number' && Number.isFinite(value))
        readings.set(id, [{ labels: instance, value, breached: breached(value) }]);
    };

    readings.set('DatabaseDown', [
      {
        labels: instance,
        value: health.checks.database.status === 'down' ? 0 : 1,
        breached: health.checks.database.status === 'down',
      },
    ]);
    gauge('HighCpu', health.checks.cpu.usedRatio, (v) => v > (t('HighCpu').ratio as number));
    gauge('HighMemory', health.checks.memory.usedRatio, (v) => v > (t('HighMemory').ratio as number));
    gauge('LowDiskSpace', health.checks.disk.freeRatio, (v) => v < (t('LowDiskSpace').ratio as number));
    gauge('DbConnectionsHigh', health.checks.database.connectionsUsedRatio, (v) => v > (t('DbConnectionsHigh').ratio as number));

    // Rates over the samples of the last 5 minutes (the rule's [5m] window).
    const requests = snapshot.total - oldest.total;
    if (requests > 0) {
      const errorRatio = (snapshot.errors - oldest.errors) / requests;
      readings.set('HighErrorRate', [
        { labels: {}, value: errorRatio, breached: errorRatio > (t('HighErrorRate').ratio as number) },
      ]);
      const p95 = histogramQuantile(
        0.95,
        snapshot.buckets.map((count, i) => count - (oldest.buckets[i] ?? 0)),
        HTTP_BUCKETS,
      );
      if (p95 !== undefined)
        readings.set('SlowApi', [{ labels: {}, value: p95, breached: p95 > (t('SlowApi').seconds as number) }]);
    }

    try {
      const report = await inputs.metricsReport.get();
      const rate = report.activation.rate;
      const baseline = report.baseline.activationRate;
      // The PromQL's `smartalk_new_users >= N and smartalk_baseline_new_users >= N`.
      const enoughNewUsers = (min: number) => enoughNewUsersToCompare(report, min);
      const drop = t('ActivationRateDrop');
      if (rate !== null && baseline !== null) {
        readings.set('ActivationRateDrop', [
          {
            labels: {},
            value: rate,
            breached: rate < (drop.factor as number) * baseline && enoughNewUsers(drop.minNewUsers as number),
          },
        ]);
      }
      if (rate !== null) {
        const low = t('LowActivationRate');
        readings.set('LowActivationRate', [
          { labels: {}, value: rate, breached: rate < (low.ratio as number) && report.newUsers >= (low.minNewUsers as number) },
        ]);
      }
      const steps: Reading = [];
      const stepDrop = t('FunnelStepDrop');
      for (const step of report.funnel) {
        const before = report.baseline.funnel.find((b) => b.step === step.step)?.stepConversion ?? null;
        if (step.stepConversion === null || before === null) continue;
        steps.push({
          labels: { step: String(step.step) },
          value: step.stepConversion,
          breached: step.stepConversion < (stepDrop.factor as number) * before && enoughNewUsers(stepDrop.minNewUsers as number),
        });
      }
      readings.set('FunnelStepDrop', steps);
    } catch (error) {
      this.deps.logger.warn({ err: { message: (error as Error).message } }, 'metrics report unavailable for alert evaluation');
    }
    try {
      const report = await inputs.feedbackReport.get();
      const share = report.sentiment.negativeShare;
      const baseline = report.baseline.negativeShare;
      const rule = t('NegativeFeedbackRising');
      if (share !== null && baseline !== null) {
        readings.set('NegativeFeedbackRising', [
          {
            labels: {},
            value: share,
            breached: share > (rule.factor as number) * baseline && report.totals.items >= (rule.minItems as number),
          },
        ]);
      }
    } catch (error) {
      this.deps.logger.warn({ err: { message: (error as Error).message } }, 'feedback report unavailable for alert evaluation');
    }
    if (inputs.backups) {
      try {
        const backups = await inputs.backups();
        if (backups.lastStatus) gauge('BackupFailed', backups.lastStatus === 'failed' ? 1 : 0, (v) => v === 1);
        // Age of the last good backup; with none at all, nothing to say yet (as in Prometheus: no series).
        if (backups.lastSuccess) {
          gauge(
            'BackupStale',
            (now - backups.lastSuccess.getTime()) / 1000,
            (v) => v > (t('BackupStale').hours as number) * 3600,
          );
        }
      } catch (error) {
        this.deps.logger.warn({ err: { message: (error as Error).message } }, 'backup status unavailable for alert evaluation');
      }
    }
    return readings;
  }

  /** One round: read, advance every state, fire and resolve. Returns what changed. */
  async evaluate(): Promise<{ fired: string[]; resolved: string[] } | undefined> {
    if (!(await this.#isLeader())) return undefined;
    const now = (this.deps.now?.() ?? new Date()).getTime();
    if (!this.#seeded) {
      // Alerts this evaluator opened before a restart are still its to resolve.
      for (const alert of await this.deps.alerts.list({ open: true, limit: 500 })) {
        if (alert.source === 'builtin')
          this.#states.set(alert.fingerprint, { pendingSince: alert.startedAt.getTime(), firing: true, quietRounds: 0 });
      }
      this.#seeded = true;
    }
    const readings = await this.#read(now);
    const fired: string[] = [];
    const resolved: string[] = [];
    for (const rule of RULES) {
      const reading = readings.get(rule.id);
      if (!reading) continue;
      const thresholds = this.#thresholds(rule);
      const seen = new Set<string>();
      for (const { labels, value, breached } of reading) {
        const fingerprint = fingerprintOf(rule.id, labels);
        seen.add(fingerprint);
        const state = this.#states.get(fingerprint) ?? { pendingSince: undefined, firing: false, quietRounds: 0 };
        this.#states.set(fingerprint, state);
        if (breached) {
          state.quietRounds = 0;
          state.pendingSince ??= now;
          if (state.firing || now - state.pendingSince >= durationMs(rule.for)) {
            const { created } = await this.deps.alerts.fire(
              {
                ruleId: rule.id,
                severity: rule.severity,
                source: 'builtin',
                labels,
                summary: rule.summary.en,
                summaryZh: rule.summary.zh,
                description: fill(rule.description.en, rule, thresholds, value, labels),
                descriptionZh: fill(rule.description.zh, rule, thresholds, value, labels),
                value: formatValue(value, rule.valueFormat),
                threshold: rule.threshold(thresholds),
                runbook: rule.runbook,
                startedAt: new Date(state.pendingSince),
              },
              new Date(now),
            );
            state.firing = true;
            if (created) fired.push(rule.id);
          }
        } else {
          state.pendingSince = undefined;
          if (state.firing && ++state.quietRounds >= RESOLVE_AFTER_ROUNDS) {
            if (await this.deps.alerts.resolve({ fingerprint }, 'builtin evaluator', new Date(now))) resolved.push(rule.id);
            this.#states.delete(fingerprint);
          }
        }
      }
      // A firing label set that is no longer read at all counts as quiet too.
      for (const [fingerprint, state] of this.#states) {
        if (!fingerprint.startsWith(`${rule.id}:`) || seen.has(fingerprint) || !state.firing) continue;
        if (++state.quietRounds >= RESOLVE_AFTER_ROUNDS) {
          if (await this.deps.alerts.resolve({ fingerprint }, 'builtin evaluator', new Date(now))) resolved.push(rule.id);
          this.#states.delete(fingerprint);
        }
      }
    }
    return { fired, resolved };
  }
}

function fill(
  text: string,
  rule: AlertRule,
  thresholds: Record<string, number>,
  value: number,
  labels: Record<string, string>,
): string {
  return text
    .replaceAll('{{value}}', formatValue(value, rule.valueFormat))
    .replaceAll('{{threshold}}', rule.threshold(thresholds))
    .replaceAll('{{instance}}', labels.instance ?? os.hostname())
    .replaceAll('{{step}}', labels.step ?? '');
}
