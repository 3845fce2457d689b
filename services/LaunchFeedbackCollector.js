'use strict';
/**
 * The runbook's LaunchFeedbackCollector (问题4: 用户激活率突然下降 → 分析用户反馈):
 *
 *   node -e "const collector = require('./services/LaunchFeedbackCollector').LaunchFeedbackCollector.getInstance();
 *            console.log(collector.generateFeedbackReport());"
 *
 * A facade over the real feedback service. generateFeedbackReport() returns the
 * Markdown report (English, or Chinese with SMARTALK_LANG=zh-CN) as a string, read
 * through the running server when there is one, else from the database;
 * getFeedbackReport() returns the same report as data (GET /api/v1/ops/feedback-report).
 * No recursion anywhere: an empty database or a million items print the same way.
 */
const { runCli } = require('./run-cli.js');

function toFlags(options) {
  const flags = [];
  for (const key of ['since', 'until']) {
    if (options[key] !== undefined)
      flags.push(`--${key}`, options[key] instanceof Date ? options[key].toISOString() : String(options[key]));
  }
  return flags;
}

class LaunchFeedbackCollector {
  static getInstance() {
    if (!LaunchFeedbackCollector.instance) LaunchFeedbackCollector.instance = new LaunchFeedbackCollector();
    return LaunchFeedbackCollector.instance;
  }

  #load(options) {
    return JSON.parse(runCli(['feedback', 'report', '--facade', ...toFlags(options)]));
  }

  /** The Markdown report. options: { since, until }. @returns {string} */
  generateFeedbackReport(options = {}) {
    return this.#load(options).markdown;
  }

  /** The report as data. options: { since, until }. */
  getFeedbackReport(options = {}) {
    return this.#load(options).report;
  }
}

module.exports = { LaunchFeedbackCollector };
