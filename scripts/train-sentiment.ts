/**
 * `npm run train:sentiment`: train the sentiment analyzer's learned layer on the tuning
 * parts of the labeled sets and write src/feedback/lexicons/sentiment-model.tsv
 * (src/feedback/train.ts). Run it after changing a lexicon, a pattern or a labeled set;
 * a test fails while the shipped model is not the one its sources train.
 * `-- --cross-validate`: print 5-fold cross-validation accuracy for a few L2 penalties.
 */
import { writeFileSync } from 'node:fs';
import { MODEL_URL } from '../src/feedback/sentiment.js';
import { crossValidate, trainingItems, trainModel } from '../src/feedback/train.js';

const items = trainingItems();
if (process.argv.includes('--cross-validate')) {
  for (const l2 of [1e-4, 1e-3, 3e-3, 1e-2]) console.log(`L2 ${l2}: ${crossValidate(items, l2).toFixed(3)}`);
} else {
  const model = trainModel(items);
  writeFileSync(MODEL_URL, model);
  console.log(`trained on ${items.length} lines: ${model.split('\n').length - 3} features`);
}
