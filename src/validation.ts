/**
 * What the API accepts, decided once: text, dates, ids and free-form JSON. Every
 * route's schema is built from these rules (and the JSON body parser applies the
 * text and depth rules to every body), so every part of the API agrees on what a
 * value means and nothing PostgreSQL would refuse reaches it (docs/security.md).
 */
import { Type } from '@fastify/type-provider-typebox';
import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';
import { canonicalTimestampMs } from './timestamps.js';

export const INPUT_LIMITS = {
  /** Nesting of objects and arrays in any JSON body or free-form field, counted from 1. */
  maxJsonDepth: 32,
  /** Instants the API takes: from the Unix epoch to the start of 2200 (PostgreSQL holds both). */
  minInstantMs: Date.UTC(1970, 0, 1),
  maxInstantMs: Date.UTC(2200, 0, 1),
  /** A client's x-request-id is kept when it is this short and of the request-id alphabet. */
  maxRequestIdLength: 64,
} as const;

/**
 * A uuid as PostgreSQL's uuid type reads it back: 8-4-4-4-12 hex digits. ajv-formats
 * also takes the `urn:uuid:` form, which PostgreSQL refuses; accepting it would turn
 * a client's odd id into a 500.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Text we store. Patterns are compiled with the `u` flag, so `\ud800-\udfff` matches
 * only a lone surrogate (a pair is one code point). PostgreSQL refuses NUL in text and
 * lone surrogates in jsonb; other control characters are refused because they are
 * binary or terminal escapes, never a learner's words.
 */
const LINE_PATTERN = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';
/** As a line, plus tab, line feed and carriage return (feedback text). */
const TEXT_PATTERN = '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f\\ud800-\\udfff]*$';

/** A single line of text: no control characters, no NUL, no lone surrogates. */
export const Line = (maxLength: number, options: { minLength?: number; description?: string } = {}) =>
  Type.String({ minLength: options.minLength ?? 1, maxLength, pattern: LINE_PATTERN, ...options });

/** Free text over several lines (tabs and line breaks allowed), otherwise as Line. */
export const Text = (maxLength: number, options: { minLength?: number; description?: string } = {}) =>
  Type.String({ minLength: options.minLength ?? 0, maxLength, pattern: TEXT_PATTERN, ...options });

/** A lower-case slug id of our catalog (`travel`, `travel-01-k01`). */
export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$', description });

/** A uuid, in either case; services compare it lower-cased (normalizeUuid). */
export const Uuid = Type.String({ format: 'uuid' });

/** An instant in the API's range, in RFC 3339 form (docs/errors.md). */
export const DateTime = (description?: string) =>
  Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) });

/** Labels and annotations (Alertmanager, silences): short lines in, short lines out. */
export const LabelMap = Type.Record(Line(128), Line(1024, { minLength: 0 }), { maxProperties: 64 });

export const normalizeUuid = (id: string) => id.toLowerCase();

/** A uuid in PostgreSQL's form (the `uuid` format of every schema). */
export const isUuid = (text: string) => UUID.test(text);

/** ajv-formats' own full check (typed as any of Ajv's format shapes; this one is a definition). */
export const rfc3339DateTime = (addFormats.default.get('date-time', 'full') as { validate: (text: string) => boolean }).validate;

/** True when the instant is inside the range the API takes (INPUT_LIMITS). */
const instantInRange = (ms: number) => ms >= INPUT_LIMITS.minInstantMs && ms < INPUT_LIMITS.maxInstantMs;

/**
 * The date-time format of every schema: RFC 3339 that a JavaScript Date reads (a
 * leap second does not), inside the API's range. Outside it is a 400, never a
 * silent rewrite: PostgreSQL would refuse year 10000 and print year 1 back as 2001.
 * The canonical form (toISOString's, what nearly every client sends) is read from its
 * digits: ajv-formats splits and re-parses every string (~1 µs, a fifth of checking an
 * analytics event); any other form takes ajv-formats' full check.
 */
export function isApiDateTime(text: string): boolean {
  const canonical = canonicalTimestampMs(text);
  if (canonical !== undefined) return instantInRange(canonical);
  return rfc3339DateTime(text) && instantInRange(Date.parse(text));
}

/** The first reason a free-form JSON value is refused, with the JSON path (cut at 200 characters). */
export interface JsonProblem {
  path: string;
  message: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const LONE_SURROGATE_OR_NUL = /\u0000|[\ud800-\udfff]/u;

/**
 * Check a parsed JSON value against the limits every free-form field shares: nesting
 * depth, and text (keys and strings) without NUL or lone surrogates. Iterative, and
 * it stops at the first problem: nothing recursive ever walks a value deeper than the
 * limit (JSON.stringify threw RangeError at ~5,000 levels; that was a 500).
 *
 * `checkText: false` skips the text scan when the raw body had no `\u` escape: JSON
 * text cannot carry NUL or a lone surrogate any other way (a raw control character is
 * a syntax error, invalid UTF-8 decodes to U+FFFD).
 */
export function jsonProblem(
  value: unknown,
  options: { maxDepth?: number; checkText?: boolean; path?: string } = {},
): JsonProblem | undefined {
  const maxDepth = options.maxDepth ?? INPUT_LIMITS.maxJsonDepth;
  const checkText = options.checkText ?? true;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: options.path ?? '' }];
  while (stack.length > 0) {
    const item = stack.pop() as { value: unknown; depth: number; path: string };
    const current = item.value;
    if (typeof current === 'string') {
      if (checkText && LONE_SURROGATE_OR_NUL.test(current)) return { path: shortPath(item.path), message: textMessage(current) };
      continue;
    }
    if (typeof current !== 'object' || current === null) continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) return { path: shortPath(item.path), message: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], depth, path: `${item.path}/${i}` });
      continue;
    }
    for (const key of Object.keys(current)) {
      const path = `${item.path}/${pointerToken(key)}`;
      if (checkText && LONE_SURROGATE_OR_NUL.test(key)) return { path: shortPath(path), message: `key ${textMessage(key)}` };
      stack.push({ value: (current as Record<string, unknown>)[key], depth, path });
    }
  }
  return undefined;
}

const shortPath = (path: string) => (path.length > 200 ? `${path.slice(0, 200)}…` : path || '/');

/** A key as a JSON Pointer token (RFC 6901), cut short: paths are echoed in error messages. */
const pointerToken = (key: string) => {
  const token = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return token.includes('/') || token.includes('~') ? token.replace(/~/g, '~0').replace(/\//g, '~1') : token;
};

const textMessage = (text: string) =>
  text.includes('\u0000') ? 'contains a NUL character' : 'contains a lone surrogate (broken UTF-16)';

export function createAjv(options: Options): Ajv.default {
  const ajv = addFormats.default(new Ajv.default(options));
  ajv.addFormat('uuid', UUID);
  ajv.addFormat('date-time', isApiDateTime);
  return ajv;
}
