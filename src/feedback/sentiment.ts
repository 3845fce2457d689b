/**
 * Sentiment of one feedback item, in [−1, 1], for Chinese, English and mixed text.
 *
 * Text: segmented by jieba's method (segmenter.ts; our lexicon words stay whole), each
 * sentiment word scored from the lexicons, then adjusted by the modifiers before it:
 * a negator within 3 tokens flips it (不好, not good), a degree adverb within 2
 * scales it (很好, very good), and a contrast word (但是, but) makes the clause after
 * it count more than the clause before it. Emoji count as words. The sum is squashed
 * to (−1, 1) the way VADER does (x / √(x² + 15)).
 *
 * Then the learned layer (learned.ts) weighs the rules' verdict with the text's words; the
 * text's score is its P(positive) − P(negative), held in its most probable label's zone.
 *
 * Item: the weighted mean of the signals present — the emotion label's weight
 * (learning/emotions.ts), the rating ((r − 3) / 2, counted twice), and the text's score
 * when the text takes a side.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EMOTIONS, type EmotionId } from '../learning/emotions.js';
import { LearnedModel, type RuleVerdict } from './learned.js';
import { readWordList, Segmenter, TAUGHT_FREQUENCY } from './segmenter.js';

const require = createRequire(import.meta.url);
const LEXICON_DIR = new URL('./lexicons/', import.meta.url);
/** The learned layer's weights (learned.ts), written by scripts/train-sentiment.ts. */
export const MODEL_URL = new URL('sentiment-model.tsv', LEXICON_DIR);

export type SentimentLabel = 'positive' | 'neutral' | 'negative';
export type Theme =
  | 'video_playback'
  | 'loading_speed'
  | 'audio_quality'
  | 'responsiveness'
  | 'subtitle_sync'
  | 'content_difficulty'
  | 'pricing_payment'
  | 'account_data'
  | 'stability'
  | 'support'
  | 'interface'
  | 'content_stories'
  | 'learning_method'
  | 'requests'
  | 'usage'
  | 'overall'
  | 'other';

export const THEMES: Theme[] = [
  'video_playback',
  'loading_speed',
  'audio_quality',
  'responsiveness',
  'subtitle_sync',
  'content_difficulty',
  'pricing_payment',
  'account_data',
  'stability',
  'support',
  'interface',
  'content_stories',
  'learning_method',
  'requests',
  'usage',
  'overall',
  'other',
];

/**
 * Which quotes a theme shows: a problem theme quotes complaints only, a topic (stories,
 * the method, the interface, the app overall) its complaints and its praise, each
 * marked, and requests and usage statements the neutral items they are.
 */
export type ThemeKind = 'problem' | 'topic' | 'neutral';
export const THEME_KIND: Record<Theme, ThemeKind> = {
  video_playback: 'problem',
  loading_speed: 'problem',
  audio_quality: 'problem',
  responsiveness: 'problem',
  subtitle_sync: 'problem',
  content_difficulty: 'problem',
  pricing_payment: 'problem',
  account_data: 'problem',
  stability: 'problem',
  support: 'problem',
  interface: 'topic',
  content_stories: 'topic',
  learning_method: 'topic',
  requests: 'neutral',
  usage: 'neutral',
  overall: 'topic',
  other: 'topic',
};

/** Themes of a statement about using the app, or of a verdict on the whole: only when no other theme fits. */
const FALLBACK_THEMES: ReadonlySet<Theme> = new Set(['usage', 'overall']);

/** Scores at or beyond these are positive / negative; between them, neutral. */
export const LABEL_THRESHOLD = 0.3;

/**
 * The learned layer's score: P(positive) − P(negative), held inside the label zone (±0.3)
 * of its most probable label. So the label is the layer's most probable one — "planning to
 * renew the membership" at 69% neutral stays neutral even with 27% negative — and the score
 * still says how far it leans. Chosen by 5-fold cross-validation on the training lines:
 * the most probable label 0.886, the difference cut at ±0.15 0.881, at ±0.3 0.876
 * (docs/sentiment.md).
 */
function layerScore(positive: number, neutral: number, negative: number): number {
  const lean = positive - negative;
  if (neutral >= positive && neutral >= negative) return Math.max(-LEAN_BELOW, Math.min(LEAN_BELOW, lean));
  return positive > negative ? Math.max(LABEL_THRESHOLD, lean) : Math.min(-LABEL_THRESHOLD, lean);
}

