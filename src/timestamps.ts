import { AppError } from './errors.js';
/**
 * Timestamps in the form Date.prototype.toISOString writes, which is what almost every
 * client sends: read from their digits on the ingestion path, where parsing them
 * several times per event (format check, Date, array encoding) added up.
 */

/** What Date.prototype.toISOString writes. */
export const CANONICAL_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The instant a canonical timestamp names, read from its digits; undefined when the
 * text is not canonical or a field is out of range (02-30, 24:00). Parsing with
 * Date.parse would cost several times more and roll such fields over silently.
 */
export function canonicalTimestampMs(text: string): number | undefined {
  if (!CANONICAL_TIMESTAMP.test(text)) return undefined;
  // The regex has made every field digits: read them without making strings.
  const digits = (at: number, count: number) => {
    let value = 0;
    for (let i = at; i < at + count; i++) value = value * 10 + text.charCodeAt(i) - 48;
    return value;
  };
  const year = digits(0, 4);
  const month = digits(5, 2);
  const day = digits(8, 2);
  const hour = digits(11, 2);
  const minute = digits(14, 2);
  const second = digits(17, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  // Days since 1970-01-01 by the proleptic Gregorian calendar (H. Hinnant's
  // days_from_civil): integer arithmetic, where building a Date costs ~10× more.
  const marchYear = month <= 2 ? year - 1 : year;
  const era = Math.floor(marchYear / 400);
  const yearOfEra = marchYear - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146_097 + dayOfEra - 719_468;
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + digits(20, 3);
}

/**
 * How far a client's clock may be from ours: an offline client sends late (events, feedback,
 * learning actions made on the subway), and a clock may run a little ahead.
 */
export const CLIENT_CLOCK = {
  /** Later than this ahead of the server is refused; less ahead counts as now. */
  maxFutureSeconds: 10 * 60,
  /** Older than this is refused (and would miss every report window). */
  maxPastDays: 90,
} as const;

/**
 * A client's "when it happened" (`field`, an ISO date-time the schema has checked) as a
 * Date within CLIENT_CLOCK; absent, now. A clock slightly ahead counts as now.
 */
export function clientTime(value: string | undefined, now: Date, field: string): Date {
  if (value === undefined) return now;
  const at = new Date(value);
  if (at.getTime() > now.getTime() + CLIENT_CLOCK.maxFutureSeconds * 1000)
    throw new AppError('SMT_ERR_VALIDATION', {
      en: `${field} is more than ${CLIENT_CLOCK.maxFutureSeconds / 60} minutes in the future`,
      zh: `${field} 比服务器时间超前 ${CLIENT_CLOCK.maxFutureSeconds / 60} 分钟以上`,
    });
  if (at.getTime() < now.getTime() - CLIENT_CLOCK.maxPastDays * 86_400_000)
    throw new AppError('SMT_ERR_VALIDATION', {
      en: `${field} is more than ${CLIENT_CLOCK.maxPastDays} days in the past`,
      zh: `${field} 早于 ${CLIENT_CLOCK.maxPastDays} 天前`,
    });
  return at > now ? now : at;
}
