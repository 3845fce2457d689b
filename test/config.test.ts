/** Config: defaults, one clear line per bad value, and .env.example documenting every variable. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serverNodeFlags } from '../bench/lib.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig, redactUrl } from '../src/config.js';

describe('loadConfig', () => {
  it('gives the runbook defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      redisUrl: undefined,
      tz: 'Asia/Shanghai',
      lang: 'en',
      logLevel: 'info',
      redisPrefix: 'smartalk:',
    });
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.logFile).toBe(`${config.dataDir}/logs/application.log`);
    expect(config.contentDir).toBe(`${config.dataDir}/content`);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535 (got "abc")'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535 (got "70000")'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must be a URL starting with postgres: or postgresql: (got "mysql://x")'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL must be a URL starting with redis: or rediss: (got "not a url")'],
    [{ SMARTALK_TZ: 'Mars/Olympus' }, 'SMARTALK_TZ must be an IANA time zone such as Asia/Shanghai (got "Mars/Olympus")'],
    [{ SMARTALK_LANG: 'fr' }, 'SMARTALK_LANG must be one of en, zh-CN (got "fr")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")'],
    [{ OPS_TOKEN: 'short' }, 'OPS_TOKEN must be at least 16 characters without spaces (got "<hidden>")'],
    [{ CDN_BASE_URL: 'ftp://cdn' }, 'CDN_BASE_URL must be a URL starting with http: or https: (got "ftp://cdn")'],
    [
      { TRUST_PROXY: '10.0.0.0/33' },
      'TRUST_PROXY must be comma-separated addresses or CIDRs, e.g. 127.0.0.1,10.0.0.0/8 (got "10.0.0.0/33")',
    ],
    [
      { TRUST_PROXY: 'nginx.local' },
      'TRUST_PROXY must be comma-separated addresses or CIDRs, e.g. 127.0.0.1,10.0.0.0/8 (got "nginx.local")',
    ],
    [{ DRAIN_SECONDS: '90' }, 'DRAIN_SECONDS must be whole seconds from 0 to 60 (got "90")'],
  ])('rejects %o with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a password from a bad connection string', () => {
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:secret@h/db' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('documents every variable in .env.example', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    for (const name of CONFIG_VARIABLES) expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
  });
});

describe('Node.js flags of the server', () => {
  it('are the same wherever the server is started: both systemd units, npm start and the benchmarks', () => {
    const flags = serverNodeFlags();
    expect(flags).toEqual(expect.arrayContaining(['--max-semi-space-size=8', '--heap-growing-percent=20']));
    const unitFlags = (file: string) =>
      serverNodeFlags(readFileSync(new URL(`../deploy/systemd/${file}`, import.meta.url), 'utf8'));
    expect(unitFlags('smartalk-backend@.service')).toEqual(flags);
    const start = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.start as string;
    expect(start).toContain(`node ${flags.join(' ')} bin/smartalk.js serve`);
    // Each flag is one Node.js accepts (a typo would stop the unit from starting).
    const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
  });
});
