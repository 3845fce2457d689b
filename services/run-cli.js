'use strict';
/**
 * Shared by the runbook facades: run a `smartalk` command synchronously from the
 * install directory and return what it printed. Synchronous on purpose: the
 * runbook prints `tracker.getMetricsReport()` directly, so a Promise would show as
 * `Promise { <pending> }`.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function runCli(args) {
  try {
    return execFileSync(process.execPath, [path.join(ROOT, 'bin', 'smartalk.js'), ...args], {
      cwd: ROOT,
      env: process.env,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const detail = (error.stderr || error.message || '').toString().trim();
    throw new Error(`smartalk ${args.join(' ')} failed: ${detail}`);
  }
}

module.exports = { runCli };
