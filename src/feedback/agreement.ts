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
import { type LabelAgreement, labelAgreement } from './evaluate.js';
import { LABEL_COLUMN, unguardFormula } from './labeling.js';
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
  const byRating = Object.fromEntries(
    ([1, 2, 3, 4, 5] as const).map((stars) => [stars, { reviews: 0, positive: 0, neutral: 0, negative: 0 }]),
  ) as RatingAgreement['byRating'];
  // The reviews whose stars take a side: (that side, the label the text got).
  const polar: Array<[SentimentLabel, SentimentLabel]> = [];
  let total = 0;
  for (const review of reviews) {
    const label = analyzer.scoreItem({ text: review.text }).label;
    const row = byRating[review.rating as Stars];
    row.reviews++;
    row[label]++;
    total++;
    const side = sideOf(review.rating);
    if (side !== undefined) polar.push([side, label]);
  }
  const { items, accuracy, confusion, perLabel } = labelAgreement(polar);
  const figures = (label: 'positive' | 'negative') => ({ precision: perLabel[label].precision, recall: perLabel[label].recall });
  return {
    reviews: total,
    byRating,
    polar: { reviews: items, agreeing: confusion.positive.positive + confusion.negative.negative, agreement: accuracy },
    negative: figures('negative'),
    positive: figures('positive'),
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

/** The rows of a CSV file with a header row, or of JSON Lines (one object per line): the shapes store exports, scrapers and spreadsheets write. */
function readRows(source: string): Array<Record<string, unknown>> {
  const text = source.replace(/^\ufeff/, '');
  return text.trimStart().startsWith('{')
    ? text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    : parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true });
}

/** The column named `wanted`, else the first whose name is one of `known` (any case). */
function pickColumn(names: readonly string[], wanted: string | undefined, known: readonly string[]) {
  return wanted !== undefined
    ? names.find((name) => name === wanted)
    : names.find((name) => known.includes(name.trim().toLowerCase()));
}

/**
 * The rated reviews in a CSV file or JSON Lines. Columns are found by name
 * (content/text/review …, score/rating/stars …) unless named; rows without text or with
 * stars outside 1–5 are skipped and counted.
 */
