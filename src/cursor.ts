/**
 * Page cursors of the lists ordered by a time and a key (alerts by when they fired, reviews
 * by when they are due, the ops log by when it was written): the last item's time and key,
 * opaque to a client, which sends back the `nextCursor` it was given.
 */
import { AppError } from './errors.js';

export interface TimeKey {
  at: Date;
  key: string;
}

/** The 400 for a cursor this API did not give (altered, or from another list). */
export const invalidCursor = (): AppError =>
  new AppError('SMT_ERR_VALIDATION', {
    en: 'cursor is not one this API gave',
    zh: 'cursor 无效：请传入接口返回的 nextCursor',
  });

export const timeKeyCursor = {
  encode: (at: Date, key: string | number): string => Buffer.from(`${at.toISOString()}|${key}`).toString('base64url'),

  /** The time and key a cursor names; a 400 when it is not one this API gave (`key` must match). */
  decode(cursor: string, key: RegExp): TimeKey {
    const [time, value] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
    const at = new Date(time ?? '');
    if (!value || !key.test(value) || Number.isNaN(at.getTime())) throw invalidCursor();
    return { at, key: value };
  },
};

/** One more row than the page was read: the page, and the cursor of the next one (null on the last). */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (last: T) => string): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
