/**
 * Chinese word segmentation for the sentiment scorer: jieba's algorithm (every dictionary
 * word at every position, then the most probable path by word frequency, no HMM for
 * unknown words) over a dictionary of a few tens of thousands of words, in plain
 * TypeScript.
 *
 * Why not jieba itself (@node-rs/jieba): its dictionary held 24–48 MiB of every process
 * that serves content, for a scorer that only reads the words it scores. What segmentation
 * must get right for scoring is narrow: that a scored word stands whole (闪退, 不错), and
 * that it is not read inside a longer word (好 in 好像, 不好 in 不好意思). So the dictionary
 * is jieba's common words (lexicons/zh-words.tsv, derived by scripts/zh-words.ts) plus
 * every word the lexicons score or react to, at a high frequency as they were taught to
 * jieba before.
 *
 * Text outside Han script: Latin letters and digits run into one token, whitespace
 * separates, anything else (punctuation, line breaks, emoji, the scorer's stand-ins) is a
 * token of its own code point — what jieba's cut returned.
 */
import { readFileSync } from 'node:fs';

/** A word the lexicons score or react to outranks any dictionary word it overlaps. */
export const TAUGHT_FREQUENCY = 100_000;

export class Segmenter {
  /**
   * The dictionary as a trie over UTF-16 code units, its edges in one open-addressing hash
   * table of typed arrays (slot → parent node, code, child node): a few MiB that the
   * garbage collector never walks, and no string made per probe. `#logProbability[node]`
   * is the word ending at that node, NaN where none does. Node 0 is the root.
   */
  readonly #edgeParent: Int32Array;
  readonly #edgeCode: Uint16Array;
  readonly #edgeChild: Int32Array;
  readonly #mask: number;
  readonly #logProbability: Float64Array;
  #nodes = 1;
  readonly #unknown: number;
  #best = new Float64Array(256);
  #next = new Int32Array(256);

  constructor(dictionary: Iterable<[string, number]>) {
    const frequencies = new Map<string, number>();
    for (const [word, frequency] of dictionary) frequencies.set(word, Math.max(frequencies.get(word) ?? 0, frequency));
    let total = 0;
    let characters = 0;
    for (const [word, frequency] of frequencies) {
      total += frequency;
      characters += word.length;
    }
    // At most one node per character; the table at most half full.
    let slots = 1024;
    while (slots < characters * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#edgeParent = new Int32Array(slots).fill(-1);
    this.#edgeCode = new Uint16Array(slots);
    this.#edgeChild = new Int32Array(slots);
    this.#logProbability = new Float64Array(characters + 1).fill(Number.NaN);
    const logTotal = Math.log(total);
    // jieba scores a character it does not know as a word of frequency 1.
    this.#unknown = -logTotal;
    for (const [word, frequency] of frequencies) {
      let node = 0;
      for (let i = 0; i < word.length; i++) node = this.#child(node, word.charCodeAt(i), true);
      this.#logProbability[node] = Math.log(frequency) - logTotal;
    }
  }

  /** The child of `node` by `code`: −1 when there is none, unless `create`. */
  #child(node: number, code: number, create = false): number {
    let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(code, 0x85ebca6b)) & this.#mask;
    for (;;) {
      const parent = this.#edgeParent[slot] as number;
      if (parent === -1) {
        if (!create) return -1;
        this.#edgeParent[slot] = node;
        this.#edgeCode[slot] = code;
        this.#edgeChild[slot] = this.#nodes;
        return this.#nodes++;
      }
      if (parent === node && this.#edgeCode[slot] === code) return this.#edgeChild[slot] as number;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Split a text into tokens (lower-casing is the caller's). */
  cut(text: string): string[] {
    const tokens: string[] = [];
    let i = 0;
    while (i < text.length) {
      const code = text.charCodeAt(i);
      if (isHan(code)) {
        let end = i + 1;
        while (end < text.length && isHan(text.charCodeAt(end))) end++;
        this.#cutHan(text, i, end, tokens);
        i = end;
      } else if (isWordStart(code)) {
        let end = i + 1;
        while (end < text.length && (isWordStart(text.charCodeAt(end)) || isInWord(text.charCodeAt(end)))) end++;
        tokens.push(text.slice(i, end));
        i = end;
      } else if ((code <= 0x20 && code !== 0x0a && code !== 0x0d) || code === 0x3000 || code === 0xa0) {
        i++;
      } else {
        const size = (text.codePointAt(i) as number) > 0xffff ? 2 : 1;
        tokens.push(text.slice(i, i + size));
        i += size;
      }
    }
    return tokens;
  }

  /** jieba's DAG and best route over one run of Han characters [start, end). */
  #cutHan(text: string, start: number, end: number, tokens: string[]): void {
    const n = end - start;
    // best[k]: the log probability of the best split of text[start + k, end); next[k]: where
    // its first word ends. Scratch arrays kept between calls: a text has many short runs.
    if (this.#best.length <= n) {
      this.#best = new Float64Array(2 * n + 2);
      this.#next = new Int32Array(2 * n + 2);
    }
    const best = this.#best;
    const next = this.#next;
    best[n] = 0;
    const scores = this.#logProbability;
    for (let k = n - 1; k >= 0; k--) {
      let bestScore = Number.NEGATIVE_INFINITY;
      let bestEnd = k + 1;
      let node = 0;
      for (let stop = k + 1; stop <= n; stop++) {
        node = this.#child(node, text.charCodeAt(start + stop - 1));
        if (node === -1) break;
        const word = scores[node] as number;
        if (Number.isNaN(word)) continue; // a prefix: no word ends here
        const score = word + (best[stop] as number);
        if (score > bestScore) {
          bestScore = score;
          bestEnd = stop;
        }
      }
      // No dictionary word starts here: the character alone, as a word jieba does not know.
      if (bestScore === Number.NEGATIVE_INFINITY) bestScore = this.#unknown + (best[k + 1] as number);
      best[k] = bestScore;
      next[k] = bestEnd;
    }
    for (let k = 0; k < n; k = next[k] as number) tokens.push(text.slice(start + k, start + (next[k] as number)));
  }
}

const isHan = (code: number) => (code >= 0x4e00 && code <= 0x9fff) || (code >= 0x3400 && code <= 0x4dbf);
/** Latin letters (lower case: the caller lowers) and digits; the apostrophe and hyphen inside English words. */
const isWordStart = (code: number) => (code >= 97 && code <= 122) || (code >= 48 && code <= 57);
const isInWord = (code: number) => code === 39 || code === 45;

/** The dictionary file: "word<TAB>frequency" lines. */
export function readWordList(file: URL): Array<[string, number]> {
  const words: Array<[string, number]> = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    words.push([line.slice(0, tab), Number(line.slice(tab + 1))]);
  }
  return words;
}
