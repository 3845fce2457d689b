/**
 * Where the learning actions' own events go (learning/journey-events.ts): the event store,
 * inside the action's transaction, with the same statement as ingestion — so they dedupe,
 * fold into the funnel and the rollups, and activate, exactly like a client's events.
 */
import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import { type JourneyEventSink, journeyEventId } from '../learning/journey-events.js';
import { type SubjectEvent, storeEventsIn } from './event-store.js';

/** user_activated_total: one counter for the activations of ingested events and of the learning actions. */
export function activationCounter(registry: Registry): Counter {
  return new Counter({
    name: 'user_activated_total',
    help: 'Learners whose first magic moment (activation) was recorded by this instance (ingested or done through the API).',
    registers: [registry],
  });
}

export function journeyEventSink(deps: { db: Db; tz: string; activations: Counter }): JourneyEventSink {
  return {
    async record(q: Kysely<Database>, userId: string, events) {
      if (events.length === 0) return { activated: false };
      const rows: SubjectEvent[] = events.map((event, index) => {
        const propertiesJson = JSON.stringify(event.properties);
        return {
          index,
          id: journeyEventId(userId, event.name, event.scope),
          name: event.name,
          rawName: event.name,
          userId,
          deviceId: undefined,
          sessionId: undefined,
          timestamp: event.at,
          timestampText: event.at.toISOString(),
          appVersion: undefined,
          platform: undefined,
          properties: event.properties,
          propertiesJson,
          sentByOps: false,
          subject: userId,
        };
      });
      const { newlyActivated } = await storeEventsIn(q, deps.db, deps.tz, rows);
      return { activated: newlyActivated.includes(userId) };
    },
    // Counted once the action commits: a transaction that rolls back activated no one.
    activated: () => deps.activations.inc(),
  };
}
