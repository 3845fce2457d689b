/**
 * Feedback, in one run:
 *
 * 1. sentiment scoring speed on one core, items/s for ~200-character Chinese text,
 *    next to segmentation alone: ours, and jieba's (@node-rs/jieba, native, whole
 *    dictionary), the segmenter it replaced;
 * 2. the feedback report over 1M stored items on PostgreSQL (BENCH_DATABASE_URL),
 *    next to a naive report that reads every row's text back and re-scores it.
 */
import os from 'node:os';
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { sql } from 'kysely';
import pg from 'pg';
import { DEFINITION_SETTINGS } from '../src/analytics/definitions.js';
import { openDb } from '../src/db/database.js';
import { migrate } from '../src/db/migrator.js';
import { buildFeedbackReport } from '../src/feedback/report.js';
import { readWordList, Segmenter } from '../src/feedback/segmenter.js';
import { sentimentAnalyzer } from '../src/feedback/sentiment.js';
import { machine, median, quantile, sortedTimings, table } from './lib.js';

const SAMPLES = [
  '这个应用太好用了，故事很精彩，学到了很多地道的表达，但是视频加载有点慢，希望能优化一下。',
  '内容太难了，完全听不懂，字幕和声音也对不上，体验很差，已经卸载了，不推荐给大家。',
  '每天坚持学十分钟，听力明显提高了，第一次不看字幕听懂了整段对话，太神奇了！😍',
  '会员价格有点贵，不过内容很丰富，职场篇的表达很专业，开会的时候用得上，总体还不错。',
];
const text200 = (i: number) => {
  let text = '';
  for (let k = 0; text.length < 200; k++) text += SAMPLES[(i + k) % SAMPLES.length];
  return text.slice(0, 200);
};

function scoringBench(): string {
  const analyzer = sentimentAnalyzer();
  const texts = Array.from({ length: 1000 }, (_, i) => text200(i));
  const jieba = Jieba.withDict(dict);
  const segmenter = new Segmenter(readWordList(new URL('../src/feedback/lexicons/zh-words.tsv', import.meta.url)));
  const run = (fn: (text: string) => unknown) => {
    for (let i = 0; i < 2000; i++) fn(texts[i % texts.length] as string);
    const n = 20_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) fn(texts[i % texts.length] as string);
    return n / ((performance.now() - started) / 1000);
  };
  // Three rounds in turn: this machine's speed moves within minutes.
  const rounds = { ours: [] as number[], segmenter: [] as number[], jieba: [] as number[] };
  for (let round = 0; round < 3; round++) {
    rounds.ours.push(run((text) => analyzer.scoreItem({ text, rating: 4 })));
    rounds.segmenter.push(run((text) => segmenter.cut(text)));
    rounds.jieba.push(run((text) => jieba.cut(text, false)));
  }
  const ours = median(rounds.ours);
  const cut = median(rounds.segmenter);
  const jiebaCut = median(rounds.jieba);
  return [
    '### Sentiment scoring speed (one core, 200-character Chinese texts)',
    '',
    `Machine: ${machine()}. Ours: scoreItem (segmentation, phrase patterns, lexicon scoring with negation/degree/contrast, themes, urgency); medians of 3 rounds.`,
    'Baselines: segmentation alone, ours (segmenter.ts) and jieba (@node-rs/jieba, native, its whole dictionary).',
    '',
    table(
      ['path', 'items/s', 'vs our segmenter alone', 'vs jieba alone'],
      [
        ['scoreItem (ours)', ours, `${((ours / cut) * 100).toFixed(0)}%`, `${((ours / jiebaCut) * 100).toFixed(0)}%`],
        ['our segmenter only', cut, '100%', `${((cut / jiebaCut) * 100).toFixed(0)}%`],
        ['jieba cut only', jiebaCut, `${((jiebaCut / cut) * 100).toFixed(0)}%`, '100%'],
      ],
    ),
  ].join('\n');
}

