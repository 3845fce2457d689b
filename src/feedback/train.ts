/**
 * Training of the learned layer (learned.ts): a multinomial logistic regression by
 * stochastic gradient descent over the tuning part of the labeled sets — the first sets
 * (zh.tsv, en.tsv) and the tuning part of the development sets (`splitOf`). The held-out
 * parts and the old held-out sets are never read. Deterministic: the same sets and rules
 * give the same weights, so a test can hold the shipped model to its sources.
 */
import { readBatches, readLabeledSet, splitOf } from './evaluate.js';
import { featureHash, featureNames, LearnedModel, MODEL_LABELS } from './learned.js';
import { SentimentAnalyzer, type SentimentLabel } from './sentiment.js';

const FIXTURES = new URL('../../test/fixtures/sentiment/', import.meta.url);
export const TRAINING_SETS = ['zh', 'en', 'dev-zh', 'dev-en', 'dev-mixed'];
const EPOCHS = 30;
const LEARNING_RATE = 0.2;
/**
 * L2 penalty, chosen by 5-fold cross-validation on the training lines
 * (`npm run train:sentiment -- --cross-validate`; 2026-12-02: 0.894 at 1e-4 and at 1e-3, 0.888 at 1e-2).
 */
export const L2 = 1e-4;
/** Weights this small (summed over the three labels) are left out of the file. */
const PRUNE_BELOW = 0.01;

export function trainingItems(fixtures: URL = FIXTURES): Array<{ label: SentimentLabel; text: string }> {
  return TRAINING_SETS.flatMap((set) =>
    readLabeledSet(new URL(`${set}.tsv`, fixtures)).filter((item) => !set.startsWith('dev-') || splitOf(item.text) === 'tuning'),
  );
}

/** Train on the items; the model file's text (feature, then the three weights, per line). */
export function trainModel(items: Array<{ label: SentimentLabel; text: string }>, l2 = L2): string {
  const rules = new SentimentAnalyzer({ model: null });
  const rows = items.map((item) => {
    const { tokens, rules: verdict } = rules.analyzeText(item.text);
    return { features: [...featureNames(tokens, verdict)], label: MODEL_LABELS.indexOf(item.label), key: item.text };
  });
  const weights = new Map<string, Float64Array>();
  const weightsOf = (name: string) => {
    const row = weights.get(name) ?? new Float64Array(3);
    weights.set(name, row);
    return row;
  };
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const rate = LEARNING_RATE / (1 + epoch * 0.2);
    // A fixed shuffle per epoch, by a hash of the text: the same run every time.
    const order = rows
      .map((row) => ({ row, at: featureHash(`${epoch}\u0000${row.key}`) }))
      .sort((a, b) => a.at - b.at || (a.row.key < b.row.key ? -1 : 1));
    for (const { row } of order) {
      const logits = [0, 0, 0];
      for (const [name, value] of row.features) {
        const w = weightsOf(name);
        for (let label = 0; label < 3; label++) logits[label] = (logits[label] as number) + (w[label] as number) * value;
      }
      const top = Math.max(...logits);
      const exps = logits.map((z) => Math.exp(z - top));
      const total = exps.reduce((a, b) => a + b, 0);
      for (const [name, value] of row.features) {
        const w = weightsOf(name);
        for (let label = 0; label < 3; label++) {
          const gradient = (exps[label] as number) / total - (label === row.label ? 1 : 0);
          w[label] = (w[label] as number) - rate * (gradient * value + l2 * (w[label] as number));
        }
      }
    }
  }
  const lines = [
    '# The learned layer of the sentiment analyzer (src/feedback/learned.ts): feature<TAB>positive<TAB>neutral<TAB>negative.',
    `# Trained by \`npm run train:sentiment\` on ${items.length} labeled lines (${TRAINING_SETS.join(', ')}; tuning parts only); do not edit by hand.`,
  ];
  for (const [name, w] of [...weights].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (Math.abs(w[0] as number) + Math.abs(w[1] as number) + Math.abs(w[2] as number) < PRUNE_BELOW) continue;
    if (name.includes('\t') || name.includes('\n')) continue;
    lines.push([name, ...[...w].map((x) => x.toFixed(4))].join('\t'));
  }
  return `${lines.join('\n')}\n`;
}

