/**
 * The analytics events the server records for what it does itself: an interest chosen,
 * vTPR learning started, each vTPR answer, focus and rescue mode, the first clue, all
 * clues of a drama, the magic moment, each spaced review. They are written in the same
 * transaction as the action (to an outbox the event store folds them from moments later),
 * so the funnel and activation are right for a client that sends nothing, and an action
 * that fails leaves no event behind.
 *
 * Learning sits below analytics (docs/architecture.md): it names the events and says
 * where they go through a JourneyEventSink, which the server wires to the event store.
 *
 * Ids are deterministic per learner and step (JOURNEY_EVENT_ID below), so an event a
 * client sends itself under the same id is a duplicate, never a second count.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export type JourneyEventName =
  | 'interest_selected'
  | 'vtpr_learning_started'
  | 'keyword_attempt'
  | 'focus_mode_triggered'
  | 'rescue_mode_triggered'
  | 'first_clue_completed'
  | 'all_clues_completed'
  | 'magic_moment_completed'
  | 'srs_card_reviewed';

export interface JourneyEvent {
  name: JourneyEventName;
  /** What makes this event one of its kind for the learner (see journeyEventId). */
  scope: string;
  at: Date;
  properties: Record<string, unknown>;
}

export interface JourneyEventSink {
  /** Write the events on `q`, the action's transaction: they exist if and only if it commits. */
  record(q: Kysely<Database>, userId: string, events: JourneyEvent[]): Promise<void>;
}

/** For tools that run the learning rules without analytics (nothing is recorded). */
export const NO_JOURNEY_EVENTS: JourneyEventSink = { record: async () => {} };

/**
 * The id of a journey event: a UUIDv8 (RFC 9562, "custom") made of the SHA-256 of
 * `userId:name:scope`, where scope is
 *   - interest_selected: the interest id
 *   - vtpr_learning_started, all_clues_completed, magic_moment_completed: the drama id
 *   - first_clue_completed: "first" (once per learner)
 *   - keyword_attempt, focus_mode_triggered, rescue_mode_triggered: `keywordId:n`, n the
 *     attempt's number on that keyword (the `attempts` the attempt's answer returns)
 *   - srs_card_reviewed: `keywordId:review:n`, n the review's number (`reviews` in its answer)
 * docs/metrics.md shows a client how to compute it, for a client that reports these
 * events itself as well: sent with this id, the server's copy and the client's are one.
 */
export function journeyEventId(userId: string, name: string, scope: string): string {
  const hex = createHash('sha256').update(`${userId}:${name}:${scope}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
