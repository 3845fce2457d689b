/**
 * Everything a running server holds, opened in order and closed in reverse:
 * database (migrated, partitioned, seeded on first run), store, app.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { DEFINITION_SETTINGS } from '../analytics/definitions.js';
import { assertDefinitionWindows } from '../analytics/report-queries.js';
import type { Config } from '../config.js';
import { type Db, openDb } from '../db/database.js';
import { migrate } from '../db/migrator.js';
import { ensureEventPartitions } from '../db/partitions.js';
import { openReadRouting } from '../db/replica.js';
import { keepPrivate } from '../files.js';
import { isSeeded, seedContent } from '../learning/seed.js';
import { loadAlertsConfig } from '../ops/alerts/config.js';
import { AlertService } from '../ops/alerts/service.js';
import { resolveOpsToken } from '../ops/ops-token.js';
import { addOpsLogEntry, instanceActor } from '../ops/opslog/opslog.js';
import { openStore, type Store } from '../store/open-store.js';
import { VERSION } from '../version.js';
import { type App, buildApp } from './app.js';

export interface Runtime extends App {
  alerts: AlertService;
  config: Config;
  db: Db;
  store: Store;
  logger: Logger;
  opsToken: string;
  close(): Promise<void>;
}

/** Migrations each database had applied when it was opened (for the start-up's ops log line). */
const appliedAtStart = new WeakMap<Db, string[]>();

/** Open the database, apply migrations and make sure the events table has partitions. */
export async function openMigratedDb(config: Config, logger: Logger): Promise<Db> {
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onPoolError: (error) => logger.warn({ err: { message: error.message } }, 'database connection lost; the pool will reconnect'),
  });
  try {
    const { applied } = await migrate(db, { tz: config.tz, settings: DEFINITION_SETTINGS });
    for (const migration of applied) logger.info({ version: migration.version, name: migration.name }, 'migration applied');
    appliedAtStart.set(
      db,
      applied.map((migration) => `${String(migration.version).padStart(3, '0')}_${migration.name}`),
    );
    await assertDefinitionWindows(db);
    const partitions = await ensureEventPartitions(db, new Date());
    if (partitions.created.length > 0) logger.info({ partitions: partitions.created }, 'event partitions created');
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * DATA_DIR (the embedded database, content, the ops token) and the log file are the
 * owner's alone; wider permissions found on start-up are narrowed, with a warning.
 */
async function keepDataPrivate(config: Config, logger: Logger): Promise<void> {
  for (const [target, kind] of [
    [config.dataDir, 'dir'],
    [config.logFile, 'file'],
  ] as const) {
    const narrowed = await keepPrivate(target, kind);
    if (narrowed) logger.warn(narrowed);
  }
}

export async function startRuntime(config: Config, logger: Logger, options: { seed?: boolean } = {}): Promise<Runtime> {
  await keepDataPrivate(config, logger);
  const db = await openMigratedDb(config, logger);
  if ((options.seed ?? true) && !(await isSeeded(db))) {
    const counts = await seedContent(db);
    logger.info(counts, 'content seeded (first run)');
  }
  const store = openStore({
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    onStateChange: (up, error) => {
      if (up) logger.info('redis connected');
      else logger.warn({ err: { message: error?.message } }, 'redis unavailable; serving from per-instance memory');
    },
  });
  const { token: opsToken } = await resolveOpsToken(config, (warning) => logger.warn(warning));
  const alerts = new AlertService({
    db,
    config: await loadAlertsConfig(config.alertsConfig),
    logger,
    messages: { lang: config.lang, publicUrl: config.publicUrl, tz: config.tz },
  });
  const reads = await openReadRouting(db, {
    replicaUrl: config.databaseReplicaUrl,
    maxLagSeconds: config.replicaMaxLagSeconds,
    dataDir: config.dataDir,
    onStateChange: (status) => {
      if (status.state === 'ok') logger.info({ lagSeconds: status.lagSeconds }, 'reports read the replica');
      else logger.warn({ state: status.state, detail: status.detail }, 'reports read the primary');
    },
  });
  const app = await buildApp({ config, db, reads, store, logger, opsToken, alerts });
  return {
    ...app,
    config,
    db,
    store,
    logger,
    opsToken,
    alerts,
    close: async () => {
      await app.app.close();
      await store.close();
      await reads.close();
      await db.close();
    },
  };
}

/**
 * Once listening: the start-up goes into the ops log (version, address, migrations it
 * applied) and, unless CHECK_SCHEDULE=off, this instance joins the checklists'
 * schedule — running, once, any slot every instance missed.
 */
export async function announceStart(runtime: Runtime, address: string): Promise<void> {
  const { config, db, logger, scheduler } = runtime;
  const migrations = appliedAtStart.get(db) ?? [];
  await addOpsLogEntry(db.kysely, {
    kind: 'deploy',
    actor: instanceActor(`${os.hostname()}:${process.pid}`),
    summary: `SmarTalk ${VERSION} started at ${address} (${db.engine}, ${runtime.store.kind})${migrations.length ? `; migrations applied: ${migrations.join(', ')}` : ''}`,
    tags: ['start'],
    details: { version: VERSION, address, engine: db.engine, store: runtime.store.kind, migrations },
  }).catch((error: Error) => logger.warn({ err: { message: error.message } }, 'could not write the start-up to the ops log'));
  if (!config.checkSchedule) return;
  const caughtUp = await scheduler.start();
  for (const record of caughtUp) {
    logger.info({ job: record.job, slot: record.slot, catchUp: record.details.catchUp }, 'missed checklist slot run at start-up');
  }
}
