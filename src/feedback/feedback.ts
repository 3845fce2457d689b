/**
 * Learners' feedback: scored on arrival (sentiment, label, themes, urgency), stored
 * durably, announced as a `feedback_submitted` analytics event, and — when urgent —
 * handed to whoever listens (the log at once; alerting when it is wired in).
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Database } from '../db/schema.js';
import type { EmotionId } from '../learning/emotions.js';
import { type ItemSentiment, labelOf, type SentimentAnalyzer, type SentimentLabel, type Theme } from './sentiment.js';

export const FEEDBACK_TYPES = ['magic_moment', 'overall_experience', 'bug_report', 'feature_request'] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];

/** Longest text accepted (characters). */
export const MAX_FEEDBACK_TEXT = 2000;

export interface FeedbackContext {
  screen?: string;
  completedSteps?: string[];
  sessionDurationSeconds?: number;
  errorCode?: string;
  appVersion?: string;
  platform?: string;
}

export interface FeedbackInput {
  type: FeedbackType;
  rating?: number;
  emotion?: EmotionId;
  text?: string;
  context?: FeedbackContext;
}

export interface StoredFeedback {
  id: string;
  userId: string;
  type: FeedbackType;
  rating: number | null;
  emotion: EmotionId | null;
  text: string | null;
  context: FeedbackContext;
  sentiment: number;
  label: SentimentLabel;
  themes: Theme[];
  urgent: boolean;
  urgentReasons: string[];
  createdAt: Date;
}

/** Told about every urgent item right after it is stored (no text: callers log it). */
export type UrgentListener = (item: StoredFeedback) => void;

/** UTC hour holding `at`: the rollups' bucket. */
export const hourOf = (at: Date) => new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);

/** Count one item into the hourly rollups (same transaction as the item). */
async function addToRollups(
  trx: Kysely<Database>,
  item: {
    createdAt: Date;
    type: string;
    emotion?: string | undefined;
    text?: string | undefined;
    rating?: number | undefined;
    scored: ItemSentiment;
  },
): Promise<void> {
  const hour = hourOf(item.createdAt);
  await trx
    .insertInto('feedback_hourly')
    .values({
      hour,
      type: item.type,
      label: item.scored.label,
      emotion: item.emotion ?? '',
      items: 1,
      with_text: item.text?.trim() ? 1 : 0,
      ratings: item.rating === undefined ? 0 : 1,
      rating_sum: item.rating ?? 0,
      sentiment_sum: item.scored.score,
      urgent: item.scored.urgent ? 1 : 0,
    })
    .onConflict((oc) =>
      oc.columns(['hour', 'type', 'label', 'emotion']).doUpdateSet({
        items: sql`feedback_hourly.items + 1`,
        with_text: sql`feedback_hourly.with_text + excluded.with_text`,
        ratings: sql`feedback_hourly.ratings + excluded.ratings`,
        rating_sum: sql`feedback_hourly.rating_sum + excluded.rating_sum`,
        sentiment_sum: sql`feedback_hourly.sentiment_sum + excluded.sentiment_sum`,
        urgent: sql`feedback_hourly.urgent + excluded.urgent`,
      }),
    )
    .execute();
  if (item.scored.themes.length === 0) return;
  await trx
    .insertInto('feedback_theme_hourly')
    .values(item.scored.themes.map((theme) => ({ hour, theme, label: item.scored.label, items: 1 })))
    .onConflict((oc) => oc.columns(['hour', 'theme', 'label']).doUpdateSet({ items: sql`feedback_theme_hourly.items + 1` }))
    .execute();
}

export class FeedbackService {
  readonly #urgentListeners: UrgentListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly analyzer: SentimentAnalyzer,
  ) {}

  onUrgent(listener: UrgentListener): void {
    this.#urgentListeners.push(listener);
  }

  /** Score and store one item; resolves once it is committed. */
  async submit(userId: string, input: FeedbackInput, now = new Date()): Promise<StoredFeedback & { scored: ItemSentiment }> {
    const scored = this.analyzer.scoreItem({ text: input.text, rating: input.rating, emotion: input.emotion });
    const id = randomUUID();
    const row = await this.db.kysely.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('feedback')
        .values({
          id,
          user_id: userId,
          type: input.type,
          rating: input.rating ?? null,
          emotion: input.emotion ?? null,
          text: input.text ?? null,
          context: JSON.stringify(input.context ?? {}),
          created_at: now,
          sentiment: scored.score,
          sentiment_label: scored.label,
          themes: scored.themes,
          urgent: scored.urgent,
          urgent_reasons: scored.urgentReasons,
          language: scored.text?.language ?? null,
          text_label: scored.text ? labelOf(scored.text.score) : null,
        })
        .returning('created_at')
        .executeTakeFirstOrThrow();
      await addToRollups(trx, {
        createdAt: inserted.created_at,
        type: input.type,
        emotion: input.emotion,
        text: input.text,
        rating: input.rating,
        scored,
      });
      return inserted;
    });
    const stored = {
      id,
      userId,
      type: input.type,
      rating: input.rating ?? null,
      emotion: input.emotion ?? null,
      text: input.text ?? null,
      context: input.context ?? {},
      sentiment: scored.score,
      label: scored.label,
      themes: scored.themes,
      urgent: scored.urgent,
      urgentReasons: scored.urgentReasons,
      createdAt: row.created_at,
      scored,
    };
    if (stored.urgent) for (const listener of this.#urgentListeners) listener(stored);
    return stored;
  }
}