/** Whether each of `scored` gets its label from a layer trained on `trainOn` alone. */
function rightWithout(
  trainOn: Array<{ label: SentimentLabel; text: string }>,
  scored: Array<{ label: SentimentLabel; text: string }>,
  l2 = L2,
): boolean[] {
  const analyzer = new SentimentAnalyzer({ model: LearnedModel.parse(trainModel(trainOn, l2)) });
  return scored.map((item) => analyzer.scoreItem({ text: item.text }).label === item.label);
}

/** Accuracy of k-fold cross-validation on the training lines for a penalty: how L2 was chosen. */
export function crossValidate(items: Array<{ label: SentimentLabel; text: string }>, l2: number, folds = 5): number {
  let right = 0;
  for (let fold = 0; fold < folds; fold++) {
    const inFold = (text: string) => featureHash(`fold\u0000${text}`) % folds === fold;
    const marks = rightWithout(
      items.filter((item) => !inFold(item.text)),
      items.filter((item) => inFold(item.text)),
      l2,
    );
    right += marks.filter(Boolean).length;
  }
  return right / items.length;
}

/**
 * What learning from people's labels would buy (`smartalk feedback agreement SHEET
 * --cross-validate`): the sheet's lines in `folds` folds, each fold's lines read by a layer
 * trained on the shipped sources plus the sheet's other folds. Beside the shipped layer's
 * reading of the same lines, it says whether the app's own labeled words would teach the
 * layer something that holds on lines it did not see.
 */
export function crossValidateSheet(
  sheet: Array<{ label: SentimentLabel; text: string }>,
  options: { folds?: number; fixtures?: URL; onFold?: (done: number, folds: number) => void } = {},
): SentimentLabel[] {
  const folds = options.folds ?? 5;
  const base = trainingItems(options.fixtures);
  const read = new Array<SentimentLabel>(sheet.length);
  const foldOf = sheet.map((item) => featureHash(`fold\u0000${item.text}`) % folds);
  for (let fold = 0; fold < folds; fold++) {
    options.onFold?.(fold, folds);
    const model = LearnedModel.parse(trainModel([...base, ...sheet.filter((_, i) => foldOf[i] !== fold)]));
    const analyzer = new SentimentAnalyzer({ model });
    sheet.forEach((item, i) => {
      if (foldOf[i] === fold) read[i] = analyzer.scoreItem({ text: item.text }).label;
    });
  }
  options.onFold?.(folds, folds);
  return read;
}

/**
 * Each later batch of a development set scored by a layer trained without it (`npm run
 * eval:sentiment -- --by-batch`): the nearest repeatable figure to text never seen, since a
 * held-out line otherwise shares its batch's situations with the tuning lines beside it.
 * The rules have been tuned on every batch's tuning part since, so the held-out lines of
 * each batch are the cleaner column.
 */
export function leaveOneBatchOut(
  set: string,
  fixtures: URL = FIXTURES,
): Array<{ note: string; lines: number; accuracy: number; heldOutLines: number; heldOutAccuracy: number }> {
  const items = trainingItems(fixtures);
  return readBatches(new URL(`${set}.tsv`, fixtures))
    .slice(1)
    .map(({ note, items: batch }) => {
      const texts = new Set(batch.map((item) => item.text));
      const right = rightWithout(
        items.filter((item) => !texts.has(item.text)),
        batch,
      );
      const heldOut = batch.flatMap((item, i) => (splitOf(item.text) === 'held-out' ? [right[i] as boolean] : []));
      const share = (marks: boolean[]) => marks.filter(Boolean).length / Math.max(1, marks.length);
      return { note, lines: batch.length, accuracy: share(right), heldOutLines: heldOut.length, heldOutAccuracy: share(heldOut) };
    });
}
