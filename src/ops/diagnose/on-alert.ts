/**
 * Robusta-style playbooks: when a critical alert fires, the platform runs the runbook's
 * diagnosis for it at once, so the engineer who is paged reads the findings with the
 * page instead of typing the commands under pressure.
 */
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { RuleId } from '../alerts/catalog.js';
import type { AlertDiagnosis, AlertView } from '../alerts/messages.js';
import { runDiagnosis, type Scenario } from './diagnosis.js';
import { assembleDiagnoseDeps, SCENARIO_DEFINITIONS } from './scenarios.js';

/** Which scenario answers which alert. */
export const DIAGNOSIS_FOR: Partial<Record<RuleId, Scenario>> = {
  ServiceDown: 'app-down',
  DatabaseDown: 'db',
  HighErrorRate: 'app-down',
  ActivationRateDrop: 'activation-drop',
};

/** The instance an alert is about, as a URL (Prometheus's `instance` label is host:port). */
function urlOf(alert: AlertView, fallback: string): string {
  const instance = alert.labels.instance;
  return instance && /^[\w.-]+:\d+$/.test(instance) ? `http://${instance}` : fallback;
}

export function diagnoseAlerts(config: Config, db: Db): (alert: AlertView) => Promise<AlertDiagnosis | undefined> {
  return async (alert) => {
    const scenario = DIAGNOSIS_FOR[alert.ruleId as RuleId];
    const definition = scenario ? SCENARIO_DEFINITIONS[scenario] : undefined;
    if (!scenario || !definition) return undefined;
    const deps = await assembleDiagnoseDeps(config, { url: urlOf(alert, config.publicUrl), db });
    const diagnosis = await runDiagnosis(definition, deps, { lang: config.lang });
    return {
      scenario,
      worst: diagnosis.worst,
      at: diagnosis.finishedAt,
      findings: diagnosis.findings.map((f) => ({ id: f.id, status: f.status, summary: f.summary })),
    };
  };
}
