/** The four scenarios of the runbook's 故障排除, and what a diagnosis needs, assembled from the config. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Presence } from '../../analytics/presence.js';
import { buildMetricsReport } from '../../analytics/report.js';
import type { Config } from '../../config.js';
import { type Db, openDb } from '../../db/database.js';
import { buildFeedbackReport } from '../../feedback/report.js';
import { MemoryStore } from '../../store/memory-store.js';
import { loadAlertsConfig } from '../alerts/config.js';
import { readOpsToken } from '../ops-token.js';
import { OpsRequestError, opsRequest, readLiveServer } from '../server-link.js';
import { activationDropScenario } from './activation-drop.js';
import { appDownScenario } from './app-down.js';
import { databaseScenario } from './database.js';
import type { DiagnoseDeps, Scenario, ScenarioDefinition } from './diagnosis.js';
import { videoScenario } from './video.js';

export const SCENARIO_DEFINITIONS: Partial<Record<Scenario, ScenarioDefinition>> = {
  'app-down': appDownScenario,
  db: databaseScenario,
  video: videoScenario,
  'activation-drop': activationDropScenario,
};

/** The server a diagnosis looks at: the one asked for, else the one running from this DATA_DIR, else HOST:PORT. */
export function serverUrlOf(config: Config, url?: string): string {
  if (url) return url.replace(/\/+$/, '');
  const live = readLiveServer(config.dataDir);
  if (live) return live.url;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

export async function assembleDiagnoseDeps(
  config: Config,
  options: {
    url?: string | undefined;
    fix?: boolean | undefined;
    terminateIdleSeconds?: number | undefined;
    /** The server's own database, when the server diagnoses itself (never a second PGlite). */
    db?: Db | undefined;
  },
): Promise<DiagnoseDeps> {
  const url = serverUrlOf(config, options.url);
  const token = await readOpsToken(config).catch(() => undefined);
  // A broken alerts file must not stop a diagnosis: it only loses the vendor line.
  const alerts = await loadAlertsConfig(config.alertsConfig).catch(() => undefined);
  const call: DiagnoseDeps['call'] = token ? (route, init) => opsRequest(url, route, token, init) : undefined;
  const own = options.db;
  const open = async (): Promise<Db> => {
    if (own) return { ...own, pool: own.pool, close: async () => {} };
    // A diagnosis must not create an empty embedded database where none was.
    if (!config.databaseUrl && !existsSync(path.join(config.dataDir, 'pglite'))) {
      throw new Error(`no embedded database at ${path.join(config.dataDir, 'pglite')} (is DATA_DIR right?)`);
    }
    return openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 2 });
  };
  /** A report from the server when it answers (it holds an embedded database), else made here. */
  const report = async <T>(route: string, query: Record<string, string>, local: (db: Db) => Promise<T>): Promise<T> => {
    if (call && !own) {
      try {
        return await call<T>(`${route}?${new URLSearchParams(query)}`);
      } catch (error) {
        if (error instanceof OpsRequestError) throw error; // it answered, and said no
      }
    }
    const db = await open();
    try {
      return await local(db);
    } finally {
      await db.close();
    }
  };
  return {
    config,
    url,
    call,
    openDb: open,
    reports: {
      metrics: ({ since, until, breakdown }) =>
        report(
          '/api/v1/ops/metrics-report',
          { since: since.toISOString(), until: until.toISOString(), ...(breakdown ? { breakdown } : {}) },
          (db) =>
            buildMetricsReport(
              { db, presence: new Presence(new MemoryStore()), tz: config.tz },
              { since, until, ...(breakdown ? { breakdown } : {}) },
            ),
        ),
      feedback: ({ since, until }) =>
        report('/api/v1/ops/feedback-report', { since: since.toISOString(), until: until.toISOString() }, (db) =>
          buildFeedbackReport({ db, tz: config.tz }, { since, until }),
        ),
    },
    thresholds: alerts?.thresholds ?? {},
    vendors: alerts?.vendors ?? {},
    fix: options.fix ?? false,
    terminateIdleSeconds: options.terminateIdleSeconds,
    found: new Map(),
    fixes: [],
  };
}
