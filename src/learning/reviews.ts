/**
 * Spaced reviews of collected keywords (FSRS, srs.ts): what is due for a learner, page by
 * page, and the answer to one — graded by the clip picked, rescheduled, and recorded as an
 * srs_card_reviewed event in the same transaction.
 */

import { pageOf, timeKeyCursor } from '../cursor.js';
import { retryWhole } from '../db/retry.js';
import { AppError } from '../errors.js';
import type { LearningDeps } from './progress.js';
import { dueReviews, reviewState, saveReview } from './progress-store.js';
import { cardView, review, type StoredCard } from './srs.js';
import { clipsView, type MediaUrl, mediaView } from './views.js';

/** What a keyword id looks like (validation.ts Id). */
const KEYWORD_ID = /^[a-z0-9-]{1,64}$/;

export const REVIEW_PAGE = { default: 20, max: 100 } as const;

export async function listDueReviews(
  deps: LearningDeps,
  userId: string,
  options: { limit?: number; cursor?: string; now: Date },
  mediaUrl: MediaUrl,
) {
  const limit = options.limit ?? REVIEW_PAGE.default;
  const cursor = options.cursor === undefined ? undefined : timeKeyCursor.decode(options.cursor, KEYWORD_ID);
  const after = cursor && { due: cursor.at, keywordId: cursor.key };
  // One more than the page: whether there is a next page, without counting.
  const rows = await dueReviews(deps.db.kysely, userId, options.now, limit + 1, after);
  const { items: page, nextCursor } = pageOf(rows, limit, (last) =>
    timeKeyCursor.encode(last.next_review_at as Date, last.keyword_id),
  );
  const media = mediaView(deps.catalog, mediaUrl);
  return {
    reviews: page.map((row) => {
      const keyword = deps.catalog.keywordById.get(row.keyword_id);
      return {
        keywordId: row.keyword_id,
        dramaId: keyword?.drama_id ?? null,
        word: keyword?.word ?? row.keyword_id,
        phonetic: keyword?.phonetic ?? '',
        audio: keyword ? media(keyword.audio_path) : null,
        dueAt: row.next_review_at as Date,
        reviews: row.reviews,
        card: row.srs ? cardView(row.srs as unknown as StoredCard) : null,
        clips: clipsView(deps.catalog, row.keyword_id, media),
      };
    }),
    nextCursor,
  };
}

export interface ReviewAnswer {
  keywordId: string;
  correct: boolean;
  rating: 'good' | 'again';
  reviews: number;
  nextReviewAt: Date;
  card: ReturnType<typeof cardView>;
}

/** Answer a review at `at`: right is Good, wrong is Again; early reviews are allowed (FSRS counts the days). */
export async function answerReview(
  deps: LearningDeps,
  userId: string,
  keywordId: string,
  input: { selectedClipId: string; responseMs?: number | undefined },
  at: Date,
): Promise<ReviewAnswer> {
  const keyword = deps.catalog.keywordById.get(keywordId);
  if (!keyword) throw new AppError('SMT_ERR_KEYWORD_NOT_FOUND');
  const clip = deps.catalog.clipsByKeyword.get(keywordId)?.find((c) => c.id === input.selectedClipId);
  if (!clip) throw new AppError('SMT_ERR_CLIP_NOT_FOUND', undefined, { selectedClipId: input.selectedClipId });
  const correct = clip.is_correct;
  const rating = correct ? 'good' : 'again';
  return retryWhole(() =>
    deps.db.kysely.transaction().execute(async (trx) => {
      const state = await reviewState(trx, userId, keywordId);
      if (!state?.collected_at) throw new AppError('SMT_ERR_REVIEW_NOT_COLLECTED');
      const card = review((state.srs as unknown as StoredCard | null) ?? null, at, rating);
      const reviews = await saveReview(trx, userId, keywordId, card);
      await deps.events.record(trx, userId, [
        {
          name: 'srs_card_reviewed',
          scope: `${keywordId}:review:${reviews}`,
          at,
          properties: {
            keywordId,
            dramaId: keyword.drama_id,
            correct,
            rating,
            scheduledDays: card.scheduled_days,
            ...(input.responseMs === undefined ? {} : { responseMs: input.responseMs }),
          },
        },
      ]);
      return { keywordId, correct, rating, reviews, nextReviewAt: new Date(card.due), card: cardView(card) };
    }),
  );
}