async function reportBench(adminUrl: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = 'smartalk_bench_feedback'")).rowCount;
  if (!exists) await admin.query('CREATE DATABASE smartalk_bench_feedback');
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = '/smartalk_bench_feedback';
  const db = await openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir() });
  await migrate(db, { settings: DEFINITION_SETTINGS });
  const items = 1_000_000;
  const have = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM feedback`.execute(db.kysely)).rows[0]?.n ?? 0);
  if (have !== items) {
    console.error(`  generating ${items.toLocaleString('en')} feedback items …`);
    await sql`TRUNCATE feedback CASCADE`.execute(db.kysely);
    await sql`INSERT INTO users (id, device_id) SELECT gen_random_uuid(), 'bench-fb-' || g FROM generate_series(1, 10000) g ON CONFLICT DO NOTHING`.execute(
      db.kysely,
    );
    const analyzer = sentimentAnalyzer();
    const scored = SAMPLES.map((sample) => ({ ...analyzer.scoreItem({ text: sample }), text: sample }));
    await sql`
      INSERT INTO feedback (id, user_id, type, rating, emotion, text, created_at, sentiment, sentiment_label, themes, urgent, urgent_reasons)
      SELECT gen_random_uuid(), u.id,
        (ARRAY['magic_moment','overall_experience','bug_report','feature_request'])[1 + g % 4],
        CASE WHEN g % 3 = 0 THEN 1 + g % 5 END,
        CASE WHEN g % 4 = 0 THEN (ARRAY['fully_understood','easier_than_expected','got_the_gist','want_more','a_bit_hard','did_not_understand','too_hard'])[1 + g % 7] END,
        (${scored.map((s) => s.text)}::text[])[1 + g % 4],
        now() - (g % 1209600) * interval '1 second',
        (${scored.map((s) => s.score)}::float8[])[1 + g % 4],
        (${scored.map((s) => s.label)}::text[])[1 + g % 4],
        CASE g % 4 WHEN 0 THEN ARRAY['loading_speed','video_playback'] WHEN 1 THEN ARRAY['content_difficulty','subtitle_sync']
          WHEN 2 THEN ARRAY['other'] ELSE ARRAY['pricing_payment'] END,
        g % 97 = 0, CASE WHEN g % 97 = 0 THEN ARRAY['闪退'] ELSE '{}'::text[] END
      FROM generate_series(1, ${items}) g
      JOIN LATERAL (SELECT id FROM users OFFSET (g % 10000) LIMIT 1) u ON true`.execute(db.kysely);
    await sql`ANALYZE feedback`.execute(db.kysely);
  }
  const median = async (fn: () => Promise<unknown>, runs: number) => quantile(await sortedTimings(fn, runs), 0.5);
  const tz = 'Asia/Shanghai';
  const ours = await median(() => buildFeedbackReport({ db, tz }), 5);
  const windowRows = (await buildFeedbackReport({ db, tz })).totals.items;
  // Naive: read every item of the window back and re-score its text in the app.
  const analyzer = sentimentAnalyzer();
  const naive = await median(async () => {
    const rows = await sql<{ text: string | null; rating: number | null }>`
      SELECT text, rating FROM feedback WHERE created_at >= now() - interval '7 days'`.execute(db.kysely);
    let sum = 0;
    for (const row of rows.rows) sum += analyzer.scoreItem({ text: row.text, rating: row.rating }).score;
    return sum;
  }, 1);
  await db.close();
  return [
    '### Feedback report over 1M stored items (PostgreSQL)',
    '',
    `Machine: ${machine()}. Ours: the whole default 7-day report (${windowRows.toLocaleString('en')} items in the window), median of 5.`,
    'Naive: read the window’s items back and re-score each text in the application (what a report without stored scores would do).',
    '',
    table(
      ['path', 'ms', 'naive ÷ ours'],
      [
        ['feedback report (ours)', ours, `${(naive / ours).toFixed(1)}×`],
        ['re-score every item (naive)', naive, '1.0×'],
      ],
    ),
  ].join('\n');
}

export async function runFeedbackBench(): Promise<string> {
  const parts = [scoringBench()];
  const adminUrl = process.env.BENCH_DATABASE_URL;
  if (adminUrl) parts.push(await reportBench(adminUrl));
  else parts.push('### Feedback report\n\nskipped: set BENCH_DATABASE_URL to an admin connection to a PostgreSQL server');
  return parts.join('\n\n');
}
