/**
 * The learned layer of the sentiment analyzer: a multinomial logistic regression over the
 * rules' verdict and the text's words, trained on the tuning part of the labeled sets
 * (scripts/train-sentiment.ts; docs/sentiment.md) and read from lexicons/sentiment-model.tsv.
 *
 * Why: the rules (lexicons, patterns, negation, contrast) know the words someone listed;
 * learners write "一打开就转圈" or "the sync is a joke" in words nobody listed. The model
 * weighs the rules' score and label together with each word and each pair of adjacent
 * words, so it learns which words carry a verdict in app reviews and when the rules are
 * wrong. On the held-out parts it lifted accuracy by 10–15 points over the rules alone
 * (docs/sentiment.md).
 *
 * Features, each a name and a value:
 *   bias 1 · score (the rules' score × 3) · label:<the rules' label> 2 ·
 *   u:<token> 1 per occurrence · b:<token> <next token> 1 per occurrence ·
 *   s:<stem> 1 per English word with an inflection (crashes, crashing → crash) ·
 *   t:<theme> 1 per theme of the text.
 * Chosen by cross-validation on the training lines (train.ts): the stems took it from
 * 0.895 to 0.905, the themes from 0.899 to 0.903; character pairs for Chinese and a
 * negation-scope mark on the words after not/不 added nothing.
 * Names are hashed (FNV-1a) as they are built: no string is made per feature but a stem.
 */
import { readFileSync } from 'node:fs';

/** The labels in the order of each feature's three weights (sentiment.ts's SentimentLabel). */
export const MODEL_LABELS = ['positive', 'neutral', 'negative'] as const;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 16777619;

function fnv(seed: number, text: string): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/** A feature's key: its hash cut to 30 bits, so a map holds it as a small integer, not a boxed number. */
const keyOf = (hash: number) => hash & 0x3fffffff;
export const featureHash = (name: string) => keyOf(fnv(FNV_OFFSET, name));
const UNIGRAM = fnv(FNV_OFFSET, 'u:');
const BIGRAM = fnv(FNV_OFFSET, 'b:');
const STEM = fnv(FNV_OFFSET, 's:');
const THEME_HASHES = new Map<string, number>();
const themeHash = (theme: string) => {
  let hash = THEME_HASHES.get(theme);
  if (hash === undefined) {
    hash = featureHash(`t:${theme}`);
    THEME_HASHES.set(theme, hash);
  }
  return hash;
};
const SUFFIX = /^([a-z]{3,}?)(ing|ed|es|s|ly|er|y)$/;
/** An English word without its inflection ("crashing", "crashes" → "crash"), so one form teaches the others. */
function stemOf(token: string): string | undefined {
  const code = token.charCodeAt(0);
  if (code < 97 || code > 122 || token.length < 4) return undefined;
  return SUFFIX.exec(token)?.[1];
}
const BIAS = featureHash('bias');
const SCORE = featureHash('score');
const LABEL = Object.fromEntries(MODEL_LABELS.map((label) => [label, featureHash(`label:${label}`)])) as Record<
  (typeof MODEL_LABELS)[number],
  number
>;

/** What the rules said of a text: the model's first features. */
export interface RuleVerdict {
  score: number;
  label: (typeof MODEL_LABELS)[number];
  /** The report's themes of the text (a complaint reads differently under a problem theme). */
  themes?: readonly string[];
}

/** Call `add(hash, value)` for every feature of a text (see the module comment). */
export function forEachFeature(tokens: readonly string[], rules: RuleVerdict, add: (hash: number, value: number) => void): void {
  add(BIAS, 1);
  add(SCORE, rules.score * 3);
  add(LABEL[rules.label], 2);
  for (const theme of rules.themes ?? []) add(themeHash(theme), 1);
  // "b:<previous> " hashed once per token, then carried on by the next token's characters.
  let pairPrefix = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    add(keyOf(fnv(UNIGRAM, token)), 1);
    if (i > 0) add(keyOf(fnv(pairPrefix, token)), 1);
    pairPrefix = fnv(fnv(BIGRAM, token), ' ');
    const stem = stemOf(token);
    if (stem !== undefined) add(keyOf(fnv(STEM, stem)), 1);
  }
}

/** The feature names of a text, for training and for the model file (same hashes as forEachFeature). */
export function featureNames(tokens: readonly string[], rules: RuleVerdict): Map<string, number> {
  const names = new Map<string, number>();
  const add = (name: string, value: number) => names.set(name, (names.get(name) ?? 0) + value);
  add('bias', 1);
  add('score', rules.score * 3);
  add(`label:${rules.label}`, 2);
  for (const theme of rules.themes ?? []) add(`t:${theme}`, 1);
  for (let i = 0; i < tokens.length; i++) {
    add(`u:${tokens[i]}`, 1);
    if (i > 0) add(`b:${tokens[i - 1]} ${tokens[i]}`, 1);
    const stem = stemOf(tokens[i] as string);
    if (stem !== undefined) add(`s:${stem}`, 1);
  }
  return names;
}

/** Weights per feature: one row of three (positive, neutral, negative) per feature hash. */
export class LearnedModel {
  readonly #rows = new Map<number, number>();
  readonly #weights: Float64Array;

  constructor(features: Iterable<[name: string, weights: readonly number[]]>) {
    const rows = [...features];
    this.#weights = new Float64Array(rows.length * 3);
    rows.forEach(([name, weights], row) => {
      this.#rows.set(featureHash(name), row);
      for (let label = 0; label < 3; label++) this.#weights[row * 3 + label] = weights[label] ?? 0;
    });
  }

  static read(file: URL): LearnedModel {
    return LearnedModel.parse(readFileSync(file, 'utf8'));
  }

  /** A model file's text: "feature<TAB>positive<TAB>neutral<TAB>negative" lines. */
  static parse(text: string): LearnedModel {
    const rows: Array<[string, number[]]> = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const cells = line.split('\t');
      rows.push([cells.slice(0, -3).join('\t'), cells.slice(-3).map(Number)]);
    }
    return new LearnedModel(rows);
  }

  /** The probability of each label (positive, neutral, negative) for a text. */
  probabilities(tokens: readonly string[], rules: RuleVerdict): [number, number, number] {
    let positive = 0;
    let neutral = 0;
    let negative = 0;
    forEachFeature(tokens, rules, (hash, value) => {
      const row = this.#rows.get(hash);
      if (row === undefined) return;
      positive += (this.#weights[row * 3] as number) * value;
      neutral += (this.#weights[row * 3 + 1] as number) * value;
      negative += (this.#weights[row * 3 + 2] as number) * value;
    });
    const top = Math.max(positive, neutral, negative);
    const p = Math.exp(positive - top);
    const u = Math.exp(neutral - top);
    const n = Math.exp(negative - top);
    const total = p + u + n;
    return [p / total, u / total, n / total];
  }
}
