/** `smartalk db insights`: PgHero's checks for our database, from the running server (with its pool) or here. */
import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { say } from '../../i18n.js';
import type { DbInsights } from '../../ops/db-insights/insights.js';
import { printJson } from '../output.js';
import { readReport } from '../report-source.js';
import { renderResults } from './ops-checks.js';

export function dbCommand(): Command {
  const db = new Command('db').description('The database: insights (slow statements, indexes, sizes, vacuum, locks, wraparound)');
  db.command('insights')
    .description('PgHero’s checks for our database, each with evidence and what to do; exit 1 if one fails')
    .option('--json', 'print {engine, checkedAt, worst, insights: [{id, status, summary, evidence, action, data}]}')
    .option('--lang <lang>', 'en or zh-CN (default SMARTALK_LANG)')
    .option('--url <url>', 'the server to ask (default: the one running from this DATA_DIR, else the database here)')
    .action(async (flags: { json?: boolean; lang?: string; url?: string }) => {
      const config = loadConfig();
      const lang = flags.lang === 'zh-CN' ? 'zh-CN' : config.lang;
      const insights = await readReport<DbInsights>(
        config,
        '/api/v1/ops/db',
        new URLSearchParams({ lang }),
        async ({ db: here }) => {
          const { collectDbInsights } = await import('../../ops/db-insights/insights.js');
          // The pool here is this command's own: its figures would say nothing about the server.
          return collectDbInsights({ db: here }, { lang });
        },
        flags.url,
      );
      process.exitCode = insights.worst === 'fail' ? 1 : 0;
      if (flags.json) return printJson(insights);
      const heading = say(lang, {
        en: `database insights (${insights.engine}) — ${insights.checkedAt}`,
        zh: `数据库洞察（${insights.engine}）— ${insights.checkedAt}`,
      });
      console.log(renderResults(heading, insights.insights, insights.worst, lang));
    });
  return db;
}
