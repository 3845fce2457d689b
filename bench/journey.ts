/**
 * What recording the journey's own analytics events costs a vTPR answer: recordAttempt
 * writing keyword_attempt (and the rest) to the outbox in the answer's transaction, the
 * outbox folded into the event store beside the answers as the server does (a round ends
 * when the last event is folded), next to the same answers with nothing recorded (the code before the server recorded
 * them), in one run. Learners answer concurrently (8 at a time, like a busy instance);
 * interleaved pairs, medians of the per-pair figures.
 *
 *   BENCH_FOLD_DELAY=ms: fold that long after an answer writes (the server's default otherwise)
 *
 *   npm run bench -- journey                                  # embedded PGlite
 *   BENCH_DATABASE_URL=postgres://… npm run bench -- journey  # a scratch database there
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Registry } from 'prom-client';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { activationCounter, JourneyOutbox } from '../src/analytics/journey-sink.js';
import { openDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { loadCatalog } from '../src/learning/content.js';
import { type JourneyEventSink, NO_JOURNEY_EVENTS } from '../src/learning/journey-events.js';
import { type LearningDeps, recordAttempt } from '../src/learning/progress.js';
import { catalogRows, seedContent } from '../src/learning/seed.js';
import { registerDevice } from '../src/learning/users.js';
import { machine, median, quantile, table } from './lib.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 5);
const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 8);
const DATABASE = 'smartalk_bench_journey';

export async function runJourneyBench(): Promise<string> {
  const adminUrl = process.env.BENCH_DATABASE_URL;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smartalk-bench-journey-'));
  let databaseUrl: string | undefined;
  if (adminUrl) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${DATABASE}`;
    databaseUrl = url.toString();
  }
  const db = await openDb({ databaseUrl, dataDir });
  try {
    await migrate(db, { tz: 'Asia/Shanghai', settings: DEFINITION_SETTINGS });
    await seedContent(db);
    const catalog = await loadCatalog(db, dataDir);
    const rows = catalogRows();
    // Every drama's keywords, and for each a right and a wrong clip: a learner answers
    // wrong, then right, clue after clue, through all six dramas' first chapters' clues.
    const keywords = rows.keywords.filter((k) => String(k.drama_id).endsWith('-01')).map((k) => k.id as string);
    const clip = (keywordId: string, right: boolean) =>
      catalog.clipsByKeyword.get(keywordId)?.find((c) => c.is_correct === right)?.id as string;
    // As the server runs it: the events go to the outbox with each answer, and are folded
    // into the event store beside the answers (a round ends when the last one is folded).
    const recorded = new JourneyOutbox(
      { db, tz: 'Asia/Shanghai', activations: activationCounter(new Registry()) },
      process.env.BENCH_FOLD_DELAY ? { delayMs: Number(process.env.BENCH_FOLD_DELAY) } : {},
    );
    recorded.start();

    /** LEARNERS new learners answering every clue (one error first): per-answer latencies and answers/s. */
    const round = async (events: JourneyEventSink) => {
      const deps: LearningDeps = { db, catalog, events };
      const learners = await Promise.all(
        Array.from({ length: LEARNERS }, (_, i) =>
          registerDevice(db, { deviceId: `bench-${Date.now()}-${i}-${Math.random().toString(36).slice(2)}` }),
        ),
      );
      const timings: number[] = [];
      const started = performance.now();
      await Promise.all(
        learners.map(async (learner) => {
          for (const keywordId of keywords) {
            for (const right of [false, true]) {
              const t0 = performance.now();
              await recordAttempt(deps, learner.userId, keywordId, { selectedClipId: clip(keywordId, right) }, new Date());
              timings.push(performance.now() - t0);
            }
          }
        }),
      );
      if (events === recorded) await recorded.drain();
      const seconds = (performance.now() - started) / 1000;
      timings.sort((a, b) => a - b);
      return { perSecond: timings.length / seconds, p50: quantile(timings, 0.5), p99: quantile(timings, 0.99) };
    };

    await round(recorded); // warm-up: JIT, plans, pool
    await round(NO_JOURNEY_EVENTS);
    const pairs: Array<{ with: Awaited<ReturnType<typeof round>>; without: Awaited<ReturnType<typeof round>> }> = [];
    for (let i = 0; i < PAIRS; i++) {
      // Alternate which goes first: the machine's speed drifts within a run.
      if (i % 2 === 0) pairs.push({ without: await round(NO_JOURNEY_EVENTS), with: await round(recorded) });
      else {
        const withEvents = await round(recorded);
        pairs.push({ with: withEvents, without: await round(NO_JOURNEY_EVENTS) });
      }
    }
    const fmt = (n: number, digits = 1) => n.toFixed(digits);
    const m = (pick: (p: (typeof pairs)[number]) => number) => median(pairs.map(pick));
    await recorded.stop();
    return [
      `### vTPR answers with their events recorded (outbox in the answer's transaction, folded beside; ${databaseUrl ? 'PostgreSQL' : 'PGlite'}, ${LEARNERS} learners at once, ${PAIRS} pairs; ${machine()})`,
      '',
      table(
        ['', 'answers/s', 'p50 ms', 'p99 ms'],
        [
          [
            'nothing recorded (baseline)',
            fmt(
              m((p) => p.without.perSecond),
              0,
            ),
            fmt(
              m((p) => p.without.p50),
              2,
            ),
            fmt(
              m((p) => p.without.p99),
              2,
            ),
          ],
          [
            'events recorded',
            fmt(
              m((p) => p.with.perSecond),
              0,
            ),
            fmt(
              m((p) => p.with.p50),
              2,
            ),
            fmt(
              m((p) => p.with.p99),
              2,
            ),
          ],
          [
            'added (median of pairs)',
            `×${fmt(
              m((p) => p.with.perSecond / p.without.perSecond),
              2,
            )}`,
            `+${fmt(
              m((p) => p.with.p50 - p.without.p50),
              2,
            )}`,
            `+${fmt(
              m((p) => p.with.p99 - p.without.p99),
              2,
            )}`,
          ],
        ],
      ),
    ].join('\n');
  } finally {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