export function readRatedReviews(
  source: string,
  columns: { text?: string; rating?: string } = {},
): { reviews: RatedReview[]; skipped: number } {
  const rows = readRows(source);
  const names = Object.keys(rows[0] ?? {});
  const textColumn = pickColumn(names, columns.text, TEXT_COLUMNS);
  const ratingColumn = pickColumn(names, columns.rating, RATING_COLUMNS);
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

/** A text and the label each labeler gave it (undefined: that labeler left it blank). */
export interface LabeledText {
  text: string;
  labels: Array<SentimentLabel | undefined>;
}

/** Label columns are found by how their names start: `label`, `label 2`, `label_anna`, `标注`, `标签（小王）`. */
const LABEL_COLUMN_STARTS = [LABEL_COLUMN, '标注', '标签'];

/** What a labeler may type, in either language; anything else is a mistake to show, not to guess at. */
const LABEL_SPELLINGS: Record<string, SentimentLabel> = {
  positive: 'positive',
  pos: 'positive',
  '+': 'positive',
  正面: 'positive',
  正: 'positive',
  积极: 'positive',
  neutral: 'neutral',
  neu: 'neutral',
  '0': 'neutral',
  中性: 'neutral',
  中: 'neutral',
  中立: 'neutral',
  negative: 'negative',
  neg: 'negative',
  '-': 'negative',
  '−': 'negative',
  负面: 'negative',
  负: 'negative',
  消极: 'negative',
};

export class LabelValueError extends Error {
  constructor(
    readonly row: number,
    readonly column: string,
    readonly value: string,
  ) {
    super(
      `row ${row}, column "${column}": "${value}" is not a label (positive / neutral / negative, 正面 / 中性 / 负面, + / 0 / -)`,
    );
    this.name = 'LabelValueError';
  }
}

/**
 * The labeled texts of a sheet (`smartalk feedback sample`'s, or any CSV or JSON Lines with
 * a text column and label columns), or null when it has no label column. Rows no labeler
 * has labeled yet are counted, not read; a label nobody could mean is an error naming its row.
 */
export function readLabeledTexts(
  source: string,
  columns: { text?: string; labels?: readonly string[] } = {},
): { texts: LabeledText[]; labelers: string[]; unlabeled: number } | null {
  const rows = readRows(source);
  const names = Object.keys(rows[0] ?? {});
  const labelers = columns.labels
    ? [...columns.labels]
    : names.filter((name) => LABEL_COLUMN_STARTS.some((start) => name.trim().toLowerCase().startsWith(start)));
  if (labelers.length === 0) return null;
  const missing = labelers.filter((name) => !names.includes(name));
  const textColumn = pickColumn(names, columns.text, TEXT_COLUMNS);
  if (textColumn === undefined || missing.length > 0) throw new ReviewColumnsError(names);
  const texts: LabeledText[] = [];
  let unlabeled = 0;
  rows.forEach((row, index) => {
    const text = unguardFormula(String(row[textColumn] ?? '').trim());
    const labels = labelers.map((column) => {
      const value = String(row[column] ?? '').trim();
      if (value === '') return undefined;
      const label = LABEL_SPELLINGS[value.toLowerCase()];
      if (label === undefined) throw new LabelValueError(index + 2, column, value);
      return label;
    });
    if (text === '') return;
    if (labels.every((label) => label === undefined)) unlabeled++;
    else texts.push({ text, labels });
  });
  return { texts, labelers, unlabeled };
}

export interface LabeledAgreement {
  labelers: string[];
  /** Texts at least one labeler labeled. */
  texts: number;
  /** Texts the labelers labeled differently: no reference to hold the analyzer to, so left out of `analyzer`. */
  contested: number;
  /** The analyzer against the people's label (the labelers' common one), overall and per language. */
  analyzer: ByLanguage;
  /**
   * With `retrain`: the same lines read by layers that learned from the sheet's other lines
   * (cross-validation, train.ts) — what teaching the analyzer these labels would buy.
   */
  retrained?: ByLanguage;
  /** Each pair of labelers, on the texts both labeled: how far people agree with each other. */
  labelerPairs: Array<{ labelers: [string, string] } & LabelAgreement>;
  /** The analyzer against each labeler alone, on all that labeler's texts: to hold beside the pairs. */
  analyzerByLabeler: Array<{ labeler: string } & LabelAgreement>;
  /** The agreed texts the analyzer read otherwise than the people. */
  misses: Array<{ text: string; labeled: SentimentLabel; read: SentimentLabel }>;
}

type TextLanguage = 'zh' | 'en' | 'mixed' | 'none';
type ByLanguage = LabelAgreement & { byLanguage: Array<{ language: TextLanguage } & LabelAgreement> };

/**
 * How the analyzer reads labeled texts against the people who labeled them. With two or
 * more labelers it also says how often they agree with each other: the ceiling a machine
 * can be asked to reach, since a label people split on is a judgement, not a fact.
 */
export function labeledAgreement(
  analyzer: SentimentAnalyzer,
  sheet: { texts: LabeledText[]; labelers: string[] },
  options: { retrain?: (lines: Array<{ label: SentimentLabel; text: string }>) => SentimentLabel[] } = {},
): LabeledAgreement {
  const read = sheet.texts.map((item) => {
    const scored = analyzer.scoreItem({ text: item.text });
    return { ...item, got: scored.label, language: (scored.text?.language ?? 'none') as TextLanguage };
  });
  const agreed = read.flatMap((item) => {
    const given = [...new Set(item.labels.filter((label) => label !== undefined))];
    return given.length === 1 ? [{ ...item, reference: given[0] as SentimentLabel }] : [];
  });
  const languages = [...new Set(agreed.map((item) => item.language))];
  /** The agreed lines against a reading of them, overall and per language. */
  const against = (got: readonly SentimentLabel[]): ByLanguage => {
    const pairs = agreed.map((item, i) => ({
      language: item.language,
      pair: [item.reference, got[i] as SentimentLabel] as const,
    }));
    return {
      ...labelAgreement(pairs.map(({ pair }) => pair)),
      byLanguage: languages
        .map((language) => ({
          language,
          ...labelAgreement(pairs.filter((row) => row.language === language).map(({ pair }) => pair)),
        }))
        .sort((a, b) => b.items - a.items),
    };
  };
  const labelerPairs: LabeledAgreement['labelerPairs'] = [];
  for (let a = 0; a < sheet.labelers.length; a++)
    for (let b = a + 1; b < sheet.labelers.length; b++) {
      const both = read.flatMap(({ labels }) => {
        const [first, second] = [labels[a], labels[b]];
        return first && second ? [[first, second] as const] : [];
      });
      labelerPairs.push({ labelers: [sheet.labelers[a] as string, sheet.labelers[b] as string], ...labelAgreement(both) });
    }
  return {
    labelers: sheet.labelers,
    texts: read.length,
    contested: read.length - agreed.length,
    analyzer: against(agreed.map((item) => item.got)),
    ...(options.retrain
      ? { retrained: against(options.retrain(agreed.map((item) => ({ label: item.reference, text: item.text })))) }
      : {}),
    labelerPairs,
    analyzerByLabeler: sheet.labelers.map((labeler, index) => ({
      labeler,
      ...labelAgreement(read.flatMap((item) => (item.labels[index] ? [[item.labels[index], item.got] as const] : []))),
    })),
    misses: agreed.flatMap((item) =>
      item.got === item.reference ? [] : [{ text: item.text, labeled: item.reference, read: item.got }],
    ),
  };
}
