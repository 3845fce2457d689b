/** The `smartalk` command as a user runs it: help everywhere, one-line config errors, migrate and seed. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smartalk } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';

let database: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  database = await createTestDatabase();
  env = {
    DATA_DIR: database.dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    SMARTALK_LANG: 'en',
  };
});
afterAll(async () => {
  await database?.drop();
});

describe('smartalk CLI', () => {
  it('has --help on the program and every command', () => {
    const top = smartalk(['--help']);
    expect(top.status).toBe(0);
    for (const command of ['serve', 'migrate', 'seed']) {
      expect(top.stdout).toContain(command);
      const help = smartalk([command, '--help']);
      expect(help.status, command).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: smartalk ${command}`));
    }
  });

  it('scores a text, showing a phrase pattern as people read it in the table and in --json alike', () => {
    const text = smartalk(['feedback', 'score', '说是沉浸式学习，其实就是看视频'], env);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain('⟨phrase -2⟩: -2.00');
    const json = smartalk(['feedback', 'score', '说是沉浸式学习，其实就是看视频', '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const scored = JSON.parse(json.stdout);
    expect(scored.label).toBe('negative');
    expect(scored.tokens[0]).toBe('⟨phrase -2⟩');
    expect(scored.text.hits).toEqual([{ token: '⟨phrase -2⟩', value: -2 }]);
  });

  it('measures the analyzer on a store export against its stars, and asks for the columns it cannot find', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalk-agreement-'));
    const file = join(dir, 'reviews.csv');
    writeFileSync(file, 'content,score\n"Love it, the stories are great",5\nkeeps crashing every time,1\n字幕一直对不上,4\n');
    const json = smartalk(['feedback', 'agreement', file, '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result.polar).toEqual({ reviews: 3, agreeing: 2, agreement: 2 / 3 });
    expect(result.byRating['4'].negative).toBe(1);
    const table = smartalk(['feedback', 'agreement', file], { ...env, SMARTALK_LANG: 'zh-CN' });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('文本判断与星级一致的占 67%');
    writeFileSync(file, 'a,b\nfine,4\n');
    const usage = smartalk(['feedback', 'agreement', file], env);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--text-column');
    expect(smartalk(['feedback', 'agreement', file, '--text-column', 'a', '--rating-column', 'b', '--json'], env).status).toBe(0);
  });

  it("reads the analyzer against people's labels, and says which label it cannot read", () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalk-labels-'));
    const file = join(dir, 'sheet.csv');
    writeFileSync(
      file,
      [
        'id,language,text,label,label 2',
        'a,en,keeps crashing every time I open a drama,negative,负面',
        'b,zh,故事很有意思，每天都想学,正面,+',
        'c,en,I use it on the subway,中性,positive',
        'd,en,"Love it, the stories are great",negative,',
        'e,zh,还没有人标注这一行,,',
      ].join('\n'),
    );
    const json = smartalk(['feedback', 'agreement', file, '--json'], env);
    expect(json.status, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({ texts: 4, contested: 1, unlabeled: 1, labelers: ['label', 'label 2'] });
    expect(result.analyzer.items).toBe(3);
    expect(result.labelerPairs[0]).toMatchObject({ items: 3, accuracy: 2 / 3 });
    const table = smartalk(['feedback', 'agreement', file, '--misses'], { ...env, SMARTALK_LANG: 'zh-CN' });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain('label 与 label 2 在两人都标注的 3 条中一致 66.7%');
    expect(table.stdout).toContain('负面 → 正面: Love it, the stories are great');
    expect(table.stdout).not.toContain('\u001b[');
    const retrained = smartalk(['feedback', 'agreement', file, '--cross-validate', '--json'], env);
    expect(retrained.status, retrained.stderr).toBe(0);
    expect(JSON.parse(retrained.stdout).retrained.items).toBe(3);
    // Read against the stars instead when asked, and a label nobody could mean is a usage error.
    writeFileSync(file, 'content,score,label\ngreat app,5,great\n');
    expect(smartalk(['feedback', 'agreement', file, '--rating-column', 'score', '--json'], env).status).toBe(0);
    const bad = smartalk(['feedback', 'agreement', file], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('row 2, column "label": "great" is not a label');
  });

  it('writes no labeling sheet from a window without feedback, and says so', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'smartalk-sample-')), 'sheet.csv');
    const empty = smartalk(['feedback', 'sample', '--since', '2020-01-01', '--until', '2020-02-01', '--out', out], env);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('no feedback with text');
    expect(existsSync(out)).toBe(false);
    expect(smartalk(['feedback', 'sample', '--per-language', '0'], env).status).toBe(2);
    expect(smartalk(['feedback', 'sample', '--seed', 'a b'], env).status).toBe(2);
  });

  it('stops on a bad environment value with one line naming the variable', () => {
    const result = smartalk(['migrate'], { ...env, PORT: 'eighty' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'smartalk: configuration error: PORT must be an integer from 0 to 65535 (got "eighty")',
    ]);
    const zh = smartalk(['migrate'], { ...env, SMARTALK_LANG: 'zh-CN', SMARTALK_TZ: 'Nowhere/City' });
    expect(zh.stderr).toContain('配置错误');
    expect(zh.stderr).toContain('SMARTALK_TZ');
  });

  it('rejects unknown commands and bad option values', () => {
    expect(smartalk(['frobnicate']).status).not.toBe(0);
    const badPort = smartalk(['serve', '--port', 'x'], env);
    expect(badPort.status).not.toBe(0);
    expect(badPort.stderr).toContain('expected an integer');
  });

  it('migrates (nothing pending on a migrated database) and reports status as JSON', () => {
    const status = smartalk(['migrate', '--status', '--json'], env);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pending: [] });
    const run = smartalk(['migrate'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/0 migration\(s\) applied, \d+ already in place/);
    const zh = smartalk(['migrate'], { ...env, SMARTALK_LANG: 'zh-CN' });
    expect(zh.stdout).toContain('已应用 0 个迁移');
  });

  it('seeds idempotently and says what it wrote', () => {
    const result = smartalk(['seed', '--no-media', '--json'], env);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ interests: 3, dramas: 6, keywords: 90, clips: 360 });
    const text = smartalk(['seed', '--no-media'], env);
    expect(text.stdout).toContain('Seeded 3 themes, 6 dramas, 90 keywords, 360 vTPR clips');
  });
});
