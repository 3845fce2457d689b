/** The one input rule (src/validation.ts): JSON depth and text, the date range, lines of text. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAjv, INPUT_LIMITS, isApiDateTime, jsonProblem, Line, Text } from '../src/validation.js';

/** Depth as the rule counts it, the obvious recursive way (only for values small enough to recurse). */
function depth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depth));
}

const hasBadText = (value: unknown): boolean => {
  if (typeof value === 'string') return value.includes('\u0000') || /[\ud800-\udfff]/u.test(value);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, item]) => hasBadText(key) || hasBadText(item));
};

describe('jsonProblem', () => {
  it('agrees with a recursive reference on depth and text, without recursing itself', () => {
    const text = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('\u0000', 'a\ud800', '\udc00', '😀'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.integer(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(text, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 6 }), (v, maxDepth) => {
        const problem = jsonProblem(v, { maxDepth });
        const tooDeep = depth(v) > maxDepth;
        expect(problem !== undefined).toBe(tooDeep || hasBadText(v));
        if (problem && !hasBadText(v)) expect(problem.message).toBe(`nests deeper than ${maxDepth} levels`);
      }),
      { numRuns: 2000 },
    );
  });

  it('stops at the limit on a value far deeper than the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonProblem(deep)?.message).toBe(`nests deeper than ${INPUT_LIMITS.maxJsonDepth} levels`);
  });
});

describe('the date range', () => {
  it('takes 1970 up to 2200, nothing outside, and no leap second', () => {
    for (const ok of [
      '1970-01-01T00:00:00Z',
      '1970-01-01T08:00:00+08:00',
      '2026-12-01T09:00:00.123Z',
      '2199-12-31T23:59:59.999Z',
    ]) {
      expect(isApiDateTime(ok), ok).toBe(true);
    }
    for (const bad of [
      '1969-12-31T23:59:59Z',
      '1970-01-01T07:59:59+08:00',
      '2200-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '9999-12-31T23:59:59Z',
      '2016-12-31T23:59:60Z',
      '2026-02-30T00:00:00Z',
      'yesterday',
    ]) {
      expect(isApiDateTime(bad), bad).toBe(false);
    }
  });
});

describe('lines and text', () => {
  const ajv = createAjv({ strict: false });
  const line = ajv.compile(Line(20));
  const text = ajv.compile(Text(20));
  it('take a surrogate pair, refuse a lone surrogate, NUL and control characters', () => {
    expect(line('ok 😀 好')).toBe(true);
    expect(text('two\nlines\r\n\ttab')).toBe(true);
    for (const bad of ['\ud800', 'a\udfffb', 'nul\u0000', 'esc\u001b[31m', 'del\u007f']) {
      expect(line(bad), JSON.stringify(bad)).toBe(false);
      expect(text(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(line('no\nnewline')).toBe(false);
    expect(line('')).toBe(false);
  });
});
