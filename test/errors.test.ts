/** Every error code the API can answer with is documented in docs/errors.md. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors.js';

describe('error catalogue', () => {
  it('documents every code with its status', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(ERRORS)) {
      expect(doc, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('uses 4xx for bad input and 5xx only for outages and bugs', () => {
    for (const [code, { status }] of Object.entries(ERRORS)) {
      if (status >= 500) expect(['SMT_ERR_DB_UNAVAILABLE', 'SMT_ERR_SHUTTING_DOWN', 'SMT_ERR_INTERNAL']).toContain(code);
    }
  });
});
