/**
 * `smartalk simulate`: a population of learners driving the real HTTP API, so a
 * newcomer sees a living dashboard and the tests have known ground truth.
 */
import { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { say } from '../../i18n.js';
import { parsePositiveInt } from '../options.js';
import { printJson, progressBar } from '../output.js';

interface SimulateFlags {
  users: number;
  days: number;
  seed?: number;
  url?: string[];
  concurrency: number;
  rate?: number;
  duration?: number;
  json?: boolean;
}

const parseNonNegative = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error('expected a number ≥ 0');
  return n;
};

export function simulateCommand(): Command {
  return new Command('simulate')
    .description('Play a population of learners through the real API: journeys, vTPR attempts, magic moments, returns')
    .option('--users <n>', 'learners to simulate', parsePositiveInt, 100)
    .option('--days <n>', 'spread first launches over this many past days (history)', parseNonNegative, 7)
    .option('--seed <n>', 'random seed; the same seed replays the same population', parsePositiveInt)
    .option('--url <url...>', 'server(s) to drive (default: the one running on DATA_DIR, else http://HOST:PORT)')
    .option('--concurrency <n>', 'learners played at once', parsePositiveInt, 8)
    .option('--rate <n>', 'at most this many requests per second', parsePositiveInt)
    .option(
      '--duration <seconds>',
      'live mode: start learners over this many seconds, with real-time timestamps',
      parsePositiveInt,
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: SimulateFlags) => {
      const config = loadConfig();
      const [{ planPopulation, simulationDefaults, randomSeed }, { runSimulation }, { readLiveServer }] = await Promise.all([
        import('../../analytics/simulation-plan.js'),
        import('../../analytics/simulation-driver.js'),
        import('../../ops/server-link.js'),
      ]);
      const urls = flags.url ?? [readLiveServer(config.dataDir)?.url ?? `http://${config.host}:${config.port}`];
      const seed = flags.seed ?? randomSeed();
      const options = simulationDefaults({
        users: flags.users,
        seed,
        days: flags.duration !== undefined ? 0 : flags.days,
        now: new Date(),
        tz: config.tz,
      });
      const plans = planPopulation(options);
      const bar = progressBar(say(config.lang, { en: 'Learners', zh: '模拟学员' }), !flags.json && process.stderr.isTTY);
      const { readOpsToken } = await import('../../ops/ops-token.js');
      const result = await runSimulation(plans, options, {
        baseUrls: urls,
        opsToken: (await readOpsToken(config)).token,
        concurrency: flags.concurrency,
        rate: flags.rate,
        durationSeconds: flags.duration,
        onProgress: (done, total) => bar.update(done, total),
      });
      bar.stop();
      const activated = plans.filter((p) => p.magicMoment).length;
      if (flags.json) return printJson({ seed, ...result, activated });
      console.log(
        say(config.lang, {
          en: `Simulated ${result.learners} learners (seed ${seed}) against ${urls.join(', ')}: ${result.eventsSent} events, ${result.requests} requests, ${activated} activations, ${result.duplicateBatches} retried batches, ${result.failures.length} failures.`,
          zh: `已模拟 ${result.learners} 名学员（种子 ${seed}），目标 ${urls.join('、')}：事件 ${result.eventsSent} 个，请求 ${result.requests} 次，激活 ${activated} 人，重发批次 ${result.duplicateBatches} 个，失败 ${result.failures.length} 次。`,
        }),
      );
      for (const failure of result.failures.slice(0, 10)) {
        console.log(`  ! learner ${failure.learner}: ${failure.request} → ${failure.status} ${failure.body}`);
      }
      if (result.failures.length > 0) process.exitCode = 1;
    });
}
