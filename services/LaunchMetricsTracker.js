'use strict';
/**
 * The runbook's LaunchMetricsTracker (问题4: 用户激活率突然下降):
 *
 *   node -e "const tracker = require('./services/LaunchMetricsTracker').LaunchMetricsTracker.getInstance();
 *            console.log(tracker.getMetricsReport());"
 *
 * A facade over the real metrics service: it reads through the running server when
 * there is one, or from the database when the server is stopped, and returns the
 * same report as GET /api/v1/ops/metrics-report. Printed, it shows the text report
 * (English, or Chinese with SMARTALK_LANG=zh-CN); as data, every field is there.
 */
const util = require('node:util');
const { runCli } = require('./run-cli.js');

function toFlags(options) {
  const flags = [];
  for (const key of ['since', 'until', 'granularity', 'breakdown']) {
    if (options[key] !== undefined)
      flags.push(`--${key}`, options[key] instanceof Date ? options[key].toISOString() : String(options[key]));
  }
  return flags;
}

class MetricsReport {
  constructor(report, text) {
    Object.assign(this, report);
    Object.defineProperty(this, 'text', { value: text, enumerable: false });
  }

  toString() {
    return this.text;
  }

  [util.inspect.custom]() {
    return this.text;
  }
}

class LaunchMetricsTracker {
  static getInstance() {
    if (!LaunchMetricsTracker.instance) LaunchMetricsTracker.instance = new LaunchMetricsTracker();
    return LaunchMetricsTracker.instance;
  }

  /**
   * The metrics report. options: { since, until, granularity: 'hour' | 'day', breakdown }.
   * @returns {MetricsReport}
   */
  getMetricsReport(options = {}) {
    const { report, text } = JSON.parse(runCli(['metrics', 'report', '--facade', ...toFlags(options)]));
    return new MetricsReport(report, text);
  }
}

module.exports = { LaunchMetricsTracker, MetricsReport };
