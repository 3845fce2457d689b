/**
 * `npm run eval:sentiment [-- --show-held-out] [--rules]`: accuracy and macro-F1 of the
 * analyzer per set, what it got wrong, and the share no theme holds. `--rules`: the rules
 * alone, without the learned layer — what to read when tuning a lexicon or a pattern,
 * since the layer scores the tuning parts perfectly (it was trained on them).
 *
 * zh/en: the first sets, tuned on; holdout-*: written after them, never tuned on. The
 * development sets (dev-zh, dev-en, dev-mixed; docs/sentiment.md) are split once by a hash
 * of each line (splitOf): the tuning part with its misses, the held-out part as figures
 * only — its misses are printed with --show-held-out, at the end of a round of tuning.
 *
 * `-- --fresh FILE…`: score new labeled lines once, layer and rules, before they join a set
 * (docs/sentiment.md: the plainest figure for text never seen). `-- --by-batch`: each later
 * batch of the development sets scored by a layer trained without it (leaveOneBatchOut).
 */
import { evaluate, readLabeledSet, splitOf } from '../src/feedback/evaluate.js';
import { SentimentAnalyzer, sentimentAnalyzer } from '../src/feedback/sentiment.js';
import { leaveOneBatchOut } from '../src/feedback/train.js';

const showHeldOut = process.argv.includes('--show-held-out');
const analyzer = process.argv.includes('--rules') ? new SentimentAnalyzer({ model: null }) : sentimentAnalyzer();
const read = (name: string) => readLabeledSet(new URL(`../test/fixtures/sentiment/${name}.tsv`, import.meta.url));

function print(name: string, items: ReturnType<typeof read>, showMisses: boolean): void {
  const result = evaluate(items, analyzer);
  console.log(
    `${name}: ${result.items} items · accuracy ${result.accuracy.toFixed(3)} · macro-F1 ${result.macroF1.toFixed(3)} · no theme ("other") ${(result.otherShare * 100).toFixed(1)}%`,
  );
  for (const [label, m] of Object.entries(result.perLabel)) {
    console.log(
      `  ${label.padEnd(8)} precision ${m.precision.toFixed(2)} recall ${m.recall.toFixed(2)} F1 ${m.f1.toFixed(2)} (n=${m.support})`,
    );
  }
  if (showMisses)
    for (const miss of result.misses) console.log(`  ✗ ${miss.expected} → ${miss.got} (${miss.score.toFixed(2)}): ${miss.text}`);
}

const fresh = process.argv.indexOf('--fresh');
if (fresh >= 0) {
  const rulesAlone = new SentimentAnalyzer({ model: null });
  for (const file of process.argv.slice(fresh + 1).filter((arg) => !arg.startsWith('--'))) {
    const items = readLabeledSet(file);
    print(file, items, true);
    console.log(`  rules alone: accuracy ${evaluate(items, rulesAlone).accuracy.toFixed(3)}`);
  }
} else if (process.argv.includes('--by-batch')) {
  for (const set of ['dev-zh', 'dev-en']) {
    console.log(`${set}, each batch scored by a layer trained without it:`);
    for (const batch of leaveOneBatchOut(set))
      console.log(
        `  ${batch.accuracy.toFixed(3)} of ${batch.lines} · held-out lines ${batch.heldOutAccuracy.toFixed(3)} of ${batch.heldOutLines} · ${batch.note.slice(0, 90)}`,
      );
  }
} else report();

function report(): void {
  for (const name of ['zh', 'en', 'holdout-zh', 'holdout-en']) print(name, read(name), true);
  for (const name of ['dev-zh', 'dev-en', 'dev-mixed']) {
    const items = read(name);
    print(
      `${name} (tuning)`,
      items.filter((item) => splitOf(item.text) === 'tuning'),
      true,
    );
    print(
      `${name} (held out)`,
      items.filter((item) => splitOf(item.text) === 'held-out'),
      showHeldOut,
    );
  }
}
