/**
 * `smartalk feedback score "TEXT"` (check the analyzer on a sentence), `smartalk feedback
 * agreement FILE` (check it on a store export against the stars) and `smartalk feedback
 * report` (the LaunchFeedbackCollector report, Markdown or JSON).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { type Config, type Lang, loadConfig } from '../../config.js';
import { terminalSafe } from '../../document.js';
import type { LabeledText, RatedReview } from '../../feedback/agreement.js';
import { LABELING_SAMPLE } from '../../feedback/definitions.js';
import type { LabelingSample } from '../../feedback/labeling.js';
import type { FeedbackReport } from '../../feedback/report.js';
import type { SentimentAnalyzer, SentimentLabel } from '../../feedback/sentiment.js';
import { percent } from '../../format.js';
import { say } from '../../i18n.js';
import { parsePositiveInt, parseWhen, UsageError } from '../options.js';
import { defaultOutputFormat, printJson, progressBar, tableMaker, useColor } from '../output.js';
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
      const label = say(config.lang, LABEL_NAMES[result.label]);
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
    .command('sample')
    .description("A labeling sheet: learners' texts drawn at random per language, blind (no score), as CSV")
    .option(
      '--per-language <n>',
      `texts per language (default ${LABELING_SAMPLE.perLanguage}, at most ${LABELING_SAMPLE.maxPerLanguage})`,
      parsePositiveInt,
    )
    .option('--since <when>', `window start (default: ${LABELING_SAMPLE.days} days before --until)`)
    .option('--until <when>', 'window end (default: now)')
    .option('--seed <seed>', 'draw the same texts as a sheet made with this seed (letters, digits, - and _)')
    .option('--out <file>', 'write the sheet to this file (default: stdout)')
    .option('--url <url>', 'read from this server (default: the one running on DATA_DIR, if any)')
    .action(
      async (flags: { perLanguage?: number; since?: string; until?: string; seed?: string; out?: string; url?: string }) => {
        const config = loadConfig();
        if (flags.perLanguage !== undefined && flags.perLanguage > LABELING_SAMPLE.maxPerLanguage)
          throw new UsageError(`--per-language is at most ${LABELING_SAMPLE.maxPerLanguage}`);
        if (flags.seed !== undefined && !LABELING_SAMPLE.seed.test(flags.seed))
          throw new UsageError('--seed takes letters, digits, - and _ (up to 64)');
        const window = {
          since: flags.since ? parseWhen(flags.since, config.tz, '--since') : undefined,
          until: flags.until ? parseWhen(flags.until, config.tz, '--until') : undefined,
        };
        if (window.since && window.until && window.since >= window.until) throw new UsageError('--since must be before --until');
        const options = { ...window, perLanguage: flags.perLanguage, seed: flags.seed };
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(options))
          if (value !== undefined) query.set(key, value instanceof Date ? value.toISOString() : String(value));
        const sample = await readReport<LabelingSample>(
          config,
          '/api/v1/ops/feedback-sample',
          query,
          async ({ db }) => (await import('../../feedback/labeling.js')).labelingSample(db, options),
          flags.url,
        );
        const perLanguage = new Map<string, number>();
        for (const { language } of sample.texts) perLanguage.set(language, (perLanguage.get(language) ?? 0) + 1);
        const counts = [...perLanguage].map(([language, n]) => `${language} ${n}`).join(', ');
        if (sample.texts.length === 0) {
          console.error(
            say(config.lang, {
              en: `no feedback with text between ${sample.since} and ${sample.until}`,
              zh: `${sample.since} 至 ${sample.until} 之间没有带文本的反馈`,
            }),
          );
          process.exitCode = 1;
          return;
        }
        const { labelingSheetCsv } = await import('../../feedback/labeling.js');
        const sheet = labelingSheetCsv(sample.texts);
        if (flags.out) writeFileSync(flags.out, sheet);
        else process.stdout.write(sheet);
        console.error(
          say(config.lang, {
            en: `${sample.texts.length} texts (${counts}) from ${sample.since} to ${sample.until}, seed ${sample.seed}${flags.out ? ` → ${flags.out}` : ''}. Label them by docs/sentiment.md in the "label" column (a second labeler: a "label 2" column), then: smartalk feedback agreement FILE`,
            zh: `${sample.texts.length} 条文本（${counts}），${sample.since} 至 ${sample.until}，种子 ${sample.seed}${flags.out ? ` → ${flags.out}` : ''}。请按 docs/sentiment.md 在 "label" 列标注（第二位标注者用 "label 2" 列），然后运行：smartalk feedback agreement FILE`,
          }),
        );
      },
    );

  feedback
    .command('agreement')
    .description(
      "How the analyzer reads texts against people's labels (a labeled sheet) or against the stars they were given (a store export): CSV or JSON Lines",
    )
    .argument('<file>', 'a text column and label columns (label…, 标注…), or a 1–5 star column (score/rating/stars …)')
    .option('--text-column <name>', 'the column that holds the text')
    .option('--label-column <names>', "the columns that hold people's labels, comma-separated (default: label…, 标注…, 标签…)")
    .option('--rating-column <name>', 'the column that holds the stars (read against the stars even when label columns exist)')
    .option('--misses', 'with labels: list the texts the analyzer read otherwise than the people')
    .option(
      '--cross-validate',
      'with labels: also read each fifth of the lines by a layer retrained with the other four fifths — what learning these labels would buy',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        flags: {
          textColumn?: string;
          labelColumn?: string;
          ratingColumn?: string;
          misses?: boolean;
          crossValidate?: boolean;
          json?: boolean;
        },
      ) => {
        const config = loadConfig();
        const source = readFileSync(file, 'utf8');
        const { readLabeledTexts, readRatedReviews, LabelValueError, ReviewColumnsError } = await import(
          '../../feedback/agreement.js'
        );
        const { sentimentAnalyzer } = await import('../../feedback/sentiment.js');
        try {
          const labeled =
            flags.ratingColumn === undefined
              ? readLabeledTexts(source, {
                  text: flags.textColumn,
                  labels: flags.labelColumn?.split(',').map((name) => name.trim()),
                })
              : null;
          if (labeled) return await printLabeledAgreement(config.lang, file, labeled, sentimentAnalyzer(), flags);
          const read = readRatedReviews(source, { text: flags.textColumn, rating: flags.ratingColumn });
          await printRatingAgreement(config.lang, file, read, sentimentAnalyzer(), flags);
        } catch (error) {
          if (error instanceof ReviewColumnsError)
            throw new UsageError(
              say(config.lang, {
                en: `${error.message}; name them with --text-column and --label-column or --rating-column`,
                zh: `找不到文本列和标注列或评分列（现有列：${error.columns.join(', ')}），请用 --text-column 和 --label-column 或 --rating-column 指定`,
              }),
            );
          if (error instanceof LabelValueError)
            throw new UsageError(
              say(config.lang, {
                en: `${file}: ${error.message}`,
                zh: `${file}：第 ${error.row} 行 "${error.column}" 列的 "${error.value}" 不是标签（正面 / 中性 / 负面，positive / neutral / negative，+ / 0 / -）`,
              }),
            );
          throw error;
        }
      },
    );

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

const LABEL_NAMES = {
  positive: { en: 'positive', zh: '正面' },
  neutral: { en: 'neutral', zh: '中性' },
  negative: { en: 'negative', zh: '负面' },
} as const;
const LABELS = ['positive', 'neutral', 'negative'] as const;
const fixed = (x: number | null) => (x === null ? '–' : x.toFixed(2));

/** Reviews against their stars: per star how the texts were read, then agreement on the side-taking ones. */
async function printRatingAgreement(
  lang: Lang,
  file: string,
  read: { reviews: RatedReview[]; skipped: number },
  analyzer: SentimentAnalyzer,
  flags: { json?: boolean },
): Promise<void> {
  const [{ ratingAgreement }, newTable] = await Promise.all([import('../../feedback/agreement.js'), tableMaker()]);
  if (read.reviews.length === 0)
    throw new Error(say(lang, { en: `no rated reviews in ${file}`, zh: `${file} 中没有带评分的评论` }));
  const progress = progressBar(
    say(lang, { en: 'scoring', zh: '评分中' }),
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
  const table = newTable({
    head: say(lang, { en: 'stars|reviews|read positive|neutral|negative', zh: '星级|评论数|判为正面|中性|负面' }).split('|'),
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
  console.log(
    say(lang, {
      en: `text and stars agree on ${shareOf(result.polar.agreeing, result.polar.reviews)} of ${result.polar.reviews} reviews with 1–2 or 4–5 stars`,
      zh: `在 ${result.polar.reviews} 条 1–2 星或 4–5 星评论中，文本判断与星级一致的占 ${shareOf(result.polar.agreeing, result.polar.reviews)}`,
    }),
  );
  console.log(
    say(lang, {
      en: `negative vs 1–2 stars: precision ${fixed(result.negative.precision)}, recall ${fixed(result.negative.recall)} · positive vs 4–5 stars: precision ${fixed(result.positive.precision)}, recall ${fixed(result.positive.recall)}`,
      zh: `负面 对 1–2 星：精确率 ${fixed(result.negative.precision)}，召回率 ${fixed(result.negative.recall)} · 正面 对 4–5 星：精确率 ${fixed(result.positive.precision)}，召回率 ${fixed(result.positive.recall)}`,
    }),
  );
  if (read.skipped > 0)
    console.log(
      say(lang, {
        en: `${read.skipped} rows skipped (no text, or stars outside 1–5)`,
        zh: `跳过 ${read.skipped} 行（无文本或星级不在 1–5）`,
      }),
    );
}

/**
 * Texts against people's labels: per language how often the analyzer agrees (and its
 * negative label's precision and recall, the alert's), the confusion table, and with two
 * labelers how often they agree with each other — the ceiling to read the rest against.
 */
async function printLabeledAgreement(
  lang: Lang,
  file: string,
  sheet: { texts: LabeledText[]; labelers: string[]; unlabeled: number },
  analyzer: SentimentAnalyzer,
  flags: { json?: boolean; misses?: boolean; crossValidate?: boolean },
): Promise<void> {
  const [{ labeledAgreement }, newTable] = await Promise.all([import('../../feedback/agreement.js'), tableMaker()]);
  if (sheet.texts.length === 0)
    throw new Error(say(lang, { en: `no labeled texts in ${file} yet`, zh: `${file} 中还没有标注过的文本` }));
  let retrain: ((lines: Array<{ label: SentimentLabel; text: string }>) => SentimentLabel[]) | undefined;
  if (flags.crossValidate) {
    const { crossValidateSheet } = await import('../../feedback/train.js');
    const progress = progressBar(say(lang, { en: 'retraining', zh: '重新训练' }), !flags.json && process.stderr.isTTY === true);
    retrain = (lines) => {
      const read = crossValidateSheet(lines, { onFold: (done, folds) => progress.update(done, folds) });
      progress.stop();
      return read;
    };
  }
  const result = labeledAgreement(
    analyzer,
    // Column names come from the file: shown as any text from outside is.
    { ...sheet, labelers: sheet.labelers.map((name) => terminalSafe(name, 40)) },
    { retrain },
  );
  if (flags.json) {
    const { misses, ...figures } = result;
    return printJson({ ...figures, unlabeled: sheet.unlabeled, ...(flags.misses ? { misses } : {}) });
  }
  const byLanguage = newTable({
    head: say(lang, {
      en: 'language|texts|analyzer agrees|kappa|negative precision|negative recall',
      zh: '语言|文本数|分析器一致|kappa|负面精确率|负面召回率',
    }).split('|'),
  });
  for (const row of [...result.analyzer.byLanguage, { language: say(lang, { en: 'all', zh: '全部' }), ...result.analyzer }])
    byLanguage.push([
      row.language,
      row.items,
      percent(row.items === 0 ? null : row.accuracy, 1),
      fixed(row.kappa),
      fixed(row.perLabel.negative.precision),
      fixed(row.perLabel.negative.recall),
    ]);
  console.log(byLanguage.toString());
  const confusion = newTable({
    head: [say(lang, { en: 'labeled \\ read', zh: '标注 \\ 判为' }), ...LABELS.map((label) => say(lang, LABEL_NAMES[label]))],
  });
  for (const label of LABELS)
    confusion.push([say(lang, LABEL_NAMES[label]), ...LABELS.map((read) => result.analyzer.confusion[label][read])]);
  console.log(confusion.toString());
  if (result.retrained) {
    const retrained = newTable({
      head: say(lang, {
        en: 'language|lines|as shipped|retrained (5-fold)|negative recall, shipped → retrained',
        zh: '语言|行数|当前模型|重新训练后（5 折）|负面召回率，当前 → 重新训练',
      }).split('|'),
    });
    const shipped = new Map(result.analyzer.byLanguage.map((row) => [row.language, row]));
    for (const row of [
      ...result.retrained.byLanguage.map((row) => ({ ...row, before: shipped.get(row.language) })),
      { ...result.retrained, language: say(lang, { en: 'all', zh: '全部' }), before: result.analyzer },
    ])
      retrained.push([
        row.language,
        row.items,
        percent(row.before?.accuracy ?? null, 1),
        percent(row.accuracy, 1),
        `${fixed(row.before?.perLabel.negative.recall ?? null)} → ${fixed(row.perLabel.negative.recall)}`,
      ]);
    console.log(retrained.toString());
  }
  const several = result.labelers.length > 1;
  console.log(
    say(lang, {
      en: [
        `${result.texts} labeled texts (${several ? `labelers ${result.labelers.join(', ')}` : `column ${result.labelers[0]}`})`,
        several ? `${result.contested} labeled differently by the labelers, left out above` : '',
        sheet.unlabeled > 0 ? `${sheet.unlabeled} not labeled yet` : '',
      ]
        .filter(Boolean)
        .join('; '),
      zh: [
        `${result.texts} 条已标注文本（${several ? `标注者 ${result.labelers.join('、')}` : `${result.labelers[0]} 列`}）`,
        several ? `其中 ${result.contested} 条标注者意见不一，未计入上表` : '',
        sheet.unlabeled > 0 ? `${sheet.unlabeled} 条尚未标注` : '',
      ]
        .filter(Boolean)
        .join('；'),
    }),
  );
  for (const pair of result.labelerPairs)
    console.log(
      say(lang, {
        en: `${pair.labelers[0]} and ${pair.labelers[1]} agree on ${percent(pair.accuracy, 1)} of the ${pair.items} texts both labeled (kappa ${fixed(pair.kappa)})`,
        zh: `${pair.labelers[0]} 与 ${pair.labelers[1]} 在两人都标注的 ${pair.items} 条中一致 ${percent(pair.accuracy, 1)}（kappa ${fixed(pair.kappa)}）`,
      }),
    );
  if (sheet.labelers.length > 1)
    for (const one of result.analyzerByLabeler)
      console.log(
        say(lang, {
          en: `the analyzer agrees with ${one.labeler} on ${percent(one.accuracy, 1)} of ${one.items} (kappa ${fixed(one.kappa)})`,
          zh: `分析器与 ${one.labeler} 在 ${one.items} 条中一致 ${percent(one.accuracy, 1)}（kappa ${fixed(one.kappa)}）`,
        }),
      );
  if (flags.misses)
    for (const miss of result.misses)
      console.log(`  ${say(lang, LABEL_NAMES[miss.labeled])} → ${say(lang, LABEL_NAMES[miss.read])}: ${terminalSafe(miss.text)}`);
}
