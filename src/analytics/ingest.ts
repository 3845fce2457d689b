/**
 * Event ingestion: validate each event, deduplicate by client id, store the new
 * ones and fold them into the derived state, atomically. The caller answers only
 * after the statement commits, so an acknowledged event is durable, and a retry
 * of the same ids is counted as duplicates, never twice.
 *
 * Storing goes through an EventWriter (event-writer.ts), which runs concurrent
 * requests as one statement; never a statement per event.
 */
import type { SubjectEvent } from './event-store.js';
import type { EventWriter } from './event-writer.js';
import { checkEvent, type IngestCaller, isRejected, type NormalizedEvent, type RejectedEvent } from './events.js';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: RejectedEvent[];
  receivedAt: string;
}

export interface IngestOutcome extends IngestResult {
  /** Events stored by this call (not duplicates), with their subject. */
  stored: SubjectEvent[];
  /** Subjects whose first magic moment arrived in this call: activations. */
  newlyActivated: string[];
}

export async function ingestEvents(
  writer: EventWriter,
  raw: unknown[],
  caller: IngestCaller,
  options: { now?: Date; checkText?: boolean } = {},
): Promise<IngestOutcome> {
  const now = options.now ?? new Date();
  const rejected: RejectedEvent[] = [];
  const valid: NormalizedEvent[] = [];
  raw.forEach((item, index) => {
    const result = checkEvent(item, index, caller, now, options.checkText ?? true);
    if (isRejected(result)) rejected.push(result);
    else valid.push(result);
  });
  const receivedAt = now.toISOString();
  if (valid.length === 0) return { accepted: 0, duplicates: 0, rejected, receivedAt, stored: [], newlyActivated: [] };

  const written = await writer.write(valid);
  for (const event of written.unknownUser) rejected.push({ index: event.index, id: event.id, reason: 'unknown user' });
  rejected.sort((a, b) => a.index - b.index);
  return {
    accepted: written.stored.length,
    duplicates: written.duplicates,
    rejected,
    receivedAt,
    stored: written.stored,
    newlyActivated: written.newlyActivated,
  };
}
