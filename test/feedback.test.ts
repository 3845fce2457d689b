/** Feedback over HTTP: submission, bad input, isolation, logs, the report's exact numbers, Markdown and the facade. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabeledTexts } from '../src/feedback/agreement.js';
import { LABELING_SAMPLE } from '../src/feedback/definitions.js';
import type { LabelingSample } from '../src/feedback/labeling.js';
import type { FeedbackReport } from '../src/feedback/report.js';
import { renderFeedbackMarkdown } from '../src/feedback/report-markdown.js';
import { smartalkAsync } from './helpers/cli.js';
import { api, createLearner, type Learner, logLines, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let alice: Learner;
let bob: Learner;
const stored: Array<{
  sentiment: number;
  label: string;
  themes: string[];
  urgent: boolean;
  type: string;
  rating: number | null;
  text?: string;
}> = [];

const ITEMS = [
  { type: 'magic_moment', emotion: 'fully_understood' },
  { type: 'magic_moment', emotion: 'want_more' },
  { type: 'magic_moment', emotion: 'too_hard' },
  { type: 'overall_experience', rating: 5, text: '故事很精彩，学到了很多地道的表达！' },
  { type: 'overall_experience', rating: 2, text: '视频加载太慢了，字幕也对不上' },
  { type: 'overall_experience', rating: 4, text: 'Great stories but the videos are a bit laggy' },
  { type: 'bug_report', text: '打开就闪退，进度没了' },
  { type: 'feature_request', text: 'Please add a dark mode <script>alert(1)</script> | pipe' },
] as const;

beforeAll(async () => {
  server = await startTestServer();
  alice = await createLearner(server.url);
  bob = await createLearner(server.url);
  for (const [i, item] of ITEMS.entries()) {
    const res = await api(server.url, '/api/v1/feedback', { token: i % 2 ? bob.token : alice.token, body: item });
    expect(res.status, res.text).toBe(201);
    stored.push(res.body);
  }
});
afterAll(async () => {
  await server?.close();
});

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('POST /api/v1/feedback', () => {
  it('answers with the stored item, its sentiment, label, themes and urgency', () => {
    expect(stored[0]).toMatchObject({
      type: 'magic_moment',
      emotion: 'fully_understood',
      sentiment: 1,
      label: 'positive',
      urgent: false,
      themes: [],
    });
    expect(stored[2]).toMatchObject({ sentiment: -1, label: 'negative' });
    expect(stored[3]).toMatchObject({ label: 'positive', themes: ['content_stories', 'learning_method'] });
    expect(stored[4]).toMatchObject({
      label: 'negative',
      urgent: true,
      themes: ['video_playback', 'loading_speed', 'subtitle_sync'],
    });
    expect(stored[6]).toMatchObject({ urgent: true, themes: ['account_data', 'stability'], label: 'negative' });
    expect(stored[7]?.text).toContain('<script>');
  });

  it('rejects bad input with a 4xx and lets nobody write for someone else', async () => {
    const bad = [
      { type: 'overall_experience', rating: 0 },
      { type: 'overall_experience', rating: 6 },
      { type: 'overall_experience', rating: 4.5 },
      { type: 'complaint', text: 'x' },
      { type: 'magic_moment', emotion: 'meh' },
      { type: 'overall_experience', text: 'x'.repeat(2001) },
      { type: 'bug_report', text: 'binary \u0001\u0002 data' },
      { type: 'overall_experience' },
      { type: 'overall_experience', rating: 3, context: { screen: 'x'.repeat(100) } },
      { type: 'overall_experience', rating: 3, extra: true },
    ];
    for (const body of bad) {
      const res = await api(server.url, '/api/v1/feedback', { token: alice.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('SMT_ERR_VALIDATION');
    }
    expect((await api(server.url, '/api/v1/feedback', { body: { type: 'bug_report', text: 'x' } })).status).toBe(401);
    const forOther = await api(server.url, '/api/v1/feedback', {
      token: alice.token,
      body: { type: 'bug_report', text: 'x', userId: bob.userId },
    });
    expect(forOther.status).toBe(403);
    const forSelf = await api(server.url, '/api/v1/feedback', {
      token: alice.token,
      body: { type: 'feature_request', text: 'more stories', userId: alice.userId },
    });
    expect(forSelf.status).toBe(201);
    stored.push(forSelf.body);
  });

  it('keeps feedback text out of the log, and logs urgent items at error level', async () => {
    const isUrgent = (line: Record<string, unknown>) => line.msg === 'urgent feedback received';
    const lines = await logLines(server, (read) => read.filter(isUrgent).length >= 2);
    const log = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const item of ITEMS) if ('text' in item) expect(log).not.toContain(item.text.slice(0, 8));
    const urgent = lines.filter(isUrgent);
    expect(urgent).toHaveLength(2);
    expect(urgent[0]).toMatchObject({ level: 'error' });
    expect(urgent.map((u) => u.reasons)).toContainEqual(['闪退', '进度没了']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^smartalk_feedback_urgent_total 2$/m);
    expect(metrics).toMatch(/^smartalk_feedback_total\{type="magic_moment"\} 3$/m);
  });
});

describe('the feedback report', () => {
  let report: FeedbackReport;
  beforeAll(async () => {
    const res = await api<FeedbackReport>(server.url, '/api/v1/ops/feedback-report', { token: server.opsToken });
    expect(res.status).toBe(200);
    report = res.body;
  });

  it('counts exactly: totals by type, ratings, emotions, labels, urgent', () => {
    expect(report.totals).toMatchObject({
      items: stored.length,
      byType: { magic_moment: 3, overall_experience: 3, bug_report: 1, feature_request: 2 },
      ratings: 3,
    });
    expect(report.totals.averageRating).toBeCloseTo((5 + 2 + 4) / 3, 9);
    expect(report.emotions.find((e) => e.emotion === 'fully_understood')?.count).toBe(1);
    expect(report.emotions.find((e) => e.emotion === 'too_hard')?.count).toBe(1);
    expect(report.sentiment.average).toBeCloseTo(mean(stored.map((s) => s.sentiment)), 9);
    expect(report.sentiment.negative).toBe(stored.filter((s) => s.label === 'negative').length);
    expect(report.sentiment.negativeShare).toBeCloseTo(stored.filter((s) => s.label === 'negative').length / stored.length, 9);
    expect(report.urgent.count).toBe(2);
    expect(report.urgent.items.map((u) => u.type).sort()).toEqual(['bug_report', 'overall_experience']);
    expect(report.lastHour.items).toBe(stored.length);
  });

  it('sets the text read alone against the stars, per language', () => {
    // zh: 5★ praise and 2★ complaint, both read on their stars' side; en: a 4★ "great, but laggy"
    // is a complaint by the guideline (rule 2), so it does not agree with its stars.
    expect(report.sentiment.textVsStars).toEqual([
      { language: 'zh', items: 2, agreeing: 2, agreement: 1 },
      { language: 'en', items: 1, agreeing: 0, agreement: 0 },
    ]);
    expect(renderFeedbackMarkdown(report, 'zh-CN')).toContain('文本判断与星级对照');
  });

  it('ranks themes with counts and quotes, and judges the magic moment', () => {
    const counts = new Map<string, number>();
    for (const item of stored) for (const theme of item.themes) counts.set(theme, (counts.get(theme) ?? 0) + 1);
    expect(Object.fromEntries(report.themes.map((t) => [t.theme, t.count]))).toEqual(Object.fromEntries(counts));
    const loading = report.themes.find((t) => t.theme === 'loading_speed');
    expect(loading?.examples[0]?.text).toBe('视频加载太慢了，字幕也对不上');
    expect(report.magicMoment).toMatchObject({ responses: 3, successes: 2, verdict: 'good' });
    expect(report.magicMoment.successShare).toBeCloseTo(2 / 3, 9);
    expect(report.suggestions.map((s) => s.code)).toContain('triage_urgent');
    expect(report.suggestions.find((s) => s.code === 'triage_urgent')?.evidence).toEqual({ urgent: 2 });
  });

  it('renders Markdown in both languages with learner text escaped', () => {
    const en = renderFeedbackMarkdown(report, 'en');
    expect(en).toContain('# SmarTalk feedback report');
    expect(en).not.toContain('<script>');
    const zh = renderFeedbackMarkdown(report, 'zh-CN');
    expect(zh).toContain('用户反馈报告');
    expect(zh).toContain('紧急反馈');
  });
});

describe('what the report divides by, quotes and renders', () => {
  // A window of its own, 20 days back, written there through writtenAt.
  const since = new Date(Date.now() - 21 * 86_400_000);
  const until = new Date(Date.now() - 19 * 86_400_000);
  const writtenAt = new Date(Date.now() - 20 * 86_400_000).toISOString();
  const WINDOW_ITEMS = [
    { type: 'magic_moment', emotion: 'fully_understood' },
    { type: 'magic_moment', emotion: 'a_bit_hard' },
    { type: 'magic_moment', emotion: 'want_more' },
    { type: 'overall_experience', rating: 5, text: '界面很漂亮，视频也很流畅，太棒了' },
    { type: 'overall_experience', rating: 2, text: '视频一直卡顿，很烦' },
    { type: 'overall_experience', rating: 2, text: '视频一直卡顿，很烦' },
    { type: 'overall_experience', rating: 2, text: '视频一直卡顿，很烦' },
    { type: 'bug_report', rating: 1, text: 'The videos freeze and then the app crashes' },
    { type: 'overall_experience', rating: 2, text: 'Not worth it, made no progress!' },
  ];
  let windowed: FeedbackReport;
  beforeAll(async () => {
    for (const item of WINDOW_ITEMS) {
      const res = await api(server.url, '/api/v1/feedback', { token: alice.token, body: { ...item, writtenAt } });
      expect(res.status, res.text).toBe(201);
      expect(res.body.createdAt).toBe(writtenAt);
    }
    const res = await api<FeedbackReport>(
      server.url,
      `/api/v1/ops/feedback-report?since=${since.toISOString()}&until=${until.toISOString()}`,
      { token: server.opsToken },
    );
    windowed = res.body;
  });

  it('takes writtenAt within the events’ bounds and refuses it beyond them', async () => {
    expect(windowed.totals.items).toBe(WINDOW_ITEMS.length);
    for (const at of [new Date(Date.now() - 91 * 86_400_000), new Date(Date.now() + 3_600_000)]) {
      const res = await api(server.url, '/api/v1/feedback', {
        token: alice.token,
        body: { type: 'overall_experience', rating: 3, writtenAt: at.toISOString() },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/writtenAt/);
    }
  });

  it('has every breakdown sum to 100% of its own base', () => {
    const sum = (values: Array<number | null>) => values.reduce<number>((a, b) => a + (b ?? 0), 0);
    expect(sum(windowed.emotions.map((e) => e.share))).toBeCloseTo(1, 9);
    expect(sum(windowed.emotions.map((e) => e.count))).toBe(windowed.magicMoment.responses);
    expect(windowed.magicMoment.responses).toBe(3);
    expect(sum(Object.values(windowed.totals.byType))).toBe(windowed.totals.items);
    const { positive, neutral, negative } = windowed.sentiment;
    expect(positive + neutral + negative).toBe(windowed.totals.items);
    expect(sum(windowed.sentiment.trend.map((d) => d.items))).toBe(windowed.totals.items);
    // Themes divide by the items with text; textless items have no theme at all.
    expect(windowed.totals.withText).toBe(WINDOW_ITEMS.filter((i) => i.text).length);
    for (const theme of windowed.themes) expect(theme.share).toBeCloseTo(theme.count / windowed.totals.withText, 9);
    const markdown = renderFeedbackMarkdown(windowed, 'en');
    expect(markdown).toContain('| share of 3 answers |');
    expect(markdown).toContain(`Shares are of the ${windowed.totals.withText} items with text`);
  });

  it('quotes each text once, with its theme’s polarity', () => {
    const video = windowed.themes.find((t) => t.theme === 'video_playback');
    expect(video?.kind).toBe('problem');
    const quotes = video?.examples.map((e) => e.text) ?? [];
    expect(quotes).toHaveLength(new Set(quotes).size);
    expect(quotes.sort()).toEqual(['The videos freeze and then the app crashes', '视频一直卡顿，很烦']);
    expect(video?.examples.every((e) => e.label === 'negative')).toBe(true);
    // The praise that mentions the video counts under the theme but is not quoted as a complaint.
    expect(video?.count).toBe(5);
  });

  it('names each urgent reason once, and renders for a terminal without Markdown escapes', async () => {
    const { renderFeedbackReport, urgentReasons } = await import('../src/feedback/report-markdown.js');
    for (const item of windowed.urgent.items) {
      const reasons = urgentReasons(item);
      expect(reasons).toHaveLength(new Set(reasons).size);
      if (item.rating !== null) expect(reasons.filter((r) => r === `rating ${item.rating}`)).toHaveLength(1);
    }
    const markdown = renderFeedbackReport(windowed, 'en', 'md');
    expect(markdown).toContain('made no progress\\!');
    expect(markdown).not.toMatch(/rating 2 · rating 2|rating 2, rating 2/);
    const text = renderFeedbackReport(windowed, 'en', 'text');
    expect(text).toContain('Not worth it, made no progress!');
    expect(text).not.toContain('\\!');
    expect(text).not.toMatch(/^#/m);
  });
});

describe('text for a terminal', () => {
  it('loses control characters and line breaks, keeps the words', async () => {
    const { terminalSafe } = await import('../src/document.js');
    expect(terminalSafe('red\u001b[31m alert\u001b]0;title\u0007\r\nnext\u2028line\u202eevil')).toBe(
      'red[31m alert]0;title next lineevil',
    );
  });
});

describe('hourly rollups', () => {
  it('give the same numbers as the raw items, across hour and day boundaries', async () => {
    const db = server.runtime.db;
    const service = server.runtime.feedback;
    const now = Date.now();
    const texts = ['视频太卡了', '很好用，推荐', 'The audio is too quiet', '还行吧', 'Love the stories 😍'];
    for (let i = 0; i < 40; i++) {
      const at = new Date(now - (i * 97 + 13) * 60_000 * 7); // spread over ~19 days, not on hour marks
      await service.submit(
        i % 2 ? alice.userId : bob.userId,
        { type: i % 3 ? 'overall_experience' : 'bug_report', rating: 1 + (i % 5), text: texts[i % texts.length] },
        at,
      );
    }
    for (const [since, until] of [
      [new Date(now - 7 * 86_400_000 + 1234), new Date(now)],
      [new Date(now - 14 * 86_400_000 - 777), new Date(now - 3 * 86_400_000 + 555)],
    ] as const) {
      const res = await api<FeedbackReport>(
        server.url,
        `/api/v1/ops/feedback-report?since=${since.toISOString()}&until=${until.toISOString()}`,
        { token: server.opsToken },
      );
      const raw = await db.kysely
        .selectFrom('feedback')
        .select((eb) => [
          eb.fn.countAll<number>().as('items'),
          eb.fn.sum<number>('rating').as('ratingSum'),
          eb.fn.count<number>('rating').as('ratings'),
          eb.fn.sum<number>('sentiment').as('sentimentSum'),
        ])
        .where('created_at', '>=', since)
        .where('created_at', '<', until)
        .executeTakeFirstOrThrow();
      expect(res.body.totals.items).toBe(Number(raw.items));
      expect(res.body.totals.ratings).toBe(Number(raw.ratings));
      expect(res.body.totals.averageRating).toBeCloseTo(Number(raw.ratingSum) / Number(raw.ratings), 9);
      expect(res.body.sentiment.average).toBeCloseTo(Number(raw.sentimentSum) / Number(raw.items), 9);
      expect(res.body.sentiment.trend.reduce((n, d) => n + d.items, 0)).toBe(Number(raw.items));
    }
  });
});

describe('the labeling sample (GET /api/v1/ops/feedback-sample, smartalk feedback sample)', () => {
  const draw = (query: string) =>
    api<LabelingSample>(server.url, `/api/v1/ops/feedback-sample?${query}`, { token: server.opsToken });

  it('draws each distinct text of the window once, per language, blind, in the order its seed fixes', async () => {
    expect((await api(server.url, '/api/v1/ops/feedback-sample?seed=a')).status).toBe(401);
    const all = await draw('perLanguage=1000&seed=a');
    expect(all.status, all.text).toBe(200);
    const since = new Date(all.body.since);
    expect(new Date(all.body.until).getTime() - since.getTime()).toBe(LABELING_SAMPLE.days * 86_400_000);
    // The truth: every distinct text of the window, by language, straight from the table.
    const rows = await server.runtime.db.kysely
      .selectFrom('feedback')
      .select(['language', 'text'])
      .where('created_at', '>=', since)
      .where('created_at', '<', new Date(all.body.until))
      .where('text', 'is not', null)
      .execute();
    const distinct = new Set(
      rows.filter((row) => row.language).map((row) => `${row.language}|${row.text?.trim().toLowerCase()}`),
    );
    expect(new Set(all.body.texts.map((t) => `${t.language}|${t.text.trim().toLowerCase()}`))).toEqual(distinct);
    expect(all.body.texts).toHaveLength(distinct.size);
    // Blind: the id, the language and the text, nothing the analyzer said.
    for (const text of all.body.texts) expect(Object.keys(text).sort()).toEqual(['id', 'language', 'text']);
    const two = await draw('perLanguage=2&seed=a');
    expect((await draw('perLanguage=2&seed=a')).body.texts).toEqual(two.body.texts);
    for (const language of ['zh', 'en'])
      expect(two.body.texts.filter((t) => t.language === language)).toEqual(
        all.body.texts.filter((t) => t.language === language).slice(0, 2),
      );
    const unseeded = await draw('perLanguage=2');
    expect(unseeded.body.seed).toMatch(LABELING_SAMPLE.seed);
  });

  it('makes a sheet through the running server that, once labeled, the analyzer is read against', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'smartalk-sheet-'));
    const file = path.join(dir, 'sheet.csv');
    const env = { OPS_TOKEN: server.opsToken, SMARTALK_LANG: 'en' };
    const made = await smartalkAsync(
      ['feedback', 'sample', '--url', server.url, '--per-language', '3', '--seed', 'b', '--out', file],
      env,
    );
    expect(made.status, made.stderr).toBe(0);
    expect(made.stderr).toContain('seed b');
    const sheet = await readFile(file, 'utf8');
    const expected = (await draw('perLanguage=3&seed=b')).body.texts;
    const read = readLabeledTexts(sheet.replace(/,\r\n/g, ',negative\r\n'));
    expect(read?.texts.map((item) => item.text)).toEqual(expected.map((t) => t.text));
    await writeFile(file, sheet.replace(/,\r\n/g, ',negative\r\n'));
    const measured = await smartalkAsync(['feedback', 'agreement', file, '--json'], env);
    expect(measured.status, measured.stderr).toBe(0);
    const result = JSON.parse(measured.stdout);
    expect(result.texts).toBe(expected.length);
    expect(result.analyzer.perLabel.negative.support).toBe(expected.length);
  });

  it('refuses a bad size, seed or window with a 400', async () => {
    for (const query of [
      'perLanguage=0',
      `perLanguage=${LABELING_SAMPLE.maxPerLanguage + 1}`,
      'perLanguage=x',
      "seed=a'b",
      'since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z',
      'size=5',
    ]) {
      const res = await api(server.url, `/api/v1/ops/feedback-sample?${query}`, { token: server.opsToken });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('SMT_ERR_VALIDATION');
    }
  });
});