/** The most a neutral verdict may lean: just inside the label thresholds. */
const LEAN_BELOW = LABEL_THRESHOLD - 0.01;
const NEGATION_WINDOW = 3;
/** "too quiet", "太快": excess of something not otherwise scored reads as a complaint (AFINN scale). */
const EXCESS_SCORE = -2;
const EXCESS_WORDS = new Set(['too', '太']);
/**
 * Whether "too"/"太" before a word is excess, a complaint (too quiet, 太快, too advanced),
 * rather than degree. English "too" before a word we do not score is excess, and before
 * the few praise words that name a measure rather than a verdict (too easy, too
 * advanced); before any other praise it is degree: "too good", "too useful" — the
 * English of learners who think "太好用了" (store reviews: "Duolingo is too useful", 5
 * stars). Chinese "太…了" before a word we do not score is an exclamation (太聪明了,
 * 太香了), not excess; before one we score it is degree (太好了, 太难了), as before.
 */
function readsAsExcess(excessWord: string, word: string, base: number | undefined, next: string | undefined): boolean {
  if (excessWord === '太') return base === undefined && next !== '了' && next !== '啦';
  return base === undefined || (base > 0 && TOO_MUCH.has(word));
}
/** Praise words that measure: "too" before them is too much of it (too easy, too basic, too advanced). */
const TOO_MUCH = new Set(
  'easy simple basic advanced quick fast short cheap big smart clever calm free casual relaxed gentle soft'.split(' '),
);
/**
 * Words that end a negator's reach: "上不完就闪退" (the crash is not negated), "课本上没有的地道表达"
 * (the negation stays in its relative clause; 的 only right after the negator), "does not load
 * and crashes", "can not log in, then it freezes".
 */
const SCOPE_ENDS = new Set('的 就 才 又 然后 还是 and then because when until after before if'.split(' '));
/** A question clause ("can you add …?", "可以…吗") is a request more than a verdict. */
const QUESTION_WEIGHT = 0.4;
const DEGREE_WINDOW = 2;
const VADER_ALPHA = 15;
/** A star rating's weight against the text's and the emotion label's (1 each). */
const RATING_WEIGHT = 2;
/** Chinese lexicon scores are on AFINN's scale halved; this puts them back on it. */
const ZH_SCALE = 2;

export interface TextSentiment {
  score: number;
  /** Sentiment-bearing tokens with their adjusted contributions (for `smartalk feedback score`). */
  hits: Array<{ token: string; value: number }>;
  language: 'zh' | 'en' | 'mixed' | 'none';
  /** The rules' score, before the learned layer (learned.ts) weighed it with the text's words. */
  ruleScore?: number;
  /** The learned layer's probabilities, when it ran. */
  learned?: { positive: number; neutral: number; negative: number };
}

export interface ItemSentiment {
  score: number;
  label: SentimentLabel;
  themes: Theme[];
  urgent: boolean;
  /** Why urgent: the matched terms, or the rating. */
  urgentReasons: string[];
  text: TextSentiment | null;
}

function readTsv(file: string): string[][] {
  return readFileSync(new URL(file, LEXICON_DIR), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split('\t').map((cell) => cell.trim()));
}

interface Modifier {
  kind: 'negator' | 'degree' | 'contrast';
  weight: number;
}
/** A token's score and its modifier, either or both. */
interface LexiconEntry {
  base: number | undefined;
  modifier: Modifier | undefined;
}

const QUESTION_PARTICLES = new Set(['吗', '呢', '么']);
/** Characters that end a clause; the segmenter makes each one a token of its own. */
const CLAUSE_BREAK = new Uint8Array(0x10000);
for (const char of '，,。.!！?？;；:：\n\r…~～') CLAUSE_BREAK[char.charCodeAt(0)] = 1;
const isClauseBreak = (token: string) => token.length === 1 && CLAUSE_BREAK[token.charCodeAt(0)] === 1;
const MIXED_LATIN = /[a-z]/;
const HAS_HAN = /\p{Script=Han}/u;
/** A Latin letter that starts a word (so "3d" or "1080p" alone is no English). */
const STARTS_LATIN_WORD = /(?:^|[^a-z0-9])[a-z]/i;

