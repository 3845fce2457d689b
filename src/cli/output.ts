/** Printing helpers shared by CLI commands: JSON for scripts, a progress bar for people. */
import { styleText } from 'node:util';
import cliProgress from 'cli-progress';
import type Table from 'cli-table3';
import type { TableConstructorOptions } from 'cli-table3';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; silent otherwise (logs, pipes, --json). */
export function progressBar(title: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {value}/{total} {label}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label = '') {
      if (!started) {
        bar.start(total, 0, { label });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Colour only for a terminal that wants it: a TTY, and no NO_COLOR. */
export const useColor = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

/** cli-table3's options for the terminal: its colours only where colour is wanted (a TTY, no NO_COLOR). */
const tableStyle = () => (useColor() ? {} : { style: { head: [], border: [] } });

/**
 * Tables for the terminal, each in tableStyle's colours; cli-table3 loads when a command
 * first prints one (not at every start of the CLI).
 */
export async function tableMaker(): Promise<(options: TableConstructorOptions) => Table.Table> {
  const { default: Table } = await import('cli-table3');
  return (options) => new Table({ ...tableStyle(), ...options });
}

/** How a report prints: text for a terminal, Markdown when piped or redirected. */
export const defaultOutputFormat = (): 'md' | 'text' => (process.stdout.isTTY === true ? 'text' : 'md');

/** Colour for a terminal that wants it (a TTY, no NO_COLOR); plain text otherwise. */
export function paint(color: Parameters<typeof styleText>[0], text: string): string {
  return useColor() ? styleText(color, text) : text;
}

/** The colour of a pass/warn/fail/skip status, wherever one is printed. */
export const STATUS_COLORS = { pass: 'green', warn: 'yellow', fail: 'red', skip: 'gray' } as const;
