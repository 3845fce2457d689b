/**
 * A learner's way through a drama: vTPR attempts collect story clues (keywords),
 * all clues open the magic moment, the magic moment completes the drama and
 * unlocks the next chapter.
 */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { AppError } from '../errors.js';
import { type Catalog, completedDramas, lockStates } from './content.js';
import type { EmotionId } from './emotions.js';

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
    const reviewAt = sql<Date>`now() + make_interval(hours => ${FIRST_REVIEW_HOURS})`;
    const before = await trx
      .selectFrom('keyword_progress')
      .select('collected_at')
      .where('user_id', '=', userId)
      .where('keyword_id', '=', keywordId)
      .executeTakeFirst();
    const row = await trx
      .insertInto('keyword_progress')
      .values({
        user_id: userId,
        keyword_id: keywordId,
        attempts: 1,
        correct_attempts: correct ? 1 : 0,
        consecutive_errors: correct ? 0 : 1,
        focus_attempts: input.mode === 'focus' ? 1 : 0,
        rescue_attempts: input.mode === 'rescue' ? 1 : 0,
        collected_at: correct ? sql<Date>`now()` : null,
        next_review_at: correct ? reviewAt : null,
      })
      .onConflict((oc) =>
        oc.columns(['user_id', 'keyword_id']).doUpdateSet((eb) => ({
          attempts: sql<number>`keyword_progress.attempts + 1`,
          correct_attempts: sql<number>`keyword_progress.correct_attempts + excluded.correct_attempts`,
          consecutive_errors: correct ? 0 : sql<number>`keyword_progress.consecutive_errors + 1`,
          focus_attempts: sql<number>`keyword_progress.focus_attempts + excluded.focus_attempts`,
          rescue_attempts: sql<number>`keyword_progress.rescue_attempts + excluded.rescue_attempts`,
          collected_at: eb.fn.coalesce('keyword_progress.collected_at', 'excluded.collected_at'),
          next_review_at: eb.fn.coalesce('keyword_progress.next_review_at', 'excluded.next_review_at'),
          updated_at: sql<Date>`now()`,
        })),
      )
      .returning(['attempts', 'consecutive_errors', 'collected_at', 'next_review_at'])
      .executeTakeFirstOrThrow();

    await trx
      .insertInto('drama_progress')
      .values({ user_id: userId, drama_id: keyword.drama_id })
      .onConflict((oc) => oc.columns(['user_id', 'drama_id']).doNothing())
      .execute();
    const collected = await countCollected(trx, userId, keyword.drama_id);
    if (collected >= total) {
      await trx
        .updateTable('drama_progress')
        .set({ clues_completed_at: sql<Date>`now()` })
        .where('user_id', '=', userId)
        .where('drama_id', '=', keyword.drama_id)
        .where('clues_completed_at', 'is', null)
        .execute();
    }
    return {
      keywordId,
      dramaId: keyword.drama_id,
      correct,
      collected: row.collected_at !== null,
      newlyCollected: !before?.collected_at && row.collected_at !== null,
      attempts: row.attempts,
      consecutiveErrors: row.consecutive_errors,
      suggestedMode: suggestedMode(row.consecutive_errors),
      nextReviewAt: row.next_review_at,
      drama: { collected, total, allCollected: collected >= total },
    };
  });
}

async function countCollected(q: Db['kysely'], userId: string, dramaId: string): Promise<number> {
  const row = await q
    .selectFrom('keyword_progress')
    .innerJoin('keywords', 'keywords.id', 'keyword_progress.keyword_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('keyword_progress.user_id', '=', userId)
    .where('keywords.drama_id', '=', dramaId)
    .where('keyword_progress.collected_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return row.n;
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
    const previous = await trx
      .selectFrom('drama_progress')
      .select('magic_moment_completed_at')
      .where('user_id', '=', userId)
      .where('drama_id', '=', dramaId)
      .executeTakeFirst();
    const alreadyAt = previous?.magic_moment_completed_at ?? null;
    const row = await trx
      .updateTable('drama_progress')
      .set((eb) => ({
        magic_moment_completed_at: eb.fn.coalesce('magic_moment_completed_at', sql<Date>`now()`),
        understanding: understanding ?? eb.ref('understanding'),
      }))
      .where('user_id', '=', userId)
      .where('drama_id', '=', dramaId)
      .returning('magic_moment_completed_at')
      .executeTakeFirstOrThrow();
    const firstCompletion = alreadyAt === null;
    const next = chapters.find((c) => c.chapter === drama.chapter + 1);
    const isLast = chapters.every((c) => c.id === dramaId || completed.has(c.id));
    return {
      dramaId,
      completedAt: row.magic_moment_completed_at as Date,
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
  const [dramaRows, keywordRows, interestRows, due] = await Promise.all([
    db.kysely.selectFrom('drama_progress').selectAll().where('user_id', '=', userId).execute(),
    db.kysely
      .selectFrom('keyword_progress')
      .innerJoin('keywords', 'keywords.id', 'keyword_progress.keyword_id')
      .select(['keywords.drama_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('keyword_progress.user_id', '=', userId)
      .where('keyword_progress.collected_at', 'is not', null)
      .groupBy('keywords.drama_id')
      .execute(),
    db.kysely.selectFrom('user_interests').select('interest_id').where('user_id', '=', userId).execute(),
    db.kysely
      .selectFrom('keyword_progress')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('next_review_at', '<=', sql<Date>`now()`)
      .executeTakeFirstOrThrow(),
  ]);
  const byDrama = new Map(dramaRows.map((row) => [row.drama_id, row]));
  const collectedByDrama = new Map(keywordRows.map((row) => [row.drama_id, row.n]));
  const completed = new Set(dramaRows.filter((row) => row.magic_moment_completed_at).map((row) => row.drama_id));
  const selected = new Set(interestRows.map((row) => row.interest_id));
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
    reviewsDue: due.n,
    interests,
  };
}
