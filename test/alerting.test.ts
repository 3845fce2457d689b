/**
 * Escalation and channels against local sinks, with a clock the tests move:
 * every vendor's payload, L1 → L2 → L3 on time, ack stops it, reminders, resolve
 * notifies, silences suppress, clock jumps and restarts neither skip nor repeat,
 * two instances notify once, failing channels are retried and never block others.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../src/db/database.js';
import { createLogger } from '../src/logger.js';
import { parseAlertsConfig } from '../src/ops/alerts/config.js';
import { MAX_ATTEMPTS } from '../src/ops/alerts/outbox.js';
import { AlertService, type FireInput } from '../src/ops/alerts/service.js';
import { createTestDatabase, type TestDatabase } from './helpers/server.js';
import { type HttpSink, type SmtpSink, startHttpSink, startSmtpSink } from './helpers/sinks.js';

let database: TestDatabase;
let db: Db;
let sink: HttpSink;
let smtp: SmtpSink;
let clock = new Date('2026-11-27T01:00:00Z');
const logger = createLogger({ logFile: '/tmp/smartalk-alerting-test.log', logLevel: 'warn' }, { stdout: false });

function configYaml() {
  return `
channels:
  hook: { type: webhook, url: "${sink.url}/hook" }
  slack: { type: slack, url: "${sink.url}/slack" }
  ding: { type: dingtalk, url: "${sink.url}/ding?access_token=abc", secret: "SECxyz" }
  feishu: { type: feishu, url: "${sink.url}/feishu", secret: "fs-secret" }
  wecom: { type: wecom, url: "${sink.url}/wecom?key=k" }
  mail: { type: email, host: 127.0.0.1, port: ${smtp.port}, from: "smartalk@example.com", to: ["cto@example.com"] }
  broken: { type: webhook, url: "${sink.url}/broken" }
contacts:
  oncall: { name: "L1 运维工程师", channels: [hook, ding] }
  senior: { name: "L2 高级工程师", channels: [slack, feishu, wecom] }
  cto: { name: "L3 CTO", channels: [mail] }
  flaky: { name: "flaky", channels: [broken, hook] }
escalation:
  critical:
    - { level: 1, after: 0m, contacts: [oncall] }
    - { level: 2, after: 15m, contacts: [senior] }
    - { level: 3, after: 30m, contacts: [cto] }
  warning:
    - { level: 1, after: 0m, contacts: [flaky] }
    - { level: 2, after: 60m, contacts: [senior] }
  info:
    - { level: 1, after: 0m, contacts: [oncall] }
    - { level: 2, after: 240m, contacts: [senior] }
remindAfter: 60m
vendors:
  database: { name: "阿里云 RDS", phone: "95187", ticketUrl: "https://selfservice.console.aliyun.com/ticket", accountId: "1234" }
`;
}

const service = () =>
  new AlertService({
    db,
    config: parseAlertsConfig(configYaml(), 'test-alerts.yml'),
    logger,
    messages: { lang: 'zh-CN', publicUrl: 'http://ops.example', tz: 'Asia/Shanghai' },
    now: () => clock,
  });

const minutes = (n: number) => {
  clock = new Date(clock.getTime() + n * 60_000);
  return clock;
};

let sequence = 0;
const critical = (): FireInput => ({
  ruleId: 'DatabaseDown',
  severity: 'critical',
  source: 'builtin',
  labels: { instance: `app${++sequence}:3000` },
  summary: 'Database unreachable',
  summaryZh: '数据库连接失败',
  description: 'app cannot reach PostgreSQL',
  descriptionZh: '无法连接 PostgreSQL',
  value: '0',
  threshold: 'smartalk_db_up == 0',
  runbook: 'docs/runbook.md#问题2-数据库连接失败',
});

async function round(alerts: AlertService) {
  await alerts.escalate();
  return alerts.deliver();
}

beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDb({ databaseUrl: database.databaseUrl, dataDir: database.dataDir });
  sink = await startHttpSink();
  smtp = await startSmtpSink();
});
afterAll(async () => {
  await db?.close();
  await sink?.close();
  await smtp?.close();
  await database?.drop();
});
beforeEach(async () => {
  sink.requests.length = 0;
  smtp.messages.length = 0;
  // Each test starts with no open alert and no due notification.
  await db.kysely.deleteFrom('alert_notifications').execute();
  await db.kysely.deleteFrom('alerts').execute();
  await db.kysely.deleteFrom('alert_silences').execute();
});

describe('channel payloads follow each vendor', () => {
  it('sends L1 to the webhook and DingTalk, signed', async () => {
    const alerts = service();
    const { alert } = await alerts.fire(critical());
    expect(await round(alerts)).toEqual({ sent: 2, failed: 0, retrying: 0 });
    const [hook] = sink.on('/hook');
    expect(hook?.body).toMatchObject({
      version: 'smartalk.alert.v1',
      kind: 'firing',
      level: 1,
      alert: { id: alert.id, ruleId: 'DatabaseDown', severity: 'critical' },
    });
    expect(hook?.body.text).toContain('数据库连接失败');
    expect(hook?.body.text).toContain('smartalk alerts ack');
    // DatabaseDown carries the database service's support line (外部服务联系方式); show has it too.
    expect(hook?.body.text).toContain(
      '外部联系（数据库服务）: 阿里云 RDS · 95187 · https://selfservice.console.aliyun.com/ticket · account 1234',
    );
    expect((await alerts.show(alert.id)).vendor).toEqual({
      kind: 'database',
      name: '阿里云 RDS',
      phone: '95187',
      ticketUrl: 'https://selfservice.console.aliyun.com/ticket',
      accountId: '1234',
    });
    const [ding] = sink.on('/ding');
    expect(ding?.body).toMatchObject({ msgtype: 'markdown', markdown: { title: expect.stringContaining('数据库连接失败') } });
    expect(ding?.body.markdown.text).toContain('**当前值**: 0 / 阈值 smartalk_db_up == 0');
    // DingTalk's documented signature: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
    const timestamp = ding?.query.get('timestamp') as string;
    expect(ding?.query.get('access_token')).toBe('abc');
    expect(ding?.query.get('sign')).toBe(createHmac('sha256', 'SECxyz').update(`${timestamp}\nSECxyz`).digest('base64'));
  });

  it('escalates L1 → L2 at 15 min → L3 at 30 min through Slack, Feishu, WeCom and email', async () => {
    const alerts = service();
    await alerts.fire(critical());
    await round(alerts);
    minutes(14);
    expect(await round(alerts)).toEqual({ sent: 0, failed: 0, retrying: 0 });
    minutes(1);
    expect((await round(alerts)).sent).toBe(3);
    const [slack] = sink.on('/slack');
    expect(slack?.body.text).toContain('[升级] [CRITICAL]');
    expect(slack?.body.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(slack?.body.blocks[1]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    const [feishu] = sink.on('/feishu');
    expect(feishu?.body).toMatchObject({ msg_type: 'text', content: { text: expect.stringContaining('L2') } });
    // Feishu's documented signature: base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")).
    expect(feishu?.body.sign).toBe(createHmac('sha256', `${feishu?.body.timestamp}\nfs-secret`).update('').digest('base64'));
    const [wecom] = sink.on('/wecom');
    expect(wecom?.body).toMatchObject({ msgtype: 'markdown', markdown: { content: expect.stringContaining('升级级别') } });
    minutes(15);
    expect((await round(alerts)).sent).toBe(1);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]?.to).toEqual(['cto@example.com']);
    expect(smtp.messages[0]?.raw).toContain('Subject: =?UTF-8?');
    minutes(120);
    expect((await round(alerts)).sent).toBe(0);
  });
});

describe('lifecycle', () => {
  it('acknowledging stops escalation and reminds while unresolved', async () => {
    const alerts = service();
    const { alert } = await alerts.fire(critical());
    await round(alerts);
    minutes(5);
    await alerts.acknowledge(alert.id, 'li.lei');
    minutes(30);
    expect((await round(alerts)).sent).toBe(0);
    minutes(30); // 60 min after the ack
    const reminded = await round(alerts);
    expect(reminded.sent).toBe(2);
    expect(sink.on('/hook').at(-1)?.body.kind).toBe('reminder');
    minutes(10);
    expect((await round(alerts)).sent).toBe(0);
    minutes(50);
    expect((await round(alerts)).sent).toBe(2);
  });

  it('resolving tells everyone who was paged', async () => {
    const alerts = service();
    const { alert } = await alerts.fire(critical());
    await round(alerts);
    minutes(16);
    await round(alerts);
    sink.requests.length = 0;
    await alerts.resolve({ id: alert.id }, 'li.lei');
    const result = await round(alerts);
    expect(result.sent).toBe(5); // L1: webhook + DingTalk; L2: Slack + Feishu + WeCom
    expect(sink.on('/hook')[0]?.body.kind).toBe('resolved');
    expect((await alerts.show(alert.id)).alert.status).toBe('resolved');
    minutes(60);
    expect((await round(alerts)).sent).toBe(0);
  });

  it('silences suppress notifications until they end; escalation then counts from the L1 page', async () => {
    const alerts = service();
    await alerts.silence({
      kind: 'silence',
      ruleId: 'DatabaseDown',
      reason: 'planned failover',
      by: 'li.lei',
      startsAt: clock,
      endsAt: new Date(clock.getTime() + 20 * 60_000),
    });
    const firedAt = clock;
    const { alert } = await alerts.fire(critical());
    expect((await round(alerts)).sent).toBe(0);
    expect((await alerts.show(alert.id)).alert.pagedAt).toBeNull();
    minutes(19);
    expect((await round(alerts)).sent).toBe(0);
    const pagedAt = minutes(2);
    // The silence is over: L1 now (webhook + DingTalk); L2 not at once as before.
    expect((await round(alerts)).sent).toBe(2);
    const shown = (await alerts.show(alert.id)).alert;
    expect(shown).toMatchObject({ firedAt, pagedAt, escalationLevel: 1 });
    expect(sink.on('/hook')[0]?.body.text).toContain('L1 通知时间');
    // L2: 15 min after L1 was due to be paged (the silence's end), not 15 min after it fired.
    minutes(13);
    expect((await round(alerts)).sent).toBe(0);
    minutes(1);
    expect((await round(alerts)).sent).toBe(3);
  });

  it('a maintenance window for every rule holds all notifications', async () => {
    const alerts = service();
    await alerts.silence({
      kind: 'maintenance',
      reason: 'Monday maintenance',
      by: 'ops',
      startsAt: clock,
      endsAt: new Date(clock.getTime() + 60 * 60_000),
    });
    await alerts.fire(critical());
    await alerts.fire({ ...critical(), ruleId: 'HighCpu', severity: 'warning' });
    expect((await round(alerts)).sent).toBe(0);
  });
});

describe('clock jumps, restarts and several instances', () => {
  it('after a jump forward every missed level is sent once, in order; nothing twice', async () => {
    const alerts = service();
    const { alert } = await alerts.fire(critical());
    minutes(45);
    expect((await round(alerts)).sent).toBe(6);
    const kinds = (await alerts.show(alert.id)).notifications.map((n) => `${n.kind}:L${n.level}`);
    expect(kinds).toEqual(['firing:L1', 'firing:L1', 'escalation:L2', 'escalation:L2', 'escalation:L2', 'escalation:L3']);
    expect((await round(alerts)).sent).toBe(0);
    // A clock that goes back sends nothing either.
    minutes(-40);
    expect((await round(alerts)).sent).toBe(0);
    minutes(40);
  });

  it('a restarted service continues from the stored state', async () => {
    const first = service();
    await first.fire(critical());
    await round(first);
    minutes(16);
    const second = service();
    expect((await round(second)).sent).toBe(3);
    expect((await round(second)).sent).toBe(0);
  });

  it('two instances on one database notify once', async () => {
    const a = service();
    const b = service();
    await a.fire(critical());
    await Promise.all([round(a), round(b), round(a), round(b)]);
    expect(sink.on('/hook')).toHaveLength(1);
    expect(sink.on('/ding')).toHaveLength(1);
    minutes(16);
    await Promise.all([round(a), round(b)]);
    expect(sink.on('/slack')).toHaveLength(1);
  });

  it('a round that starts while an alert is being opened pages it with its diagnosis', async () => {
    const alerts = service();
    // A diagnosis takes a while (it queries the database and the instance).
    alerts.diagnoseWith(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return {
        scenario: 'db',
        worst: 'fail',
        at: clock.toISOString(),
        findings: [{ id: 'db.connect', status: 'fail', summary: 'connection refused' }],
      };
    });
    // The round is called while fire() is still opening the alert (as the Alertmanager intake
    // or the evaluator's timer may): it waits for the alert and its diagnosis.
    const [fired] = await Promise.all([alerts.fire(critical()), round(alerts)]);
    const [hook] = sink.on('/hook');
    expect(hook?.body.alert).toMatchObject({ id: fired.alert.id, diagnosis: { scenario: 'db', worst: 'fail' } });
  });

  it('the same alert fired by two instances is one alert', async () => {
    const input = critical();
    const [x, y] = await Promise.all([service().fire(input), service().fire(input)]);
    expect(x.alert.id).toBe(y.alert.id);
    expect([x.created, y.created].filter(Boolean)).toHaveLength(1);
  });
});

describe('failing channels', () => {
  it('retry with backoff, are recorded, and never hold the others up', async () => {
    sink.answer('/broken', { status: 500, body: { error: 'down' } });
    const alerts = service();
    const { alert } = await alerts.fire({ ...critical(), ruleId: 'HighCpu', severity: 'warning' });
    expect(await round(alerts)).toEqual({ sent: 1, failed: 0, retrying: 1 });
    expect(sink.on('/hook')).toHaveLength(1);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      minutes(6);
      await round(alerts);
    }
    const broken = (await alerts.show(alert.id)).notifications.find((n) => n.channel === 'broken');
    expect(broken).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
    expect(broken?.last_error).toContain('HTTP 500');
    expect(sink.on('/broken')).toHaveLength(MAX_ATTEMPTS);
    sink.answer('/broken', {});
  });

  it('a channel that hangs times out without blocking the delivery of others', async () => {
    sink.answer('/broken', { delayMs: 8_000 });
    const alerts = service();
    await alerts.fire({ ...critical(), ruleId: 'HighCpu', severity: 'warning' });
    const started = Date.now();
    const result = await round(alerts);
    expect(result).toEqual({ sent: 1, failed: 0, retrying: 1 });
    expect(Date.now() - started).toBeLessThan(7_500);
    sink.answer('/broken', {});
  });

  it('a DingTalk error code in a 200 answer counts as a failure', async () => {
    sink.answer('/ding', { body: { errcode: 310000, errmsg: 'sign not match' } });
    const alerts = service();
    const { alert } = await alerts.fire(critical());
    expect(await round(alerts)).toEqual({ sent: 1, failed: 0, retrying: 1 });
    const ding = (await alerts.show(alert.id)).notifications.find((n) => n.channel === 'ding');
    expect(ding?.last_error).toContain('DingTalk error 310000');
    sink.answer('/ding', {});
  });

  it('test messages go through one channel', async () => {
    const alerts = service();
    await alerts.testChannel('wecom');
    expect(await alerts.deliver()).toEqual({ sent: 1, failed: 0, retrying: 0 });
    expect(sink.on('/wecom')[0]?.body.markdown.content).toContain('测试');
    await expect(alerts.testChannel('nope')).rejects.toThrow('No channel named nope');
  });
});
