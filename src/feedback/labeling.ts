/**
 * A labeling sheet of the app's own feedback (`smartalk feedback sample`): the texts
 * learners wrote, drawn at random per language, for people to label by the guideline
 * (docs/sentiment.md). `smartalk feedback agreement SHEET` then reads the analyzer
 * against their labels, and the labelers against each other (agreement.ts). That is the
 * measure issue 19 asks for — accuracy on text nobody wrote for the analyzer — taken on
 * the words of the app's own learners.
 *
 * The sheet is blind: it holds no score or label of the analyzer, so a labeler cannot
 * lean on it, and no learner id, so it carries no more than the text needs.
 */
import { randomBytes } from 'node:crypto';
import { stringify } from 'csv-stringify/sync';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { LABELING_SAMPLE } from './definitions.js';

export interface SampledText {
  /** The feedback item's id: merging two labelers' sheets, and never labeling an item twice. */
  id: string;
  /** As stored: zh, en or mixed. */
  language: string;
  text: string;
}

/**
 * Up to `perLanguage` distinct texts of each language written in [since, until), in an
 * order fixed by `seed` (the same seed draws the same lines, so two labelers can be given
 * one sheet). The same sentence sent by many learners is drawn once.
 */
export async function drawLabelingSample(
  db: Db,
  options: { since: Date; until: Date; perLanguage: number; seed: string },
): Promise<SampledText[]> {
  const { rows } = await sql<SampledText>`
    SELECT id, language, text FROM (
      SELECT id, language, text,
        row_number() OVER (PARTITION BY language ORDER BY md5(${options.seed} || id::text)) AS draw
      FROM (
        SELECT DISTINCT ON (language, lower(btrim(text))) id::text AS id, language, text
        FROM feedback
        WHERE created_at >= ${options.since.toISOString()}::timestamptz
          AND created_at < ${options.until.toISOString()}::timestamptz
          AND language IN ('zh', 'en', 'mixed') AND btrim(text) <> ''
        ORDER BY language, lower(btrim(text)), created_at
      ) distinct_texts
    ) drawn
    WHERE draw <= ${options.perLanguage}
    ORDER BY language, draw`.execute(db.kysely);
  return rows;
}

export interface LabelingSample {
  since: string;
  until: string;
  perLanguage: number;
  /** Give it back (`--seed`) to draw the same lines again, for a second labeler. */
  seed: string;
  texts: SampledText[];
}

/** A sample with its defaults filled in and said, so the sheet can be drawn again. */
export async function labelingSample(
  db: Db,
  options: { since?: Date; until?: Date; perLanguage?: number; seed?: string },
): Promise<LabelingSample> {
  const until = options.until ?? new Date();
  const since = options.since ?? new Date(until.getTime() - LABELING_SAMPLE.days * 86_400_000);
  const perLanguage = options.perLanguage ?? LABELING_SAMPLE.perLanguage;
  const seed = options.seed ?? randomBytes(4).toString('hex');
  const texts = await drawLabelingSample(db, { since, until, perLanguage, seed });
  return { since: since.toISOString(), until: until.toISOString(), perLanguage, seed, texts };
}

/** The column people fill in; agreement.ts finds it (and `label 2`, `标注` …) by name. */
export const LABEL_COLUMN = 'label';

/**
 * The sheet as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese
 * right), with an empty label column. A text a spreadsheet would run as a formula (= + - @
 * at its start) is written behind an apostrophe, which the reader takes off again.
 */
export function labelingSheetCsv(rows: readonly SampledText[]): string {
  return `\ufeff${stringify(
    rows.map((row) => [row.id, row.language, guardFormula(row.text), '']),
    {
      header: true,
      columns: ['id', 'language', 'text', LABEL_COLUMN],
      record_delimiter: '\r\n',
      quoted_match: /[\r\n\u2028\u2029]/,
    },
  )}`;
}

const FORMULA_START = /^[=+\-@\t\r]/;
const guardFormula = (text: string) => (FORMULA_START.test(text) ? `'${text}` : text);

/** A sheet's text as it was written: the formula guard taken off. */
export const unguardFormula = (text: string) =>
  text.startsWith("'") && FORMULA_START.test(text.slice(1)) ? text.slice(1) : text;
