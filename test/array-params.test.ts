/** Array parameters (db/array-params.ts) read back by the real engine exactly as sent. */
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArrayElementType, arrayParam, arrayParamCast } from '../src/db/array-params.js';
import type { Db } from '../src/db/database.js';
import { openTestDb } from './helpers/server.js';

let testDb: Awaited<ReturnType<typeof openTestDb>> | undefined;
let db: Db;
beforeAll(async () => {
  testDb = await openTestDb();
  db = testDb.db;
});
afterAll(async () => {
  await testDb?.close();
});

/** What the engine makes of the parameter: each element as text (uuid, text) or epoch ms (timestamptz). */
async function readBack(type: ArrayElementType, values: Array<string | undefined>): Promise<Array<string | number | null>> {
  const param = arrayParam(db.engine, type, values);
  const element = type === 'timestamptz' ? sql`(extract(epoch FROM v) * 1000)::float8` : sql`v::text`;
  const { rows } = await sql<{ value: string | number | null; n: number }>`
    SELECT ${element} AS value, n::int AS n
    FROM unnest(${param}${sql.raw(arrayParamCast(db.engine, type))}) WITH ORDINALITY AS t(v, n) ORDER BY n`.execute(db.kysely);
  return rows.map((row) => (row.value === null ? null : type === 'timestamptz' ? Number(row.value) : row.value));
}

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 5 });

describe('array parameters', () => {
  it('carry uuids in either case, NULLs among them', async () => {
    const anyCaseUuid = fc.uuid().chain((uuid) => fc.constantFrom(uuid, uuid.toUpperCase()));
    await fc.assert(
      fc.asyncProperty(fc.array(optional(anyCaseUuid), { maxLength: 50 }), async (values) => {
        expect(await readBack('uuid', values)).toEqual(values.map((v) => v?.toLowerCase() ?? null));
      }),
      { numRuns: 40 },
    );
  });

  it('carry any text: quotes, backslashes, braces, commas, the word NULL, and characters beyond ASCII', async () => {
    const awkward = fc.constantFrom('', 'NULL', '"', '\\', '{a,b}', ' padded ', '测试 闪退', '🎬 vTPR', 'a"b\\c');
    // PostgreSQL text holds any character but NUL.
    const text = fc.oneof(
      awkward,
      fc.string({ unit: 'binary' }).map((s) => s.replaceAll('\0', '')),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(optional(text), { maxLength: 40 }), async (values) => {
        // Lone surrogates cannot be UTF-8; the engine stores the replacement character.
        const expected = values.map((v) => (v === undefined ? null : Buffer.from(v, 'utf8').toString('utf8')));
        expect(await readBack('text', values)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('carry timestamps to the millisecond, before and after 2000', async () => {
    const instant = fc.date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(optional(instant), { maxLength: 40 }), async (dates) => {
        const values = dates.map((d) => d?.toISOString());
        expect(await readBack('timestamptz', values)).toEqual(dates.map((d) => d?.getTime() ?? null));
      }),
      { numRuns: 40 },
    );
  });
});
