/**
 * A learner's way through a drama: vTPR attempts collect story clues (keywords),
 * all clues open the magic moment, the magic moment completes the drama and
 * unlocks the next chapter. The rules live here; the queries in progress-store.ts.
 */
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { type Catalog, lockStates } from './content.js';
import type { EmotionId } from './emotions.js';
import {
  clueCollectedAt,
  completeDrama,
  completedDramas,
  countCollected,
  markCluesCompleted,
  progressRows,
  recordClueAttempt,
  startDrama,
} from './progress-store.js';

export type LearningMode = 'normal' | 'focus' | 'rescue';

/** Two errors in a row on a clue start focus mode; four start rescue mode. */
export const FOCUS_AFTER_ERRORS = 2;
export const RESCUE_AFTER_ERRORS = 4;
/** Learned clues enter spaced repetition; the first review is due after 24 h. */
export const FIRST_REVIEW_HOURS = 24;

export function suggestedMode(consecutiveErrors: number): LearningMode {
  if (consecutiveErrors >= RESCUE_AFTER_ERRORS) return 'rescue';
  if (consecutiveErrors >= FOCUS_AFTER_ERRORS) return 'focus';
  return 'normal';
}

export interface AttemptInput {
  /** The clip the learner picked; the server grades it. */
  selectedClipId?: string | undefined;
  /** Client-graded result (pronunciation in rescue mode), used when no clip is given. */
  correct?: boolean | undefined;
  mode: LearningMode;
  responseMs?: number | undefined;
}

export interface AttemptResult {
  keywordId: string;
  dramaId: string;
  correct: boolean;
  collected: boolean;
  newlyCollected: boolean;
  attempts: number;
  consecutiveErrors: number;
  suggestedMode: LearningMode;
  nextReviewAt: Date | null;
  drama: { collected: number; total: number; allCollected: boolean };
}

function assertUnlocked(catalog: Catalog, dramaId: string, completed: ReadonlySet<string>): void {
  const drama = catalog.dramaById.get(dramaId);
  if (!drama) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
  const state = lockStates(catalog.dramasByInterest.get(drama.interest_id) ?? [], completed).get(dramaId);
  if (state?.locked) {
    throw new AppError('SMT_ERR_DRAMA_LOCKED', `Complete the magic moment of ${state.requires} first`, {
      requires: state.requires,
    });
  }
}

/** Record one vTPR attempt on a keyword, in one transaction. */
export async function recordAttempt(
  db: Db,
  catalog: Catalog,
  userId: string,
  keywordId: string,
  input: AttemptInput,
): Promise<AttemptResult> {
  const keyword = catalog.keywordById.get(keywordId);
  if (!keyword) throw new AppError('SMT_ERR_KEYWORD_NOT_FOUND');
  let correct: boolean;
  if (input.selectedClipId !== undefined) {
    const clip = catalog.clipsByKeyword.get(keywordId)?.find((c) => c.id === input.selectedClipId);
    if (!clip) throw new AppError('SMT_ERR_CLIP_NOT_FOUND', undefined, { selectedClipId: input.selectedClipId });
    correct = clip.is_correct;
  } else if (input.correct !== undefined) {
    correct = input.correct;
  } else {
    throw new AppError('SMT_ERR_VALIDATION', 'Give selectedClipId (server-graded) or correct (client-graded)');
  }
  const total = catalog.keywordsByDrama.get(keyword.drama_id)?.length ?? 0;

  return db.kysely.transaction().execute(async (trx) => {
    assertUnlocked(catalog, keyword.drama_id, await completedDramas(trx, userId));
    const before = await clueCollectedAt(trx, userId, keywordId);
    const row = await recordClueAttempt(trx, {
      userId,
      keywordId,
      correct,
      mode: input.mode,
      reviewAfterHours: FIRST_REVIEW_HOURS,
    });
    await startDrama(trx, userId, keyword.drama_id);
    const collected = await countCollected(trx, userId, keyword.drama_id);
    if (collected >= total) await markCluesCompleted(trx, userId, keyword.drama_id);
    return {
      keywordId,
      dramaId: keyword.drama_id,
      correct,
      collected: row.collected_at !== null,
      newlyCollected: before === null && row.collected_at !== null,
      attempts: row.attempts,
      consecutiveErrors: row.consecutive_errors,
      suggestedMode: suggestedMode(row.consecutive_errors),
      nextReviewAt: row.next_review_at,
      drama: { collected, total, allCollected: collected >= total },
    };
  });
}

