/** How numbers read in the reports, checks and terminal tables, one definition each. */
import { wallClock } from './time.js';

/** A share as a percentage ("40.0%"), or "—" when there is none. */
export const percent = (share: number | null | undefined, digits = 1): string =>
  share === null || share === undefined ? '—' : `${(share * 100).toFixed(digits)}%`;

/** A share as a bar of block characters, `width` of them at 100%. */
export const bar = (share: number | null, width = 20): string =>
  share === null ? '' : '█'.repeat(Math.round(Math.max(0, Math.min(1, share)) * width));

/**
 * Every line-break form a Markdown renderer, a browser or a terminal may honour — CR LF,
 * LF, a bare CR, NEL, the Unicode line and paragraph separators, vertical tab and form
 * feed — as one space. A bare CR once let learner text break out of its quote into
 * headings and links.
 */
export const oneLine = (text: string): string => text.replace(/[\n\r\u0085\u2028\u2029\v\f]+/g, ' ');

/** A size for people: 512 KiB, 4.7 MiB, 1.2 GiB. */
export const bytes = (n: number): string =>
  n >= 2 ** 30
    ? `${(n / 2 ** 30).toFixed(1)} GiB`
    : n >= 2 ** 20
      ? `${(n / 2 ** 20).toFixed(1)} MiB`
      : `${(n / 1024).toFixed(0)} KiB`;

/**
 * A moment for people, in the zone they work in and saying which: "2026-12-01 21:50:35 GMT+8".
 * Logs and JSON stay UTC; an unmarked local time next to them is a trap at 3 a.m.
 */
export function localTime(at: Date | string, tz: string): string {
  const parts = wallClock(new Date(at), tz);
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}
