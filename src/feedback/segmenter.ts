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
  #edgeParent: Int32Array;
  #edgeCode: Uint16Array;
  #edgeChild: Int32Array;
  #mask: number;
  #logProbability: Float64Array;
  #nodes = 1;
  readonly #unknown: number;
  #best = new Float64Array(256);
  #next = new Int32Array(256);

  /**
   * Words are inserted as they come, with no list or map of them held: the dictionary is
   * read once, at start-up, by every process that scores feedback, and a map of its 36k
   * words measured as ~10 MiB of heap the process kept after it was freed.
   */
  constructor(dictionary: Iterable<[string, number]>) {
    this.#mask = 1023;
    this.#edgeParent = new Int32Array(1024).fill(-1);
    this.#edgeCode = new Uint16Array(1024);
    this.#edgeChild = new Int32Array(1024);
    // Frequencies first (a word listed twice keeps its higher one), turned into log probabilities below.
    this.#logProbability = new Float64Array(1024).fill(Number.NaN);
    let total = 0;
    for (const [word, frequency] of dictionary) {
      let node = 0;
      for (let i = 0; i < word.length; i++) node = this.#child(node, word.charCodeAt(i), true);
      const previous = this.#logProbability[node] as number;
      if (Number.isNaN(previous)) total += frequency;
      else if (frequency > previous) total += frequency - previous;
      else continue;
      this.#logProbability[node] = frequency;
    }
    const logTotal = Math.log(total);
    for (let node = 0; node < this.#nodes; node++) {
      this.#logProbability[node] = Math.log(this.#logProbability[node] as number) - logTotal;
    }
    // jieba scores a character it does not know as a word of frequency 1.
    this.#unknown = -logTotal;
  }

  /** The child of `node` by `code`: −1 when there is none, unless `create`. */
  #child(node: number, code: number, create = false): number {
    let slot = (Math.imul(node, 0x9e3779b1) ^ Math.imul(code, 0x85ebca6b)) & this.#mask;
    for (;;) {
      const parent = this.#edgeParent[slot] as number;
      if (parent === -1) {
        if (!create) return -1;
        // The table stays at most half full; one more node may need room in the scores too.
        if (2 * this.#nodes >= this.#mask) {
          this.#grow();
          return this.#child(node, code, true);
        }
        if (this.#nodes >= this.#logProbability.length) {
          const scores = new Float64Array(2 * this.#logProbability.length).fill(Number.NaN);
          scores.set(this.#logProbability);
          this.#logProbability = scores;
        }
        this.#edgeParent[slot] = node;
        this.#edgeCode[slot] = code;
        this.#edgeChild[slot] = this.#nodes;
        return this.#nodes++;
      }
      if (parent === node && this.#edgeCode[slot] === code) return this.#edgeChild[slot] as number;
      slot = (slot + 1) & this.#mask;
    }
  }

  /** Double the edge table and place every edge again. */
  #grow(): void {
    const [parents, codes, children] = [this.#edgeParent, this.#edgeCode, this.#edgeChild];
    const slots = 2 * parents.length;
    this.#mask = slots - 1;
    this.#edgeParent = new Int32Array(slots).fill(-1);
    this.#edgeCode = new Uint16Array(slots);
    this.#edgeChild = new Int32Array(slots);
    for (let old = 0; old < parents.length; old++) {
      const parent = parents[old] as number;
      if (parent === -1) continue;
      let slot = (Math.imul(parent, 0x9e3779b1) ^ Math.imul(codes[old] as number, 0x85ebca6b)) & this.#mask;
      while (this.#edgeParent[slot] !== -1) slot = (slot + 1) & this.#mask;
      this.#edgeParent[slot] = parent;
      this.#edgeCode[slot] = codes[old] as number;
      this.#edgeChild[slot] = children[old] as number;
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

/** The dictionary file: "word<TAB>frequency" lines, read one at a time (no array of lines). */
export function* readWordList(file: URL): Generator<[string, number]> {
  const text = readFileSync(file, 'utf8');
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start && text.charCodeAt(start) !== 0x23 /* # */) {
      const tab = text.indexOf('\t', start);
      if (tab !== -1 && tab < end) yield [text.slice(start, tab), Number(text.slice(tab + 1, end))];
    }
    start = end + 1;
  }
}
