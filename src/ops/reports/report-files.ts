/**
 * Reports kept under DATA_DIR/reports (private to the service user, like the rest of
 * DATA_DIR), one file per format: `daily-2026-12-01.html`. Written whole or not at all
 * (a temporary file renamed), so a reader never sees half a report.
 */
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keepPrivate, PRIVATE_FILE_MODE } from '../../files.js';
import type { OpsReport } from './ops-report.js';
import { renderReportHtml } from './render-html.js';
import { renderReportMarkdown } from './render-markdown.js';

export const REPORT_FORMATS = ['html', 'md', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A report file's name; anything else (a path, `..`) is not one. */
export const REPORT_FILE_NAME = /^(daily|weekly|product)-(\d{4}-\d{2}-\d{2})\.(html|md|json)$/;

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export interface SavedReport {
  name: string;
  kind: OpsReport['kind'];
  date: string;
  format: ReportFormat;
  bytes: number;
  savedAt: string;
}

export const reportsDir = (dataDir: string) => path.join(dataDir, 'reports');

export function renderReport(report: OpsReport, format: ReportFormat): string {
  if (format === 'html') return renderReportHtml(report);
  if (format === 'md') return renderReportMarkdown(report);
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Write every format of a report; a report of the same kind and day is replaced. */
export async function saveReport(dataDir: string, report: OpsReport): Promise<SavedReport[]> {
  const dir = reportsDir(dataDir);
  await keepPrivate(dir, 'dir');
  const saved: SavedReport[] = [];
  for (const format of REPORT_FORMATS) {
    const name = `${report.kind}-${report.date}.${format}`;
    const target = path.join(dir, name);
    const text = renderReport(report, format);
    const temporary = `${target}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: PRIVATE_FILE_MODE });
    await rename(temporary, target);
    saved.push({
      name,
      kind: report.kind,
      date: report.date,
      format,
      bytes: Buffer.byteLength(text),
      savedAt: new Date().toISOString(),
    });
  }
  return saved;
}

/** Saved reports, newest day first. */
export async function listReports(dataDir: string): Promise<SavedReport[]> {
  const dir = reportsDir(dataDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const reports: SavedReport[] = [];
  for (const name of names) {
    const match = REPORT_FILE_NAME.exec(name);
    if (!match) continue;
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    if (!info) continue;
    reports.push({
      name,
      kind: match[1] as OpsReport['kind'],
      date: match[2] as string,
      format: match[3] as ReportFormat,
      bytes: info.size,
      savedAt: info.mtime.toISOString(),
    });
  }
  return reports.sort((a, b) => b.date.localeCompare(a.date) || a.name.localeCompare(b.name));
}

/** A saved report's text, or undefined when there is no such report. */
export async function readSavedReport(
  dataDir: string,
  name: string,
): Promise<{ text: string; format: ReportFormat } | undefined> {
  const match = REPORT_FILE_NAME.exec(name);
  if (!match) return undefined;
  const text = await readFile(path.join(reportsDir(dataDir), name), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : { text, format: match[3] as ReportFormat };
}
