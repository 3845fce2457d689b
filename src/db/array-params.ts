/**
 * One-dimensional arrays as statement parameters, for statements that take a whole
 * batch as a few array parameters and unnest them side by side.
 *
 * PostgreSQL (through `pg`) gets them in its binary array format: reading a uuid, a
 * timestamp or a string from binary is a copy, where the text form has to be parsed
 * and unquoted element by element (~4 µs of PostgreSQL CPU per ingested event, 10%
 * of it). `pg` sends a Buffer parameter as binary, so the statement must cast the
 * parameter straight to the array type (`$1::uuid[]`).
 *
 * PGlite gets the array literal as text (`{a,"b c",NULL}`), cast through text
 * (`$1::text::uuid[]`): its driver serializes parameters by their declared type and
 * would not pass a Buffer through as an array.
 */
import { canonicalTimestampMs } from '../timestamps.js';
import type { DbEngine } from './database.js';

export type ArrayElementType = 'uuid' | 'text' | 'timestamptz';

/** Element type OIDs (pg_type), which the binary format names. */
const ELEMENT_OID: Record<ArrayElementType, number> = { uuid: 2950, text: 25, timestamptz: 1184 };

/**
 * Where each of a uuid's 16 bytes starts in its 8-4-4-4-12 text. Decoding by table:
 * Buffer.write(…, 'hex') per group cost more than the rest of the encoding.
 */
const UUID_BYTE_DIGITS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const HEX_VALUE = new Uint8Array(128);
for (const [digits, base] of [
  ['0123456789', 0],
  ['abcdef', 10],
  ['ABCDEF', 10],
] as const) {
  for (let i = 0; i < digits.length; i++) HEX_VALUE[digits.charCodeAt(i)] = base + i;
}

/** PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
const UINT32 = 2 ** 32;

/** The cast a parameter carrying such an array needs in the statement, e.g. `::uuid[]`. */
export function arrayParamCast(engine: DbEngine, type: ArrayElementType): string {
  return engine === 'postgres' ? `::${type}[]` : `::text::${type}[]`;
}

/**
 * Encode values as an array parameter for `engine`. uuid values are 8-4-4-4-12 hex
 * strings, timestamptz values ISO 8601 strings with a zone (checked by the caller);
 * undefined is NULL.
 */
export function arrayParam(engine: DbEngine, type: ArrayElementType, values: ReadonlyArray<string | undefined>): Buffer | string {
  return engine === 'postgres' ? binaryArray(type, values) : textArray(type, values);
}

function binaryArray(type: ArrayElementType, values: ReadonlyArray<string | undefined>): Buffer {
  // Header (20 bytes), then each element as its length and bytes. A UTF-16 code unit
  // takes at most 3 bytes of UTF-8, so 3 × length bounds a string.
  let bound = 20;
  for (const value of values) {
    bound += 4 + (value === undefined ? 0 : type === 'uuid' ? 16 : type === 'timestamptz' ? 8 : 3 * value.length);
  }
  const buffer = Buffer.allocUnsafe(bound);
  let at = buffer.writeInt32BE(1, 0); // dimensions
  at = buffer.writeInt32BE(values.includes(undefined) ? 1 : 0, at); // has NULLs
  at = buffer.writeInt32BE(ELEMENT_OID[type], at);
  at = buffer.writeInt32BE(values.length, at);
  at = buffer.writeInt32BE(1, at); // lower bound
  for (const value of values) {
    if (value === undefined) {
      at = buffer.writeInt32BE(-1, at);
    } else if (type === 'uuid') {
      at = buffer.writeInt32BE(16, at);
      for (const digit of UUID_BYTE_DIGITS) {
        buffer[at++] = ((HEX_VALUE[value.charCodeAt(digit)] as number) << 4) | (HEX_VALUE[value.charCodeAt(digit + 1)] as number);
      }
    } else if (type === 'timestamptz') {
      at = buffer.writeInt32BE(8, at);
      // Microseconds stay below 2^53 for any date a Date can hold, so the split is exact.
      const micros = ((canonicalTimestampMs(value) ?? Date.parse(value)) - POSTGRES_EPOCH_MS) * 1000;
      const high = Math.floor(micros / UINT32);
      at = buffer.writeInt32BE(high, at);
      at = buffer.writeUInt32BE(micros - high * UINT32, at);
    } else {
      const length = buffer.write(value, at + 4, 'utf8');
      buffer.writeInt32BE(length, at);
      at += 4 + length;
    }
  }
  return buffer.subarray(0, at);
}

function textArray(type: ArrayElementType, values: ReadonlyArray<string | undefined>): string {
  // uuids and ISO timestamps never need quoting; strings are quoted, their quotes and
  // backslashes escaped.
  const element =
    type === 'text'
      ? (value: string) => (value.includes('"') || value.includes('\\') ? `"${value.replace(/["\\]/g, '\\$&')}"` : `"${value}"`)
      : (value: string) => value;
  return `{${values.map((value) => (value === undefined ? 'NULL' : element(value))).join(',')}}`;
}
