/**
 * Learners' feedback: scored on arrival (sentiment, label, themes, urgency), stored
 * durably, announced as a `feedback_submitted` analytics event, and — when urgent —
 * handed to whoever listens (the log at once; alerting when it is wired in).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { EmotionId } from './emotions.js';
import type { ItemSentiment, SentimentAnalyzer, SentimentLabel, Theme } from './sentiment.js';

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
    const row = await this.db.kysely
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
      })
      .returning('created_at')
      .executeTakeFirstOrThrow();
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
