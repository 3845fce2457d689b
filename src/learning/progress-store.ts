/**
 * A learner's progress in the database: every query of the learning journey, in one
 * place (progress.ts holds the rules and composes these inside its transactions).
 * Each function takes the executor it runs on: the pool, or a transaction.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';
import type { StoredCard } from './srs.js';

type Q = Kysely<Database>;

/** Dramas whose magic moment the learner has completed. */
export async function completedDramas(q: Q, userId: string): Promise<Set<string>> {
  const rows = await q
    .selectFrom('drama_progress')
    .select('drama_id')
    .where('user_id', '=', userId)
    .where('magic_moment_completed_at', 'is not', null)
    .execute();
  return new Set(rows.map((row) => row.drama_id));
}

/** The learner's state on a clue before an attempt: collected or not, and the run of errors. */
export async function clueState(
  q: Q,
  userId: string,
  keywordId: string,
): Promise<{ collectedAt: Date | null; consecutiveErrors: number }> {
  const row = await q
    .selectFrom('keyword_progress')
    .select(['collected_at', 'consecutive_errors'])
    .where('user_id', '=', userId)
    .where('keyword_id', '=', keywordId)
    .executeTakeFirst();
  return { collectedAt: row?.collected_at ?? null, consecutiveErrors: row?.consecutive_errors ?? 0 };
}

/**
 * Count one attempt on a clue, made at `at`: a correct one collects it (once) with its
 * first review (`card`, srs.ts); an error extends the run of consecutive errors.
 */
export async function recordClueAttempt(
  q: Q,
  attempt: { userId: string; keywordId: string; correct: boolean; mode: string; at: Date; card: StoredCard },
) {
  const { userId, keywordId, correct, mode, at, card } = attempt;
  return q
    .insertInto('keyword_progress')
    .values({
      user_id: userId,
      keyword_id: keywordId,
      attempts: 1,
      correct_attempts: correct ? 1 : 0,
      consecutive_errors: correct ? 0 : 1,
      focus_attempts: mode === 'focus' ? 1 : 0,
      rescue_attempts: mode === 'rescue' ? 1 : 0,
      collected_at: correct ? at : null,
      next_review_at: correct ? new Date(card.due) : null,
      srs: correct ? JSON.stringify(card) : null,
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
        srs: eb.fn.coalesce('keyword_progress.srs', 'excluded.srs'),
        updated_at: sql<Date>`now()`,
      })),
    )
    .returning(['attempts', 'consecutive_errors', 'collected_at', 'next_review_at'])
    .executeTakeFirstOrThrow();
}

/** The learner's row for a drama, created on their first attempt in it; true when this made it. */
export async function startDrama(q: Q, userId: string, dramaId: string, at: Date): Promise<boolean> {
  const row = await q
    .insertInto('drama_progress')
    .values({ user_id: userId, drama_id: dramaId, started_at: at })
    .onConflict((oc) => oc.columns(['user_id', 'drama_id']).doNothing())
    .returning('drama_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Clues of a drama the learner has collected. */
export async function countCollected(q: Q, userId: string, dramaId: string): Promise<number> {
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

/** Note the moment every clue of the drama was collected (the first time only); true when this did. */
export async function markCluesCompleted(q: Q, userId: string, dramaId: string, at: Date): Promise<boolean> {
  const result = await q
    .updateTable('drama_progress')
    .set({ clues_completed_at: at })
    .where('user_id', '=', userId)
    .where('drama_id', '=', dramaId)
    .where('clues_completed_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Complete the drama's magic moment at `at` (kept from the first time) with the learner's
 * self-assessment; resolves with when it was first completed and whether it was before.
 */
export async function completeDrama(
  q: Q,
  userId: string,
  dramaId: string,
  understanding: string | undefined,
  at: Date,
): Promise<{ completedAt: Date; before: Date | null }> {
  const previous = await q
    .selectFrom('drama_progress')
    .select('magic_moment_completed_at')
    .where('user_id', '=', userId)
    .where('drama_id', '=', dramaId)
    .executeTakeFirst();
  const row = await q
    .updateTable('drama_progress')
    .set((eb) => ({
      magic_moment_completed_at: eb.fn.coalesce('magic_moment_completed_at', sql<Date>`${at.toISOString()}::timestamptz`),
      understanding: understanding ?? eb.ref('understanding'),
    }))
    .where('user_id', '=', userId)
    .where('drama_id', '=', dramaId)
    .returning('magic_moment_completed_at')
    .executeTakeFirstOrThrow();
  return { completedAt: row.magic_moment_completed_at as Date, before: previous?.magic_moment_completed_at ?? null };
}

/** What the progress report needs, read in parallel. */
export async function progressRows(q: Q, userId: string) {
  const [dramas, collectedByDrama, interests, due] = await Promise.all([
    q.selectFrom('drama_progress').selectAll().where('user_id', '=', userId).execute(),
    q
      .selectFrom('keyword_progress')
      .innerJoin('keywords', 'keywords.id', 'keyword_progress.keyword_id')
      .select(['keywords.drama_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('keyword_progress.user_id', '=', userId)
      .where('keyword_progress.collected_at', 'is not', null)
      .groupBy('keywords.drama_id')
      .execute(),
    q.selectFrom('user_interests').select('interest_id').where('user_id', '=', userId).execute(),
    q
      .selectFrom('keyword_progress')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('next_review_at', '<=', sql<Date>`now()`)
      .executeTakeFirstOrThrow(),
  ]);
  return { dramas, collectedByDrama, interests, reviewsDue: due.n };
}

/** A learner's collected keywords due for review at `now`, in due order, after `after` (a page's cursor). */
export async function dueReviews(
  q: Q,
  userId: string,
  now: Date,
  limit: number,
  after: { due: Date; keywordId: string } | undefined,
) {
  let query = q
    .selectFrom('keyword_progress')
    .select(['keyword_id', 'next_review_at', 'srs', 'reviews'])
    .where('user_id', '=', userId)
    .where('next_review_at', '<=', now);
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('next_review_at', '>', after.due),
        eb.and([eb('next_review_at', '=', after.due), eb('keyword_id', '>', after.keywordId)]),
      ]),
    );
  return query.orderBy('next_review_at').orderBy('keyword_id').limit(limit).execute();
}

/** A collected keyword's review state, locked for the review that changes it. */
export async function reviewState(q: Q, userId: string, keywordId: string) {
  return q
    .selectFrom('keyword_progress')
    .select(['collected_at', 'srs', 'reviews'])
    .where('user_id', '=', userId)
    .where('keyword_id', '=', keywordId)
    .forUpdate()
    .executeTakeFirst();
}

/** Store a review's outcome: the new card, its due time, one more review. */
export async function saveReview(q: Q, userId: string, keywordId: string, card: StoredCard): Promise<number> {
  const row = await q
    .updateTable('keyword_progress')
    .set({
      srs: JSON.stringify(card),
      next_review_at: new Date(card.due),
      reviews: sql<number>`reviews + 1`,
      updated_at: sql<Date>`now()`,
    })
    .where('user_id', '=', userId)
    .where('keyword_id', '=', keywordId)
    .returning('reviews')
    .executeTakeFirstOrThrow();
  return row.reviews;
}
