/** Option parsers shared by CLI commands; each throws commander's InvalidArgumentError with what it expects. */
import { type Command, type CommanderError, InvalidArgumentError } from 'commander';
import { parseIsoDay } from '../time.js';

/** A command line that cannot be right (a value parsed inside an action): exit 2, as commander's own usage errors. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A wrong command line for `ops check` / `ops diagnose`, whose exit codes are the
 * monitoring-plugin convention: there 2 means a failed check, so a usage error is 3 (UNKNOWN).
 */
export class PluginUsageError extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'PluginUsageError';
  }
}

/** Commands whose usage errors exit 3 (see PluginUsageError). */
const pluginCommands = new WeakSet<Command>();

/** Make a command's own usage errors exit 3 (see PluginUsageError); help still exits 0. */
export function usePluginExitCodes(command: Command): Command {
  pluginCommands.add(command);
  return command.exitOverride((error: CommanderError) => {
    if (error.exitCode === 0) throw error;
    throw new PluginUsageError(error.message);
  });
}

/**
 * Commander exits the process itself on a usage error unless told otherwise, command by
 * command: every command throws instead, so main() decides the exit code (2, or 3 for
 * the plugin-convention commands).
 */
export function throwOnUsageErrors(command: Command): void {
  if (!pluginCommands.has(command)) command.exitOverride();
  for (const sub of command.commands) throwOnUsageErrors(sub);
}

/** A plain date, YYYY-MM-DD, that exists on the calendar. */
export function parseDay(value: string): string {
  if (parseIsoDay(value) === undefined) throw new InvalidArgumentError('expected a date such as 2026-12-01');
  return value;
}

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

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number (0 or more)');
  return Number(value);
}

/**
 * ISO date-times, or a plain date (YYYY-MM-DD) meaning the start of that day in SMARTALK_TZ.
 * `option` names the flag in the error, so a typo says where it is and what is expected.
 */
export function parseWhen(value: string, tz: string, option = 'date'): Date {
  const expected = `${option} expects an ISO date-time (2026-12-01T08:00:00Z) or a day YYYY-MM-DD, got "${value}"`;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    if (parseIsoDay(value) === undefined) throw new UsageError(expected);
    const noonUtc = new Date(`${value}T12:00:00Z`);
    const local = new Date(noonUtc.toLocaleString('en-US', { timeZone: tz, hourCycle: 'h23' }) + ' UTC');
    const offset = local.getTime() - noonUtc.getTime();
    return new Date(Date.parse(`${value}T00:00:00Z`) - offset);
  }
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(parsed.getTime())) throw new UsageError(expected);
  return parsed;
}
