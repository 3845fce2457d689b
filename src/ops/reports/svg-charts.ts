/**
 * Small charts as inline SVG, for reports that are one self-contained file (no script,
 * no fonts, no network). Each figure carries its numbers as a table for screen readers
 * and a title and description on the SVG itself. Every text is escaped.
 */
import { oneLine } from '../../format.js';

/** Escaped for HTML text and attribute values; every line-break form becomes a space. */
export function html(text: string | number): string {
  return oneLine(String(text))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

let figureCount = 0;
const nextId = () => `fig${++figureCount}`;

interface Figure {
  title: string;
  /** One sentence a screen reader says instead of the picture. */
  description: string;
  /** Column names and rows of the numbers behind the chart. */
  table: { head: string[]; rows: Array<Array<string | number>> };
}

function figure(chart: Figure, svg: (ids: { title: string; desc: string }) => string): string {
  const id = nextId();
  const ids = { title: `${id}-t`, desc: `${id}-d` };
  const table = `<table class="numbers sr-only"><caption>${html(chart.title)}</caption><thead><tr>${chart.table.head
    .map((h) => `<th scope="col">${html(h)}</th>`)
    .join('')}</tr></thead><tbody>${chart.table.rows
    .map(
      (row) =>
        `<tr>${row.map((cell, i) => (i === 0 ? `<th scope="row">${html(cell)}</th>` : `<td>${html(cell)}</td>`)).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
  return `<figure>${svg(ids)}<figcaption>${html(chart.title)}</figcaption>${table}</figure>`;
}

const svgOpen = (ids: { title: string; desc: string }, chart: Figure, width: number, height: number) =>
  `<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${ids.title} ${ids.desc}" xmlns="http://www.w3.org/2000/svg"><title id="${ids.title}">${html(chart.title)}</title><desc id="${ids.desc}">${html(chart.description)}</desc>`;

export interface LinePoint {
  label: string;
  value: number | null;
}

/** A line over labelled points (gaps where a value is null), with an optional target line; values 0…max. */
export function lineChart(
  chart: Figure & { points: LinePoint[]; max: number; target?: { value: number; label: string }; format: (v: number) => string },
): string {
  const width = 640;
  const height = 220;
  const pad = { left: 44, right: 12, top: 12, bottom: 34 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = Math.max(1, chart.points.length - 1);
  const x = (i: number) => pad.left + (chart.points.length === 1 ? plotW / 2 : (i / n) * plotW);
  const y = (v: number) => pad.top + plotH - (Math.min(v, chart.max) / chart.max) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => f * chart.max)
    .map(
      (v) =>
        `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${pad.left - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${html(chart.format(v))}</text>`,
    )
    .join('');
  const segments: string[] = [];
  let current: string[] = [];
  chart.points.forEach((p, i) => {
    if (p.value === null) {
      if (current.length) segments.push(current.join(' '));
      current = [];
    } else current.push(`${x(i).toFixed(1)},${y(p.value).toFixed(1)}`);
  });
  if (current.length) segments.push(current.join(' '));
  const every = Math.max(1, Math.ceil(chart.points.length / 7));
  const labels = chart.points
    .map((p, i) =>
      i % every === 0 || (i === chart.points.length - 1 && i % every >= every / 2)
        ? `<text x="${x(i)}" y="${height - 12}" class="axis" text-anchor="${i === 0 ? 'start' : i === chart.points.length - 1 ? 'end' : 'middle'}">${html(p.label)}</text>`
        : '',
    )
    .join('');
  const dots = chart.points
    .map((p, i) => (p.value === null ? '' : `<circle cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" class="dot"/>`))
    .join('');
  const target = chart.target
    ? `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(chart.target.value)}" y2="${y(chart.target.value)}" class="target"/><text x="${pad.left + 4}" y="${y(chart.target.value) - 4}" class="target-label">${html(chart.target.label)}</text>`
    : '';
  return figure(
    chart,
    (ids) =>
      `${svgOpen(ids, chart, width, height)}${grid}${target}${segments.map((s) => `<polyline points="${s}" class="line"/>`).join('')}${dots}${labels}</svg>`,
  );
}

export interface BarRow {
  label: string;
  value: number;
  /** The text shown at the bar's end. */
  display: string;
  /** A mark on the bar's scale (a target), in the same units as value. */
  marker?: number;
  tone?: 'good' | 'bad' | 'neutral';
}

/** What fits the label column; the table under the chart has the whole label. */
const clip = (label: string, max = 26) => (label.length > max ? `${label.slice(0, max - 1)}…` : label);

/** Horizontal bars, one per row, scaled to `max`. */
export function barChart(chart: Figure & { rows: BarRow[]; max: number }): string {
  const width = 640;
  const row = 26;
  const labelW = 190;
  const valueW = 170;
  const height = Math.max(1, chart.rows.length) * row + 8;
  const scale = (v: number) =>
    chart.max > 0 ? (Math.max(0, Math.min(v, chart.max)) / chart.max) * (width - labelW - valueW) : 0;
  const bars = chart.rows
    .map((r, i) => {
      const top = 4 + i * row;
      const marker =
        r.marker === undefined
          ? ''
          : `<line x1="${labelW + scale(r.marker)}" x2="${labelW + scale(r.marker)}" y1="${top}" y2="${top + row - 6}" class="target"/>`;
      return `<text x="${labelW - 8}" y="${top + 15}" class="label" text-anchor="end">${html(clip(r.label))}</text><rect x="${labelW}" y="${top}" width="${scale(r.value).toFixed(1)}" height="${row - 8}" class="bar ${r.tone ?? 'neutral'}"/>${marker}<text x="${labelW + scale(r.value) + 6}" y="${top + 15}" class="value">${html(r.display)}</text>`;
    })
    .join('');
  return figure(chart, (ids) => `${svgOpen(ids, chart, width, height)}${bars}</svg>`);
}
