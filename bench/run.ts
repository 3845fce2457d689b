/**
 * `npm run bench [-- name …]`: run the benchmarks (all by default) and print Markdown
 * tables ready for docs/benchmarks.md. Each benchmark measures our code next to a
 * baseline in the same run.
 */
import { runAlertsBench } from './alerts.js';
import { runAnalyticsBench } from './analytics.js';
import { runBackupBench } from './backup.js';
import { runChecksBench } from './checks.js';
import { runConsoleBench } from './console.js';
import { runFeedbackBench } from './feedback.js';
import { runHttpBench } from './http.js';
import { runJourneyBench } from './journey.js';
import { runScaleBench } from './scale.js';

const BENCHES: Record<string, () => Promise<string>> = {
  http: runHttpBench,
  journey: runJourneyBench,
  analytics: runAnalyticsBench,
  feedback: runFeedbackBench,
  alerts: runAlertsBench,
  checks: runChecksBench,
  backup: runBackupBench,
  console: runConsoleBench,
  scale: runScaleBench,
};

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.error(`running ${name} …`);
  console.log(`${await bench()}\n`);
}
