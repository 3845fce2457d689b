/**
 * `smartalk ops diagnose SCENARIO`: the runbook's 故障排除, run by the tool. A scenario is
 * steps in the runbook's order, each a check-like finding (status, evidence, the
 * runbook's remedy), run one after another so a later step can use what an earlier one
 * learned (an unreachable database skips its statistics). `--fix` applies only the safe
 * remedies a scenario offers, and the diagnosis says what each did.
 */

import type { MetricsReport } from '../../analytics/report.js';
import type { Breakdown } from '../../analytics/report-queries.js';
import type { Config, Lang } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { FeedbackReport } from '../../feedback/report.js';
import { say } from '../../i18n.js';
import type { ThresholdOverrides, VendorKind } from '../alerts/catalog.js';
import type { VendorContact } from '../alerts/config.js';
import { vendorLine } from '../alerts/messages.js';
import { type CheckContext, type CheckResult, type CheckStatus, runStep, type Step, worstOf } from '../checks/check.js';
import type { OpsCall } from '../server-link.js';

export const SCENARIOS = ['app-down', 'db', 'video', 'activation-drop'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Fix {
  /** What was done, in the caller's language. */
  action: string;
  ok: boolean;
  detail: string;
}

/** The reports a diagnosis reads: from the running server, or the database here. */
export interface DiagnosisReports {
  metrics(query: { since: Date; until: Date; breakdown?: Breakdown }): Promise<MetricsReport>;
  feedback(query: { since: Date; until: Date }): Promise<FeedbackReport>;
}

export interface DiagnoseDeps {
  config: Config;
  /** The server under diagnosis. */
  url: string;
  /** Its ops endpoints (undefined without a token); a call fails when it is down. */
  call: OpsCall | undefined;
  /** Open the database configured here (the caller closes it); throws what connecting threw. */
  openDb: () => Promise<Db>;
  vendors: Partial<Record<VendorKind, VendorContact>>;
  /** ALERTS_CONFIG's threshold overrides: a diagnosis judges as the alerts do. */
  thresholds: ThresholdOverrides;
  reports: DiagnosisReports;
  fix: boolean;
  /** Terminate sessions idle in a transaction for longer than this (asked for by name only). */
  terminateIdleSeconds?: number | undefined;
  /** What earlier steps learned, for later ones. */
  found: Map<string, unknown>;
  fixes: Fix[];
}

export interface ScenarioDefinition {
  id: Scenario;
  title: { en: string; zh: string };
  /** Whose number to call when the cause is theirs. */
  vendor?: VendorKind;
  steps: Step<DiagnoseDeps>[];
}

export interface Diagnosis {
  scenario: Scenario;
  title: string;
  url: string;
  startedAt: string;
  finishedAt: string;
  worst: CheckStatus;
  findings: CheckResult[];
  fixes: Fix[];
  /** The vendor contact (外部服务联系方式) for this scenario, when configured. */
  vendor: string | null;
}

/** A scenario's step, in the runbook's words. */
export const step = (
  id: string,
  title: Step<DiagnoseDeps>['title'],
  action: Step<DiagnoseDeps>['action'],
  run: Step<DiagnoseDeps>['run'],
): Step<DiagnoseDeps> => ({ id, title, action, run });

/** How long one step may take: the whole diagnosis must come back within seconds, not hang on a dead host. */
const STEP_TIMEOUT_MS = 8_000;

export async function runDiagnosis(
  scenario: ScenarioDefinition,
  deps: DiagnoseDeps,
  options: { lang: Lang; now?: () => Date },
): Promise<Diagnosis> {
  const clock = options.now ?? (() => new Date());
  const startedAt = clock();
  const t = (message: { en: string; zh: string }) => say(options.lang, message);
  const findings: CheckResult[] = [];
  for (const step of scenario.steps) {
    const context: CheckContext = { lang: options.lang, now: clock(), t, scheduled: false };
    findings.push(await runStep(step, deps, context, STEP_TIMEOUT_MS));
  }
  const vendor = scenario.vendor ? deps.vendors[scenario.vendor] : undefined;
  return {
    scenario: scenario.id,
    title: t(scenario.title),
    url: deps.url,
    startedAt: startedAt.toISOString(),
    finishedAt: clock().toISOString(),
    worst: worstOf(findings.map((finding) => finding.status)),
    findings,
    fixes: deps.fixes,
    vendor: vendor ? vendorLine(vendor) : null,
  };
}

/** The findings as an ops log entry's text and the alert notification's addendum. */
export function diagnosisSummary(diagnosis: Diagnosis): string {
  const problems = diagnosis.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  return problems.length === 0
    ? `${diagnosis.scenario}: nothing wrong found`
    : `${diagnosis.scenario}: ${problems.map((f) => `${f.id} ${f.status}: ${f.summary}`).join('; ')}`;
}
