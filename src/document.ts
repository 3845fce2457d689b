/**
 * A report as a list of blocks (headings, paragraphs, tables, lists, quotes), written
 * once and rendered two ways: Markdown for files, chat and pipes, and plain text for a
 * terminal (no Markdown escapes, tables drawn, colour when the terminal wants it).
 *
 * Words a learner wrote come in as `said` spans and are made safe for each target:
 * escaped for Markdown and HTML, and stripped of control characters for a terminal (an
 * ESC in feedback text must not move the cursor or recolour the on-call's screen);
 * on both, every line-break form becomes a space.
 */
import { styleText } from 'node:util';
import Table from 'cli-table3';
import { oneLine } from './format.js';

export type Tone = 'bad' | 'warn' | 'good' | 'dim' | 'strong';
/** Our own words (trusted), someone else's (`said`, escaped), or ours with a tone. */
export type Span = string | { said: string; max?: number } | { text: string; tone: Tone };
export type Rich = Span | Span[];

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: Rich }
  | { kind: 'paragraph'; text: Rich }
  | { kind: 'table'; head: Rich[]; rows: Rich[][] }
  | { kind: 'list'; items: Rich[] }
  | { kind: 'quote'; text: Rich };

/** Safe inside Markdown text and table cells, and as HTML once rendered: one line, escaped. */
export function escapeMarkdown(text: string, maxLength = 240): string {
  return clip(text, maxLength)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]()#|~!{}]/g, (char) => `\\${char}`);
}

/**
 * Safe on a terminal: one line, without C0/C1 control characters (ESC sequences) or the
 * bidirectional overrides that can make text read differently from what it is.
 */
export function terminalSafe(text: string, maxLength = 240): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return clip(text, maxLength).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
}

function clip(text: string, maxLength: number): string {
  const line = oneLine(text);
  return line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
}

const spans = (rich: Rich): Span[] => (Array.isArray(rich) ? rich : [rich]);

function markdownText(rich: Rich): string {
  return spans(rich)
    .map((span) => (typeof span === 'string' ? span : 'said' in span ? escapeMarkdown(span.said, span.max) : span.text))
    .join('');
}

const TONE_STYLE: Record<Tone, Parameters<typeof styleText>[0]> = {
  bad: 'red',
  warn: 'yellow',
  good: 'green',
  dim: 'gray',
  strong: 'bold',
};

function terminalText(rich: Rich, color: boolean): string {
  return spans(rich)
    .map((span) => {
      if (typeof span === 'string') return span;
      if ('said' in span) return terminalSafe(span.said, span.max);
      return color ? styleText(TONE_STYLE[span.tone], span.text) : span.text;
    })
    .join('');
}

export function toMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${markdownText(block.text)}`, '');
        break;
      case 'paragraph':
        out.push(markdownText(block.text), '');
        break;
      case 'quote':
        out.push(`> ${markdownText(block.text)}`, '');
        break;
      case 'list':
        out.push(...block.items.map((item) => `- ${markdownText(item)}`), '');
        break;
      case 'table':
        out.push(`| ${block.head.map(markdownText).join(' | ')} |`, `|${block.head.map(() => '---|').join('')}`);
        for (const row of block.rows) out.push(`| ${row.map(markdownText).join(' | ')} |`);
        out.push('');
        break;
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** A terminal table without lines between rows (the reports' tables), its head bold when in colour. */
export function compactTable(head: string[], bold = false): Table.Table {
  return new Table({
    head,
    style: { head: bold ? ['bold'] : [], border: [], compact: true },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

export function toTerminal(blocks: Block[], options: { color: boolean }): string {
  const { color } = options;
  const text = (rich: Rich) => terminalText(rich, color);
  const out: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case 'heading': {
        const title = text(block.text);
        const shown = block.level === 1 ? title.toUpperCase() : title;
        if (block.level < 3 && out.length > 0) out.push('');
        out.push(color ? styleText('bold', shown) : shown);
        if (block.level === 1 && !color) out.push('='.repeat(Math.min(shown.length, 72)));
        break;
      }
      case 'paragraph':
        out.push(text(block.text));
        break;
      case 'quote':
        out.push(`  │ ${text(block.text)}`);
        break;
      case 'list':
        out.push(...block.items.map((item) => `  • ${text(item)}`));
        break;
      case 'table': {
        const table = compactTable(block.head.map(text), color);
        for (const row of block.rows) table.push(row.map(text));
        out.push(table.toString());
        break;
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** Markdown for files, chat and pipes; text for a terminal (the CLI decides which, and colour). */
export type OutputFormat = 'md' | 'text';

export function render(blocks: Block[], format: OutputFormat, options: { color?: boolean } = {}): string {
  return format === 'md' ? toMarkdown(blocks) : toTerminal(blocks, { color: options.color ?? false });
}