export interface MagicMomentResult {
  dramaId: string;
  completedAt: Date;
  /** False when this drama's magic moment was already completed before. */
  firstCompletion: boolean;
  /** True on the learner's first magic moment ever: activation. */
  activated: boolean;
  unlockedDramaId: string | null;
  /** The theme badge, when this completes the theme's last chapter. */
  badgeEarned: string | null;
}

/** Complete a drama's magic moment (all clues must be collected). Idempotent. */
export async function completeMagicMoment(
  db: Db,
  catalog: Catalog,
  userId: string,
  dramaId: string,
  understanding: EmotionId | undefined,
): Promise<MagicMomentResult> {
  const drama = catalog.dramaById.get(dramaId);
  if (!drama) throw new AppError('SMT_ERR_DRAMA_NOT_FOUND');
  const total = catalog.keywordsByDrama.get(dramaId)?.length ?? 0;
  const chapters = catalog.dramasByInterest.get(drama.interest_id) ?? [];
  return db.kysely.transaction().execute(async (trx) => {
    const completed = await completedDramas(trx, userId);
    assertUnlocked(catalog, dramaId, completed);
    const collected = await countCollected(trx, userId, dramaId);
    if (collected < total) {
      throw new AppError('SMT_ERR_CLUES_INCOMPLETE', undefined, { collected, total });
    }
    const { completedAt, before } = await completeDrama(trx, userId, dramaId, understanding);
    const firstCompletion = before === null;
    const next = chapters.find((c) => c.chapter === drama.chapter + 1);
    const isLast = chapters.every((c) => c.id === dramaId || completed.has(c.id));
    return {
      dramaId,
      completedAt,
      firstCompletion,
      activated: firstCompletion && completed.size === 0,
      unlockedDramaId: firstCompletion ? (next?.id ?? null) : null,
      badgeEarned: firstCompletion && isLast ? (catalog.interestById.get(drama.interest_id)?.badge_en ?? null) : null,
    };
  });
}

export interface ProgressReport {
  userId: string;
  keywordsCollected: number;
  dramasCompleted: number;
  reviewsDue: number;
  interests: Array<{
    id: string;
    selected: boolean;
    badgeEarned: boolean;
    dramas: Array<{
      id: string;
      chapter: number;
      locked: boolean;
      collected: number;
      total: number;
      cluesCompletedAt: Date | null;
      magicMomentCompletedAt: Date | null;
    }>;
  }>;
}

export async function getProgress(db: Db, catalog: Catalog, userId: string): Promise<ProgressReport> {
  const rows = await progressRows(db.kysely, userId);
  const dramaRows = rows.dramas;
  const byDrama = new Map(dramaRows.map((row) => [row.drama_id, row]));
  const collectedByDrama = new Map(rows.collectedByDrama.map((row) => [row.drama_id, row.n]));
  const completed = new Set(dramaRows.filter((row) => row.magic_moment_completed_at).map((row) => row.drama_id));
  const selected = new Set(rows.interests.map((row) => row.interest_id));
  const interests = catalog.interests.map((interest) => {
    const chapters = catalog.dramasByInterest.get(interest.id) ?? [];
    const locks = lockStates(chapters, completed);
    return {
      id: interest.id,
      selected: selected.has(interest.id),
      badgeEarned: chapters.length > 0 && chapters.every((c) => completed.has(c.id)),
      dramas: chapters.map((drama) => ({
        id: drama.id,
        chapter: drama.chapter,
        locked: locks.get(drama.id)?.locked ?? false,
        collected: collectedByDrama.get(drama.id) ?? 0,
        total: catalog.keywordsByDrama.get(drama.id)?.length ?? 0,
        cluesCompletedAt: byDrama.get(drama.id)?.clues_completed_at ?? null,
        magicMomentCompletedAt: byDrama.get(drama.id)?.magic_moment_completed_at ?? null,
      })),
    };
  });
  return {
    userId,
    keywordsCollected: [...collectedByDrama.values()].reduce((a, b) => a + b, 0),
    dramasCompleted: completed.size,
    reviewsDue: rows.reviewsDue,
    interests,
  };
}
