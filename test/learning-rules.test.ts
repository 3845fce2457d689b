/** Pure rules of the learning method: chapter unlocks, focus/rescue modes, vTPR options. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DramaRow } from '../src/learning/content.js';
import { lockStates } from '../src/learning/content.js';
import { suggestedMode } from '../src/learning/progress.js';
import { catalogRows, vtprOptions } from '../src/learning/seed.js';

const drama = (chapter: number): DramaRow => ({ id: `t-${chapter}`, interest_id: 't', chapter }) as DramaRow;

describe('chapter unlock rule', () => {
  it('opens chapter 1 and each chapter whose previous one is completed', () => {
    const states = lockStates([drama(3), drama(1), drama(2)], new Set(['t-1']));
    expect(Object.fromEntries(states)).toEqual({
      't-1': { locked: false, requires: null },
      't-2': { locked: false, requires: 't-1' },
      't-3': { locked: true, requires: 't-2' },
    });
  });

  it('never locks a chapter whose predecessor is done, for any completion set', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.integer({ min: 1, max: 8 })), (n, done) => {
        const dramas = Array.from({ length: n }, (_, i) => drama(i + 1));
        const completed = new Set(done.map((c) => `t-${c}`));
        const states = lockStates(dramas, completed);
        for (const d of dramas) {
          const expected = d.chapter > 1 && !completed.has(`t-${d.chapter - 1}`);
          expect(states.get(d.id)?.locked).toBe(expected);
        }
      }),
    );
  });
});

describe('learning modes', () => {
  it('suggests focus after two errors in a row and rescue after four', () => {
    expect([0, 1, 2, 3, 4, 9].map(suggestedMode)).toEqual(['normal', 'normal', 'focus', 'focus', 'rescue', 'rescue']);
  });
});

describe('vTPR options', () => {
  it("has exactly one correct clip, the keyword's own, among four distinct clips", () => {
    for (let position = 1; position <= 15; position++) {
      const options = vtprOptions('d-01', position, 15);
      expect(options).toHaveLength(4);
      expect(options.filter((o) => o.is_correct)).toHaveLength(1);
      expect(options.find((o) => o.is_correct)?.video_path).toBe(`clips/d-01-k${String(position).padStart(2, '0')}.mp4`);
      expect(new Set(options.map((o) => o.video_path)).size).toBe(4);
    }
  });

  it('puts the correct clip at every position across a drama', () => {
    const slots = new Set(Array.from({ length: 15 }, (_, i) => vtprOptions('d-01', i + 1, 15).findIndex((o) => o.is_correct)));
    expect(slots).toEqual(new Set([0, 1, 2, 3]));
  });

  it('seeds three themes, at least two chapters each, 15 keywords with translations per drama', () => {
    const rows = catalogRows();
    expect(rows.interests.map((i) => i.id)).toEqual(['travel', 'movies', 'workplace']);
    for (const interest of rows.interests) {
      expect(rows.dramas.filter((d) => d.interest_id === interest.id).length).toBeGreaterThanOrEqual(2);
    }
    for (const d of rows.dramas) {
      const keywords = rows.keywords.filter((k) => k.drama_id === d.id);
      expect(keywords).toHaveLength(15);
      for (const k of keywords) expect(k.translation_zh).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(new Set(rows.keywords.map((k) => k.id)).size).toBe(rows.keywords.length);
  });
});
