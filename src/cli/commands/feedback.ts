/**
 * `smartalk feedback score "TEXT"` (check the analyzer on a sentence), `smartalk feedback
 * agreement FILE` (check it on a store export against the stars) and `smartalk feedback
 * report` (the LaunchFeedbackCollector report, Markdown or JSON).
 */
import { Command, Option } from 'commander';
import { type Config, type Lang, loadConfig } from '../../config.js';
import type { FeedbackReport } from '../../feedback/report.js';
import { percent } from '../../format.js';
import { say } from '../../i18n.js';
import { parseWhen, UsageError } from '../options.js';
import { defaultOutputFormat, printJson, progressBar, useColor } from '../output.js';
import { readReport } from '../report-source.js';

export async function loadFeedbackReport(
  config: Config,
  options: { since?: Date; until?: Date },
  url?: string,
): Promise<FeedbackReport> {
  const query = new URLSearchParams();
  if (options.since) query.set('since', options.since.toISOString());
  if (options.until) query.set('until', options.until.toISOString());
  return readReport(
    config,
    '/api/v1/ops/feedback-report',
    query,
    async ({ db }) => (await import('../../feedback/report.js')).buildFeedbackReport({ db, tz: config.tz }, options),
    url,
  );
}

export function feedbackCommand(): Command {
  const feedback = new Command('feedback').description('User feedback: sentiment, themes, urgent items');

  feedback
    .command('score')
    .description('Score a text with the sentiment analyzer, without storing it')
    .argument('<text>', 'Chinese, English or mixed text')
    .option('--rating <n>', 'a rating 1–5 to combine with the text')
    .option('--json', 'print JSON')
    .action(async (text: string, flags: { rating?: string; json?: boolean }) => {
      const config = loadConfig();
      const rating = flags.rating === undefined ? undefined : Number(flags.rating);
      if (rating !== undefined && !(Number.isInteger(rating) && rating >= 1 && rating <= 5))
        throw new Error('--rating must be 1–5');
      const { readableToken, sentimentAnalyzer } = await import('../../feedback/sentiment.js');
      const analyzer = sentimentAnalyzer();
      const result = analyzer.scoreItem({ text, rating });
      const tokens = analyzer.tokens(text).map(readableToken);
      // A phrase pattern's stand-in is a private-use character: scripts get it as people read it too.
      const hits = result.text?.hits.map((hit) => ({ ...hit, token: readableToken(hit.token) }));
      if (flags.json) return printJson({ ...result, text: result.text && { ...result.text, hits }, tokens });
      const label = say(
        config.lang,
        {
          positive: { en: 'positive', zh: '正面' },
          neutral: { en: 'neutral', zh: '中性' },
          negative: { en: 'negative', zh: '负面' },
        }[result.label],
      );
      console.log(`${say(config.lang, { en: 'score', zh: '得分' })} ${result.score.toFixed(3)} (${label})`);
      console.log(`${say(config.lang, { en: 'themes', zh: '主题' })}: ${result.themes.join(', ')}`);
      if (result.urgent) console.log(`${say(config.lang, { en: 'URGENT', zh: '紧急' })}: ${result.urgentReasons.join(', ')}`);
      console.log(`${say(config.lang, { en: 'tokens', zh: '分词' })}: ${tokens.join(' / ')}`);
      const learned = result.text?.learned;
      if (learned && result.text?.ruleScore !== undefined) {
        console.log(
          `${say(config.lang, { en: 'rules', zh: '规则' })} ${result.text.ruleScore.toFixed(3)} · ${say(config.lang, { en: 'learned', zh: '模型' })}: ${say(config.lang, { en: 'positive', zh: '正面' })} ${percent(learned.positive, 0)}, ${say(config.lang, { en: 'neutral', zh: '中性' })} ${percent(learned.neutral, 0)}, ${say(config.lang, { en: 'negative', zh: '负面' })} ${percent(learned.negative, 0)}`,
        );
      }
      for (const hit of hits ?? []) console.log(`  ${hit.token}: ${hit.value > 0 ? '+' : ''}${hit.value.toFixed(2)}`);
    });

  feedback
    .command('agreement')
    .description('How the analyzer reads store reviews against the stars they were given (a CSV export or JSON Lines)')
    .argument('<file>', 'reviews with a text column and a 1–5 star column (content/text/review …, score/rating/stars …)')
    .option('--text-column <name>', 'the column that holds the text')
    .option('--rating-column <name>', 'the column that holds the stars')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: { textColumn?: string; ratingColumn?: string; json?: boolean }) => {
      const config = loadConfig();
      const { readFileSync } = await import('node:fs');
      const { ratingAgreement, readRatedReviews, ReviewColumnsError } = await import('../../feedback/agreement.js');
      let read: ReturnType<typeof readRatedReviews>;
      try {
        read = readRatedReviews(readFileSync(file, 'utf8'), { text: flags.textColumn, rating: flags.ratingColumn });
      } catch (error) {
        if (error instanceof ReviewColumnsError)
          throw new UsageError(
            say(config.lang, {
              en: `${error.message}; name them with --text-column and --rating-column`,
              zh: `找不到文本列和评分列（现有列：${error.columns.join(', ')}），请用 --text-column 和 --rating-column 指定`,
            }),
          );
        throw error;
      }
      if (read.reviews.length === 0)
        throw new Error(say(config.lang, { en: `no rated reviews in ${file}`, zh: `${file} 中没有带评分的评论` }));
      const { sentimentAnalyzer } = await import('../../feedback/sentiment.js');
      const analyzer = sentimentAnalyzer();
      const progress = progressBar(
        say(config.lang, { en: 'scoring', zh: '评分中' }),
        !flags.json && process.stderr.isTTY === true && read.reviews.length > 2000,
      );
      // Scored as the analyzer takes them, so the bar moves with the work.
      const reviews = read.reviews;
      const result = ratingAgreement(
        analyzer,
        (function* () {
          for (let i = 0; i < reviews.length; i++) {
            if (i % 500 === 0) progress.update(i, reviews.length);
            yield reviews[i] as (typeof reviews)[number];
          }
          progress.update(reviews.length, reviews.length);
        })(),
      );
      progress.stop();
      if (flags.json) return printJson({ ...result, skipped: read.skipped });
      const { default: Table } = await import('cli-table3');
      const table = new Table({
        head: say(config.lang, {
          en: 'stars|reviews|read positive|neutral|negative',
          zh: '星级|评论数|判为正面|中性|负面',
        }).split('|'),
      });
      const shareOf = (part: number, whole: number) => percent(whole === 0 ? null : part / whole, 0);
      for (const stars of [5, 4, 3, 2, 1] as const) {
        const row = result.byRating[stars];
        table.push([
          `${'★'.repeat(stars)}`,
          row.reviews,
          shareOf(row.positive, row.reviews),
          shareOf(row.neutral, row.reviews),
          shareOf(row.negative, row.reviews),
        ]);
      }
      console.log(table.toString());
      const fixed = (x: number) => x.toFixed(2);
      console.log(
        say(config.lang, {
          en: `text and stars agree on ${shareOf(result.polar.agreeing, result.polar.reviews)} of ${result.polar.reviews} reviews with 1–2 or 4–5 stars`,
          zh: `在 ${result.polar.reviews} 条 1–2 星或 4–5 星评论中，文本判断与星级一致的占 ${shareOf(result.polar.agreeing, result.polar.reviews)}`,
        }),
      );
      console.log(
        say(config.lang, {
          en: `negative vs 1–2 stars: precision ${fixed(result.negative.precision)}, recall ${fixed(result.negative.recall)} · positive vs 4–5 stars: precision ${fixed(result.positive.precision)}, recall ${fixed(result.positive.recall)}`,
          zh: `负面 对 1–2 星：精确率 ${fixed(result.negative.precision)}，召回率 ${fixed(result.negative.recall)} · 正面 对 4–5 星：精确率 ${fixed(result.positive.precision)}，召回率 ${fixed(result.positive.recall)}`,
        }),
      );
      if (read.skipped > 0)
        console.log(
          say(config.lang, {
            en: `${read.skipped} rows skipped (no text, or stars outside 1–5)`,
            zh: `跳过 ${read.skipped} 行（无文本或星级不在 1–5）`,
          }),
        );
    });

  feedback
    .command('report')
    .description('The LaunchFeedbackCollector report (default: the last 7 days, compared with the 7 before)')
    .option('--since <when>', 'window start: ISO date-time, or YYYY-MM-DD (a day in SMARTALK_TZ)')
    .option('--until <when>', 'window end (default: now)')
    .addOption(
      new Option('--format <format>', 'text (a terminal’s default), md (a pipe’s default) or json').choices([
        'text',
        'md',
        'json',
      ]),
    )
    .option('--json', 'print the report as JSON (same as --format json)')
    .addOption(new Option('--lang <lang>', 'language of the text and Markdown report').choices(['en', 'zh-CN']))
    .option('--url <url>', 'read from this server (default: the one running on DATA_DIR, if any)')
    .addOption(new Option('--facade').hideHelp())
    .action(
      async (flags: {
        since?: string;
        until?: string;
        format?: 'text' | 'md' | 'json';
        json?: boolean;
        lang?: Lang;
        url?: string;
        facade?: boolean;
      }) => {
        const config = loadConfig();
        const report = await loadFeedbackReport(
          config,
          {
            since: flags.since ? parseWhen(flags.since, config.tz, '--since') : undefined,
            until: flags.until ? parseWhen(flags.until, config.tz, '--until') : undefined,
          },
          flags.url,
        );
        const format = flags.json ? 'json' : (flags.format ?? defaultOutputFormat());
        if (format === 'json' && !flags.facade) return printJson(report);
        const { renderFeedbackReport } = await import('../../feedback/report-markdown.js');
        const lang = flags.lang ?? config.lang;
        if (flags.facade) return printJson({ report, markdown: renderFeedbackReport(report, lang, 'md') });
        process.stdout.write(renderFeedbackReport(report, lang, format === 'json' ? 'md' : format, useColor()));
      },
    );
  return feedback;
}
