/** Option parsers shared by CLI commands; each throws commander's InvalidArgumentError with what it expects. */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected an integer from 0 to 65535');
  return port;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** ISO date-times, or a plain date (YYYY-MM-DD) meaning the start of that day in SMARTALK_TZ. */
export function parseWhen(value: string, tz: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const noonUtc = new Date(`${value}T12:00:00Z`);
    const local = new Date(noonUtc.toLocaleString('en-US', { timeZone: tz, hourCycle: 'h23' }) + ' UTC');
    const offset = local.getTime() - noonUtc.getTime();
    return new Date(Date.parse(`${value}T00:00:00Z`) - offset);
  }
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new Error(`not a date: ${value} (expected an ISO date-time or YYYY-MM-DD)`);
  return parsed;
}
