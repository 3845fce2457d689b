/** `npm run eval:sentiment`: accuracy and macro-F1 of the analyzer per language, what it got wrong, and the share no theme holds. */
import { evaluate, readLabeledSet } from '../src/feedback/evaluate.js';

// zh/en: the sets the lexicons were tuned on; holdout-*: written afterwards, never tuned on.
for (const language of ['zh', 'en', 'holdout-zh', 'holdout-en']) {
  const result = evaluate(readLabeledSet(new URL(`../test/fixtures/sentiment/${language}.tsv`, import.meta.url)));
  console.log(
    `${language}: ${result.items} items · accuracy ${result.accuracy.toFixed(3)} · macro-F1 ${result.macroF1.toFixed(3)} · no theme ("other") ${(result.otherShare * 100).toFixed(1)}%`,
  );
  for (const [label, m] of Object.entries(result.perLabel)) {
    console.log(
      `  ${label.padEnd(8)} precision ${m.precision.toFixed(2)} recall ${m.recall.toFixed(2)} F1 ${m.f1.toFixed(2)} (n=${m.support})`,
    );
  }
  for (const miss of result.misses) console.log(`  ✗ ${miss.expected} → ${miss.got} (${miss.score.toFixed(2)}): ${miss.text}`);
}
