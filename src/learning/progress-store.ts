/**
 * A learner's progress in the database: every query of the learning journey, in one
 * place (progress.ts holds the rules and composes these inside its transactions).
 * Each function takes the executor it runs on: the pool, or a transaction.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.js';

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
 * Count one attempt on a clue, made at `at`: a correct one collects it (once) and
 * schedules its first review `reviewAfterMs` later; an error extends the run of
 * consecutive errors.
 */
export async function recordClueAttempt(
  q: Q,
  attempt: { userId: string; keywordId: string; correct: boolean; mode: string; at: Date; reviewAfterMs: number },
) {
  const { userId, keywordId, correct, mode, at } = attempt;
  const reviewAt = new Date(at.getTime() + attempt.reviewAfterMs);
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
