/**
 * How the analyzer's reading of review texts agrees with the stars their writers gave
 * (`smartalk feedback agreement FILE`): the check a product team can run on its own App
 * Store or Google Play export before it trusts the negative-feedback alert, with no one
 * labeling anything. Each text is scored alone — its stars are not shown to the analyzer —
 * and 1–2 stars count as the negative side, 4–5 as the positive one, 3 as neither.
 *
 * Stars are a noisy label for the text: a 5-star "love it, but it crashes" is a complaint
 * by the labeling guideline (docs/sentiment.md, rule 2). On 99 store reviews labeled by the
 * guideline, the stars agreed with the labels on 81% (docs/sentiment.md, "Text written by
 * others"), so agreement well below 100% is expected; a drop from one export to the next is
 * what to look at.
 */
import { parse } from 'csv-parse/sync';
import type { SentimentAnalyzer, SentimentLabel } from './sentiment.js';

export interface RatedReview {
  text: string;
  /** Stars, 1–5. */
  rating: number;
}

type Stars = 1 | 2 | 3 | 4 | 5;
type Counts = Record<SentimentLabel, number>;

export interface RatingAgreement {
  reviews: number;
  /** Per star: how many reviews, and how the analyzer read their texts. */
  byRating: Record<Stars, { reviews: number } & Counts>;
  /** Reviews with 1–2 or 4–5 stars whose text the analyzer read on the same side. */
  polar: { reviews: number; agreeing: number; agreement: number };
  /** The negative label against 1–2 stars, and the positive against 4–5, on those reviews. */
  negative: { precision: number; recall: number };
  positive: { precision: number; recall: number };
}

/** Stars at or below NEGATIVE_STARS take the negative side, at or above POSITIVE_STARS the positive one; 3 neither. */
export const NEGATIVE_STARS = 2;
export const POSITIVE_STARS = 4;
const sideOf = (rating: number): SentimentLabel | undefined =>
  rating <= NEGATIVE_STARS ? 'negative' : rating >= POSITIVE_STARS ? 'positive' : undefined;

export function ratingAgreement(analyzer: SentimentAnalyzer, reviews: Iterable<RatedReview>): RatingAgreement {
  const emptyCounts = (): Counts => ({ positive: 0, neutral: 0, negative: 0 });
  const byRating = Object.fromEntries(
    ([1, 2, 3, 4, 5] as const).map((stars) => [stars, { reviews: 0, ...emptyCounts() }]),
  ) as RatingAgreement['byRating'];
  const read = emptyCounts(); // polar reviews, by the label the text got
  const given = emptyCounts(); // polar reviews, by the side their stars took
  const both = emptyCounts(); // polar reviews where the two agree
  let total = 0;
  for (const review of reviews) {
    const label = analyzer.scoreItem({ text: review.text }).label;
    const row = byRating[review.rating as Stars];
    row.reviews++;
    row[label]++;
    total++;
    const side = sideOf(review.rating);
    if (side === undefined) continue;
    read[label]++;
    given[side]++;
    if (label === side) both[side]++;
  }
  const share = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
  const polarReviews = given.positive + given.negative;
  const agreeing = both.positive + both.negative;
  return {
    reviews: total,
    byRating,
    polar: { reviews: polarReviews, agreeing, agreement: share(agreeing, polarReviews) },
    negative: { precision: share(both.negative, read.negative), recall: share(both.negative, given.negative) },
    positive: { precision: share(both.positive, read.positive), recall: share(both.positive, given.positive) },
  };
}

/** Header names a store export or a scraper gives the text and the stars, in either language. */
const TEXT_COLUMNS = ['content', 'text', 'review', 'review_text', 'reviewtext', 'comment', 'body', '内容', '评论', '评论内容'];
const RATING_COLUMNS = ['score', 'rating', 'stars', 'star', 'rate', '评分', '星级'];

export class ReviewColumnsError extends Error {
  constructor(readonly columns: string[]) {
    super(`no text and star columns among: ${columns.join(', ') || '(none)'}`);
    this.name = 'ReviewColumnsError';
  }
}

/**
 * The rated reviews in a CSV file with a header row, or in JSON Lines (one object per line),
 * the two shapes store exports and review scrapers write. Columns are found by name
 * (content/text/review …, score/rating/stars …) unless named; rows without text or with
 * stars outside 1–5 are skipped and counted.
 */
export function readRatedReviews(
  source: string,
  columns: { text?: string; rating?: string } = {},
): { reviews: RatedReview[]; skipped: number } {
  const rows: Array<Record<string, unknown>> = source.trimStart().startsWith('{')
    ? source
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    : parse(source, { columns: true, bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true });
  const names = Object.keys(rows[0] ?? {});
  const pick = (wanted: string | undefined, known: string[]) =>
    wanted !== undefined
      ? names.find((name) => name === wanted)
      : names.find((name) => known.includes(name.trim().toLowerCase()));
  const textColumn = pick(columns.text, TEXT_COLUMNS);
  const ratingColumn = pick(columns.rating, RATING_COLUMNS);
  if (textColumn === undefined || ratingColumn === undefined) throw new ReviewColumnsError(names);
  const reviews: RatedReview[] = [];
  let skipped = 0;
  for (const row of rows) {
    const text = String(row[textColumn] ?? '').trim();
    const rating = Number(row[ratingColumn]);
    if (text === '' || !Number.isInteger(rating) || rating < 1 || rating > 5) skipped++;
    else reviews.push({ text, rating });
  }
  return { reviews, skipped };
}
