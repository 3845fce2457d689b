/**
 * Accuracy and macro-F1 of the sentiment analyzer on a labeled set, per language, and the
 * share of the set no theme holds.
 * Used by `npm run eval:sentiment` and by the test that keeps the figures up.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SentimentAnalyzer, type SentimentLabel, sentimentAnalyzer } from './sentiment.js';

const LABELS: SentimentLabel[] = ['positive', 'neutral', 'negative'];

export interface Evaluation {
  items: number;
  accuracy: number;
  macroF1: number;
  perLabel: Record<SentimentLabel, { precision: number; recall: number; f1: number; support: number }>;
  misses: Array<{ text: string; expected: SentimentLabel; got: SentimentLabel; score: number }>;
  /** Share of the items no theme holds ("other"): the report's theme model at work. */
  otherShare: number;
}

export function readLabeledSet(file: string | URL): Array<{ label: SentimentLabel; text: string }> {
  return readBatches(file).flatMap((batch) => batch.items);
}

/**
 * A development set's batches: the lines under each "# Added …" comment, each written and
 * scored fresh as a whole (docs/sentiment.md); the lines before the first such comment are
 * batch 0.
 */
export function readBatches(file: string | URL): Array<{ note: string; items: Array<{ label: SentimentLabel; text: string }> }> {
  const batches = [{ note: 'first lines', items: [] as Array<{ label: SentimentLabel; text: string }> }];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('# Added')) batches.push({ note: line.slice(2), items: [] });
    else if (line.trim() !== '' && !line.startsWith('#')) {
      const [label, ...rest] = line.split('\t');
      if (!LABELS.includes(label as SentimentLabel)) throw new Error(`bad label in ${String(file)}: ${line}`);
      (batches.at(-1) as (typeof batches)[number]).items.push({ label: label as SentimentLabel, text: rest.join('\t') });
    }
  }
  return batches;
}

/**
 * The development sets' one split (docs/sentiment.md): a line is held out when the first
 * byte of its text's SHA-256 is below 64 — about a quarter, fixed by the text alone, so
 * adding lines never moves an old one across and nobody picks which lines are held out.
 */
export function splitOf(text: string): 'tuning' | 'held-out' {
  return (createHash('sha256').update(text).digest()[0] as number) < 64 ? 'held-out' : 'tuning';
}

export function evaluate(
  items: Array<{ label: SentimentLabel; text: string }>,
  analyzer: SentimentAnalyzer = sentimentAnalyzer(),
): Evaluation {
  const misses: Evaluation['misses'] = [];
  const pairs: Array<[SentimentLabel, SentimentLabel]> = [];
  let other = 0;
  for (const item of items) {
    const result = analyzer.scoreItem({ text: item.text });
    if (result.themes.includes('other')) other++;
    pairs.push([item.label, result.label]);
    if (result.label !== item.label)
      misses.push({ text: item.text, expected: item.label, got: result.label, score: result.score });
  }
  const { accuracy, macroF1, perLabel } = labelAgreement(pairs);
  return { items: items.length, accuracy, macroF1, perLabel, misses, otherShare: other / items.length };
}

export interface LabelAgreement {
  items: number;
  /** The share of pairs that agree. */
  accuracy: number;
  /**
   * Cohen's kappa: agreement beyond what two readers with these label shares would reach by
   * chance (1 whole, 0 chance); null when chance alone agrees on everything (one label only).
   */
  kappa: number | null;
  macroF1: number;
  /** Each label of the second reader against the first's: precision, recall, F1, support. */
  perLabel: Evaluation['perLabel'];
  /** Rows: the first reader's label; columns: the second's. */
  confusion: Record<SentimentLabel, Record<SentimentLabel, number>>;
}

/** How two readings of the same texts agree: (reference, other) label pairs. */
export function labelAgreement(pairs: Iterable<readonly [reference: SentimentLabel, other: SentimentLabel]>): LabelAgreement {
  const confusion = Object.fromEntries(
    LABELS.map((label) => [label, { positive: 0, neutral: 0, negative: 0 }]),
  ) as LabelAgreement['confusion'];
  let items = 0;
  for (const [reference, other] of pairs) {
    confusion[reference][other]++;
    items++;
  }
  const share = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);
  const given = (label: SentimentLabel) => LABELS.reduce((n, other) => n + confusion[label][other], 0);
  const read = (label: SentimentLabel) => LABELS.reduce((n, other) => n + confusion[other][label], 0);
  const perLabel = Object.fromEntries(
    LABELS.map((label) => {
      const precision = share(confusion[label][label], read(label));
      const recall = share(confusion[label][label], given(label));
      const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
      return [label, { precision, recall, f1, support: given(label) }];
    }),
  ) as Evaluation['perLabel'];
  const accuracy = share(
    LABELS.reduce((n, label) => n + confusion[label][label], 0),
    items,
  );
  const chance = LABELS.reduce((sum, label) => sum + share(given(label), items) * share(read(label), items), 0);
  return {
    items,
    accuracy,
    kappa: items === 0 || chance >= 1 ? null : (accuracy - chance) / (1 - chance),
    macroF1: LABELS.reduce((sum, label) => sum + perLabel[label].f1, 0) / LABELS.length,
    perLabel,
    confusion,
  };
}