/** Chinese, English, both, or neither (digits, emoji): as written, before any phrase is replaced. */
function languageOf(text: string): TextSentiment['language'] {
  const han = HAS_HAN.test(text);
  const latin = STARTS_LATIN_WORD.test(text);
  return han && latin ? 'mixed' : han ? 'zh' : latin ? 'en' : 'none';
}
const EN_CONTRACTIONS: Array<[RegExp, string]> = [
  [/\bcan['’]?t\b/gi, 'can not'],
  [/\bwon['’]?t\b/gi, 'will not'],
  // Written without the apostrophe too, as people type on phones ("dont", "doesnt").
  [/\b(do|does|did|is|are|was|were|could|would|should|has|have|had)n['’]?t\b/gi, '$1 not'],
  [/n['’]t\b/gi, ' not'],
  [/\bcannot\b/gi, 'can not'],
];
const HAS_CONTRACTION = /['’]|nt\b|cannot/i;

/**
 * Phrase patterns (lexicons/patterns.tsv): each match is replaced by a stand-in token — a private-use character, one per score — that
 * the scorer reads as one scored word, so a phrase is weighed in its clause like a word.
 */
const STAND_IN_BASE = 0xe000;
const standIn = (score: number) => String.fromCharCode(STAND_IN_BASE + score + 5);

/** A token as a person reads it: a phrase pattern's stand-in shows as ⟨phrase +2⟩. */
export function readableToken(token: string): string {
  const score = token.length === 1 ? token.charCodeAt(0) - STAND_IN_BASE - 5 : Number.NaN;
  return score >= -5 && score <= 5 ? `⟨phrase ${score > 0 ? '+' : ''}${score}⟩` : token;
}

/** A phrase pattern (one line of patterns.tsv) and the stand-in its matches become. */
interface PhrasePattern {
  pattern: RegExp;
  replacement: string;
}

/**
 * The patterns of each script, in file order: Chinese ones need Han text, English ones
 * Latin letters. One regular expression per line, applied in turn: each is scanned fast
 * for its own first characters, where one alternation of them all took 1.7 times as long.
 */
function phrasePatterns(): { zh: PhrasePattern[]; en: PhrasePattern[] } {
  const rows = readTsv('patterns.tsv');
  const of = (script: string): PhrasePattern[] =>
    rows
      .filter(([, lineScript]) => lineScript === script)
      .map(([score, , source]) => ({ pattern: new RegExp(source as string, 'g'), replacement: ` ${standIn(Number(score))} ` }));
  return { zh: of('zh'), en: of('en') };
}

/** Replace each phrase a pattern matches by the stand-in of its score; earlier lines first. */
function replacePhrases(text: string, patterns: PhrasePattern[]): string {
  let result = text;
  for (const { pattern, replacement } of patterns) result = result.replace(pattern, replacement);
  return result;
}

export class SentimentAnalyzer {
  readonly #words = new Map<string, number>();
  readonly #patterns = phrasePatterns();
  /** Multi-word English entries ("out of sync"), by their first word. */
  readonly #phrases = new Map<string, Array<{ words: string[]; phrase: string }>>();
  readonly #modifiers = new Map<string, Modifier>();
  /** #words and #modifiers in one map: one lookup per token when scoring. */
  readonly #lexicon = new Map<string, LexiconEntry>();
  /** #respelled's answers, `null` for none. */
  readonly #respellings = new Map<string, LexiconEntry | null>();
  readonly #themes = new TermIndex<Theme>();
  readonly #urgent = new TermIndex<string>();
  readonly #segmenter: Segmenter;

  readonly #model: LearnedModel | null;

  /** `model`: the learned layer; by default lexicons/sentiment-model.tsv, `null` for the rules alone (training). */
  constructor(options: { model?: LearnedModel | null } = {}) {
    this.#model = options.model !== undefined ? options.model : existsSync(MODEL_URL) ? LearnedModel.read(MODEL_URL) : null;
    const english = require('sentiment/languages/en/labels.json') as Record<string, number>;
    const emoji = require('sentiment/build/emoji.json') as Record<string, number>;
    for (const [word, score] of Object.entries(english)) this.#words.set(word, score);
    for (const [symbol, score] of Object.entries(emoji)) this.#words.set(symbol, score);
    for (const [entry, score] of readTsv('en-extra.tsv')) {
      const phrase = (entry as string).replace(/n't\b/, ' not');
      this.#words.set(phrase, Number(score));
      const words = phrase.split(' ');
      if (words.length > 1)
        this.#phrases.set(words[0] as string, [...(this.#phrases.get(words[0] as string) ?? []), { words, phrase }]);
    }
    for (const [symbol, score] of readTsv('emoji-extra.tsv')) this.#words.set(symbol as string, Number(score));
    for (let score = -5; score <= 5; score++) this.#words.set(standIn(score), score);
    const chinese = readTsv('zh-sentiment.tsv');
    for (const [word, score] of chinese) this.#words.set(word as string, Number(score) * ZH_SCALE);
    const modifiers = readTsv('zh-modifiers.tsv');
    for (const [word, kind, weight] of modifiers)
      this.#modifiers.set(word as string, { kind: kind as Modifier['kind'], weight: Number(weight) });
    // "zero regrets" is "no regrets".
    for (const word of 'not no zero never nothing nobody none neither nor hardly barely without'.split(' ')) {
      this.#modifiers.set(word, { kind: 'negator', weight: -0.8 });
    }
    // "less scary", "less buggy": a weakened negation.
    this.#modifiers.set('less', { kind: 'negator', weight: -0.5 });
    for (const [word, weight] of [
      ['very', 1.5],
      ['really', 1.4],
      ['so', 1.4],
      ['too', 1.4],
      ['extremely', 1.8],
      ['super', 1.6],
      ['totally', 1.5],
      ['absolutely', 1.6],
      ['quite', 1.2],
      ['pretty', 1.2],
      ['slightly', 0.5],
      ['somewhat', 0.6],
      ['little', 0.6],
      ['bit', 0.6],
    ] as const) {
      this.#modifiers.set(word, { kind: 'degree', weight });
    }
    for (const word of ['but', 'however', 'though', 'although', 'yet', 'unfortunately', 'sadly', 'except'])
      this.#modifiers.set(word, { kind: 'contrast', weight: 2 });

    for (const [theme, term] of readTsv('themes.tsv')) {
      this.#themes.add(term as string, theme as Theme);
    }
    for (const [term] of readTsv('urgent.tsv')) this.#urgent.add(term as string, (term as string).toLowerCase());

    // Every Chinese word we score or react to stands whole (闪退, 不错) over the dictionary's words,
    // and so do the app's own words that hold a scored character (打卡 is not 卡).
    const taught = [
      ...chinese.map(([w]) => w as string),
      ...modifiers.map(([w]) => w as string),
      ...readTsv('zh-domain.tsv').map(([w]) => w as string),
    ]
      .filter((word) => HAS_HAN.test(word))
      .map((word): [string, number] => [word, TAUGHT_FREQUENCY]);
    this.#segmenter = new Segmenter(
      (function* () {
        yield* readWordList(new URL('zh-words.tsv', LEXICON_DIR));
        yield* taught;
      })(),
    );
    for (const [word, base] of this.#words) this.#lexicon.set(word, { base, modifier: this.#modifiers.get(word) });
    for (const [word, modifier] of this.#modifiers)
      if (!this.#words.has(word)) this.#lexicon.set(word, { base: undefined, modifier });
  }

  /** Tokens of a text: words for Han script (segmenter.ts) and for Latin script, emoji as themselves. */
  tokens(text: string): string[] {
    let normalized = text.toLowerCase();
    if (HAS_CONTRACTION.test(normalized)) {
      for (const [pattern, replacement] of EN_CONTRACTIONS) normalized = normalized.replace(pattern, replacement);
    }
    if (HAS_HAN.test(normalized)) normalized = replacePhrases(normalized, this.#patterns.zh);
    if (MIXED_LATIN.test(normalized)) normalized = replacePhrases(normalized, this.#patterns.en);
    const tokens = this.#segmenter.cut(normalized);
    return this.#mergePhrases(tokens);
  }

  #mergePhrases(tokens: string[]): string[] {
    if (this.#phrases.size === 0) return tokens;
    const merged: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      // Phrases are English: a token that does not start with a Latin letter starts none.
      const candidates = (tokens[i] as string).charCodeAt(0) < 0x80 ? this.#phrases.get(tokens[i] as string) : undefined;
      const match = candidates?.find(({ words }) => words.every((word, k) => tokens[i + k] === word));
      if (match) {
        merged.push(match.phrase);
        i += match.words.length - 1;
      } else merged.push(tokens[i] as string);
    }
    return merged;
  }

  /** The text's own score in (−1, 1). */
  scoreText(text: string): TextSentiment {
    return this.#scoreTokens(this.tokens(text), languageOf(text));
  }

  /** The score of a text's tokens; `language` is read from the text itself (languageOf: phrase stand-ins have no script). */
  #scoreTokens(tokens: string[], language: TextSentiment['language']): TextSentiment {
    // One lookup per token up front; the windows below only read these arrays.
    const n = tokens.length;
    const breaks = new Array<boolean>(n);
    const modifiers = new Array<Modifier | undefined>(n);
    const bases = new Array<number | undefined>(n);
    let exclamations = 0;
    for (let i = 0; i < n; i++) {
      const token = tokens[i] as string;
      const first = token.charCodeAt(0);
      breaks[i] = isClauseBreak(token);
      if (breaks[i]) {
        if (token === '!' || token === '！') exclamations++;
        continue;
      }
      const isHan = first >= 0x3400 && first <= 0x9fff;
      const isLatin = first >= 97 && first <= 122;
      const entry = this.#lexicon.get(token) ?? (isLatin ? this.#respelled(token) : undefined);
      modifiers[i] = entry?.modifier;
      bases[i] = entry?.base ?? (isHan ? this.#compound(token) : undefined);
    }

    const clauses: Array<{ sum: number; weight: number; question: boolean }> = [{ sum: 0, weight: 1, question: false }];
    const hits: TextSentiment['hits'] = [];
    for (let i = 0; i < n; i++) {
      if (breaks[i]) {
        const last = clauses.at(-1) as { question: boolean };
        last.question ||= /[?？]/.test(tokens[i] as string);
        clauses.push({ sum: 0, weight: 1, question: false });
        continue;
      }
      if (QUESTION_PARTICLES.has(tokens[i] as string) && (i === n - 1 || breaks[i + 1]))
        (clauses.at(-1) as { question: boolean }).question = true;
      const modifier = modifiers[i];
      if (modifier?.kind === 'contrast') {
        // What came before the contrast counts less, what follows counts more.
        for (const clause of clauses) clause.weight /= modifier.weight;
        clauses.push({ sum: 0, weight: modifier.weight, question: false });
        continue;
      }
      let base = bases[i];
      const previous = tokens[i - 1];
      if (
        previous !== undefined &&
        EXCESS_WORDS.has(previous) &&
        modifier === undefined &&
        readsAsExcess(previous, tokens[i] as string, base, tokens[i + 1])
      ) {
        base = EXCESS_SCORE;
      }
      if (base === undefined || (modifier && modifier.kind !== 'degree')) continue;
      // 好 before a sentiment word is a degree adverb (好难用), not praise.
      if (modifier?.kind === 'degree' && bases[i + 1] !== undefined) continue;
      let value = base;
      for (let back = 1; back <= NEGATION_WINDOW && i - back >= 0 && !breaks[i - back]; back++) {
        if (SCOPE_ENDS.has(tokens[i - back] as string)) {
          // 的 ends the reach only right after the negator, a relative clause (课本上没有的地道表达);
          // inside a negated phrase (感觉不到家的温馨) the negator still reaches past it.
          if (tokens[i - back] !== '的' || modifiers[i - back - 1]?.kind === 'negator') break;
          continue;
        }
        const mod = modifiers[i - back];
        if (mod === undefined) continue;
        if (mod.kind === 'contrast') break;
        if (mod.kind === 'negator') value *= mod.weight;
        else if (back <= DEGREE_WINDOW) value *= mod.weight;
      }
      (clauses.at(-1) as { sum: number }).sum += value;
      hits.push({ token: tokens[i] as string, value });
    }
    let total = 0;
    for (const clause of clauses) total += clause.sum * clause.weight * (clause.question ? QUESTION_WEIGHT : 1);
    if (total !== 0) total *= 1 + Math.min(exclamations, 3) * 0.1;
    return {
      score: total / Math.sqrt(total * total + VADER_ALPHA),
      hits,
      language,
    };
  }

  /**
   * An English word we do not know, looked up again as the slip of one letter it may be:
   * a letter held down (sooo, gooood), a doubled letter too many (helpfull, borring) or one
   * too few (anoying, terible). Only a lexicon word counts as the fix, and only consonants
   * are doubled, in words of five letters or more (a vowel doubled changes the word: lose,
   * loose). Remembered per token, as the same few slips recur.
   */
  #respelled(token: string): LexiconEntry | undefined {
    if (token.length < 4) return undefined;
    const known = this.#respellings.get(token);
    if (known !== undefined) return known ?? undefined;
    let found: LexiconEntry | undefined;
    const tryWord = (word: string) => {
      found ??= this.#lexicon.get(word);
    };
    if (/(.)\1\1/.test(token)) {
      tryWord(token.replace(/(.)\1{2,}/g, '$1$1'));
      tryWord(token.replace(/(.)\1+/g, '$1'));
    }
    for (let i = 1; i < token.length && found === undefined; i++) {
      if (token[i] === token[i - 1]) tryWord(token.slice(0, i) + token.slice(i + 1));
      else if (token.length >= 5 && /[b-df-hj-np-tv-z]/.test(token[i] as string) && i < token.length - 1)
        tryWord(token.slice(0, i + 1) + token.slice(i));
    }
    if (this.#respellings.size > 10_000) this.#respellings.clear();
    this.#respellings.set(token, found ?? null);
    return found;
  }

  /**
   * The segmenter sometimes keeps a modifier glued to its word (不好, 太小, 没用): score the
   * word behind the negator or excess prefix as if they had been split.
   */
  #compound(token: string): number | undefined {
    if (token.length < 2) return undefined;
    const head = token[0] as string;
    if (head !== '不' && head !== '没' && head !== '太') return undefined;
    const restScore = this.#words.get(token.slice(1));
    if (head === '太') return restScore === undefined ? EXCESS_SCORE : restScore * (this.#modifiers.get('太')?.weight ?? 1);
    return restScore === undefined ? undefined : restScore * -0.8;
  }

  themesOf(text: string): Theme[] {
    const found = this.#themes.matches(text.toLowerCase());
    // "Usage" and "overall" are where an item goes when it names nothing more specific.
    const specific = THEMES.filter((t) => found.has(t) && !FALLBACK_THEMES.has(t));
    if (specific.length > 0) return specific;
    const fallback = THEMES.filter((t) => found.has(t));
    return fallback.length > 0 ? fallback.slice(0, 1) : ['other'];
  }

  urgentTerms(text: string): string[] {
    return [...this.#urgent.matches(text.toLowerCase().replace(/’/g, "'"))];
  }

  /** Score a whole item: emotion label, rating and text, whichever are present. */
  scoreItem(input: { text?: string | null; rating?: number | null; emotion?: EmotionId | null }): ItemSentiment {
    // Signals with their weights: a star rating counts twice, the learner's own verdict on
    // the whole (docs/sentiment.md, rule 13), so a 5-star "great, but it crashes" stays positive.
    const signals: Array<[value: number, weight: number]> = [];
    if (input.emotion) signals.push([EMOTIONS[input.emotion].weight, 1]);
    if (input.rating !== undefined && input.rating !== null) signals.push([(input.rating - 3) / 2, RATING_WEIGHT]);
    const raw = input.text?.trim() ? (input.text as string) : null;
    const analyzed = raw === null ? null : this.analyzeText(raw);
    const text = analyzed?.text ?? null;
    if (analyzed && text && this.#model) {
      const [positive, neutral, negative] = this.#model.probabilities(analyzed.tokens, analyzed.rules);
      text.ruleScore = text.score;
      text.learned = { positive, neutral, negative };
      text.score = layerScore(positive, neutral, negative);
    }
    // The text is a signal when it takes a side; a neutral text leaves the rating and the
    // emotion to decide (docs/sentiment.md, rule 13).
    if (text && (labelOf(text.score) !== 'neutral' || signals.length === 0)) signals.push([text.score, 1]);
    let sum = 0;
    let weights = 0;
    for (const [value, weight] of signals) {
      sum += value * weight;
      weights += weight;
    }
    const score = weights === 0 ? 0 : sum / weights;
    const urgentReasons = raw ? this.urgentTerms(raw) : [];
    if (input.rating !== undefined && input.rating !== null && input.rating <= 2) urgentReasons.push(`rating ${input.rating}`);
    return {
      score: Math.max(-1, Math.min(1, score)),
      label: labelOf(score),
      // An item without text says nothing a theme could hold: it has none (not "other").
      themes: analyzed?.themes ?? [],
      urgent: urgentReasons.length > 0,
      urgentReasons,
      text,
    };
  }

  /**
   * The rules' reading of a text: its tokens, its score (a calm report of a problem counts
   * as a complaint even with no scored word in it), and its themes. What the learned layer
   * starts from, in scoring and in training alike.
   */
  analyzeText(raw: string): { tokens: string[]; text: TextSentiment; rules: RuleVerdict; themes: Theme[] } {
    const tokens = this.tokens(raw);
    const text = this.#scoreTokens(tokens, languageOf(raw));
    const themes = this.themesOf(raw);
    if (reportsAProblem(raw, text, themes)) text.score = Math.min(text.score, -LABEL_THRESHOLD);
    return { tokens, text, rules: { score: text.score, label: labelOf(text.score), themes }, themes };
  }
}

/** A question or a request, in either language: asked, not reported. */
const ASKS =
  /[?？]|吗|呢|有没有|能不能|可不可以|是不是|请问|怎么|如何|希望|建议|^(how|what|when|where|why|is|are|can|could|does|do|will|would|any)\b|\b(please|wish|would love|would like)\b/i;

/**
 * Under a problem theme (THEME_KIND), a plain report of the problem in calm words is a
 * complaint (docs/sentiment.md): "字幕和声音对不上", "the audio cuts out" name no
 * sentiment word, yet no learner writes them to praise. Not when the text praises
 * anything, asks, or requests.
 */
function reportsAProblem(raw: string, text: TextSentiment, themes: Theme[]): boolean {
  if (labelOf(text.score) !== 'neutral' || text.hits.some((hit) => hit.value > 0)) return false;
  if (themes.includes('requests') || !themes.some((theme) => THEME_KIND[theme] === 'problem')) return false;
  const trimmed = raw.trim();
  // Naming the topic is not reporting a problem ("有中英文字幕两种", "planning to get the
  // membership"): it takes a cue that something is off.
  return FAILURE_CUES.test(trimmed) && !ASKS.test(trimmed);
}

/** Something is off: a negation, or a word of lateness, breakage or error, in either language. */
const FAILURE_CUES =
  /[不没无未]|差|慢|断|卡|错|乱|晚|延迟|\b(not|no|never|cannot|behind|late|delay(ed)?|out|stuck|wrong|missing|off|broken|again)\b|n't\b/i;

export function labelOf(score: number): SentimentLabel {
  if (score >= LABEL_THRESHOLD) return 'positive';
  if (score <= -LABEL_THRESHOLD) return 'negative';
  return 'neutral';
}

/**
 * Terms found in a text, each standing for a value (a theme, an urgent term): English
 * terms match whole words ("crash" not "crashes"… each form is listed), Chinese ones as
 * substrings, looked up by their first character in one pass over the text.
 */
class TermIndex<T> {
  /** Chinese terms by the code of their first character, and a mark for each such code (a faster no). */
  readonly #han = new Map<number, Array<{ term: string; value: T }>>();
  readonly #starts = new Uint8Array(0x10000);
  readonly #latin: Array<{ pattern: RegExp; value: T }> = [];

  add(term: string, value: T): void {
    const lower = term.toLowerCase();
    if (HAS_HAN.test(lower)) {
      const first = lower.charCodeAt(0);
      this.#han.set(first, [...(this.#han.get(first) ?? []), { term: lower, value }]);
      this.#starts[first] = 1;
    } else {
      const escaped = lower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      this.#latin.push({ pattern: new RegExp(`(^|[^a-z])${escaped}($|[^a-z])`), value });
    }
  }

  /** The values of the terms in a lower-cased text. */
  matches(lower: string): Set<T> {
    const found = new Set<T>();
    for (let i = 0; i < lower.length; i++) {
      const code = lower.charCodeAt(i);
      if (this.#starts[code] === 0) continue;
      const candidates = this.#han.get(code);
      if (candidates) for (const { term, value } of candidates) if (lower.startsWith(term, i)) found.add(value);
    }
    if (MIXED_LATIN.test(lower))
      for (const { pattern, value } of this.#latin) if (!found.has(value) && pattern.test(lower)) found.add(value);
    return found;
  }
}

let shared: SentimentAnalyzer | undefined;
/** One analyzer per process: building it loads the lexicons and the segmenter's dictionary. */
export function sentimentAnalyzer(): SentimentAnalyzer {
  shared ??= new SentimentAnalyzer();
  return shared;
}
