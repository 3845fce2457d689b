/**
 * Calendar arithmetic in SMARTALK_TZ: where hours and days start, and which local
 * day an instant falls on. Reports, retention and schedules all count days this way.
 */
export type Granularity = 'hour' | 'day';

const DAY_MS = 86_400_000;

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * What a wall clock in `tz` shows at `at`: year, month, day, hour (00–23), minute and second
 * as zero-padded text, and the zone's offset ("GMT+8"). One formatter per zone, made once.
 */
export function wallClock(at: Date, tz: string): Record<string, string> {
  let format = wallClockFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'shortOffset',
    });
    wallClockFormats.set(tz, format);
  }
  return Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
}

/** Start of the hour or day (in `tz`) that contains `at`. */
export function startOf(at: Date, granularity: Granularity, tz: string): Date {
  const parts = wallClock(at, tz);
  const localAsUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offset = localAsUtc - Math.floor(at.getTime() / 1000) * 1000;
  const floored =
    granularity === 'hour'
      ? Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour))
      : Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day));
  return new Date(floored - offset);
}

/** The default window: the last seven days up to now, starting on a day (or hour) boundary in `tz`. */
export function defaultWindow(now: Date, granularity: Granularity, tz: string): { since: Date; until: Date } {
  const since =
    granularity === 'hour'
      ? new Date(startOf(now, 'hour', tz).getTime() - (7 * 24 - 1) * 3_600_000)
      : new Date(startOf(now, 'day', tz).getTime() - 6 * DAY_MS);
  return { since, until: now };
}

/** Days since the epoch of the calendar day holding `at` in `tz`. */
export function localDay(at: number, tz: string): number {
  const parts = wallClock(new Date(at), tz);
  return Math.round(Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)) / DAY_MS);
}

/** A calendar day (days since the epoch, as localDay gives it) as YYYY-MM-DD. */
export const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** The calendar day YYYY-MM-DD names (days since the epoch), or undefined when it is no date (2026-02-30). */
export function parseIsoDay(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return undefined;
  const day = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS;
  return isoDay(day) === text ? day : undefined;
}

/** The instant the local calendar day `day` (days since the epoch) starts in `tz`. */
export function dayStart(day: number, tz: string): number {
  const midnightUtc = day * DAY_MS;
  // Offset of tz at that moment (hours of local time ahead of UTC), applied once.
  const local = new Date(midnightUtc).toLocaleString('en-US', { timeZone: tz, hourCycle: 'h23' });
  const asUtc = Date.parse(`${local} UTC`);
  return midnightUtc - (asUtc - midnightUtc);
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes `tz` is ahead of UTC at `at` (480 for Asia/Shanghai). */
export function utcOffsetMinutes(at: Date, tz: string): number {
  let format = offsetFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    offsetFormats.set(tz, format);
  }
  const name = format.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/**
 * Whether local hours in `tz` start on UTC hours throughout [since, until], so UTC-hour
 * rollups can be grouped into local hours and days. True except in the few zones with
 * half- or quarter-hour offsets (Asia/Kolkata, Asia/Kathmandu, Australia/Adelaide …).
 */
export function hoursAlignWithUtc(since: Date, until: Date, tz: string): boolean {
  for (let at = since.getTime(); ; at = Math.min(at + DAY_MS / 4, until.getTime())) {
    if (utcOffsetMinutes(new Date(at), tz) % 60 !== 0) return false;
    if (at >= until.getTime()) return true;
  }
}
