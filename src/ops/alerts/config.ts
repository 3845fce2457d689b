/**
 * The alerting config: escalation policies per severity, contacts per level, the
 * channels that reach them, threshold overrides. A YAML file (ALERTS_CONFIG), or the
 * defaults of docs/alerts.md. A wrong file stops start-up with its path, line and key.
 */
import { readFile } from 'node:fs/promises';
import { Type } from '@fastify/type-provider-typebox';
import Ajv from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { RULES, type Severity, type VendorKind } from './catalog.js';

const Duration = Type.String({ pattern: '^\\d+(s|m|h|d)$', description: 'e.g. 30s, 15m, 4h, 1d' });
const Url = Type.String({ pattern: '^https?://' });

const Channel = Type.Union([
  Type.Object({ type: Type.Literal('log') }, { additionalProperties: false }),
  Type.Object(
    { type: Type.Literal('webhook'), url: Url, headers: Type.Optional(Type.Record(Type.String(), Type.String())) },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('slack'), url: Url }, { additionalProperties: false }),
  Type.Object(
    { type: Type.Literal('dingtalk'), url: Url, secret: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object(
    { type: Type.Literal('feishu'), url: Url, secret: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  Type.Object({ type: Type.Literal('wecom'), url: Url }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('email'),
      host: Type.String({ minLength: 1 }),
      port: Type.Integer({ minimum: 1, maximum: 65535 }),
      secure: Type.Optional(Type.Boolean()),
      user: Type.Optional(Type.String()),
      password: Type.Optional(Type.String()),
      from: Type.String({ minLength: 3 }),
      to: Type.Array(Type.String({ minLength: 3 }), { minItems: 1 }),
    },
    { additionalProperties: false },
  ),
]);

const Level = Type.Object(
  {
    level: Type.Integer({ minimum: 1, maximum: 9 }),
    after: Duration,
    contacts: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

const Vendor = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    phone: Type.Optional(Type.String({ minLength: 1 })),
    ticketUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    accountId: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export interface VendorContact {
  name: string;
  phone?: string;
  ticketUrl?: string;
  accountId?: string;
}

export const AlertsConfigSchema = Type.Object(
  {
    channels: Type.Record(Type.String({ pattern: '^[a-z0-9_-]+$' }), Channel),
    contacts: Type.Record(
      Type.String({ pattern: '^[a-z0-9_-]+$' }),
      Type.Object(
        { name: Type.String({ minLength: 1 }), channels: Type.Array(Type.String(), { minItems: 1 }) },
        { additionalProperties: false },
      ),
    ),
    escalation: Type.Object(
      {
        critical: Type.Array(Level, { minItems: 1 }),
        warning: Type.Array(Level, { minItems: 1 }),
        info: Type.Array(Level, { minItems: 1 }),
      },
      { additionalProperties: false },
    ),
    /** An acknowledged alert still unresolved after this is notified again. */
    remindAfter: Duration,
    thresholds: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.Number()))),
    /** 外部服务联系方式: who to call at the cloud provider, the CDN and the database service. */
    vendors: Type.Optional(
      Type.Object(
        { cloud: Type.Optional(Vendor), cdn: Type.Optional(Vendor), database: Type.Optional(Vendor) },
        { additionalProperties: false },
      ),
    ),
    /** What one instance takes, and PostgreSQL's cores (capacity.next_day); from your own `npm run bench`. */
    capacity: Type.Optional(
      Type.Object(
        {
          eventsPerSecond: Type.Number({ exclusiveMinimum: 0 }),
          postgresCores: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ChannelConfig =
  | { type: 'log' }
  | { type: 'webhook'; url: string; headers?: Record<string, string> }
  | { type: 'slack'; url: string }
  | { type: 'dingtalk'; url: string; secret?: string }
  | { type: 'feishu'; url: string; secret?: string }
  | { type: 'wecom'; url: string }
  | { type: 'email'; host: string; port: number; secure?: boolean; user?: string; password?: string; from: string; to: string[] };

export interface EscalationLevel {
  level: number;
  /** Minutes after the alert fired. */
  afterMs: number;
  contacts: string[];
}

export interface AlertsConfig {
  channels: Record<string, ChannelConfig>;
  contacts: Record<string, { name: string; channels: string[] }>;
  escalation: Record<Severity, EscalationLevel[]>;
  remindAfterMs: number;
  thresholds: Record<string, Record<string, number>>;
  /** 外部服务联系方式, attached to the alerts they help with (catalog: `vendor`). */
  vendors: Partial<Record<VendorKind, VendorContact>>;
  capacity?: { eventsPerSecond: number; postgresCores?: number };
  /** Where it came from, for messages. */
  source: string;
}

export class AlertsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlertsConfigError';
  }
}

export function durationMs(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!match) throw new AlertsConfigError(`not a duration: ${text}`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * The runbook's escalation (故障升级流程): L1 运维工程师 at once, L2 高级工程师 after 15 min,
 * L3 架构师/CTO after 30 min for critical; warning reaches L2 after 60 min, info after 240.
 * Without a config every level is reached through the log.
 */
export const DEFAULT_ALERTS_YAML = `# SmarTalk alerting: channels, contacts, escalation (see deploy/alerts.example.yml)
channels:
  log: { type: log }
contacts:
  oncall: { name: "L1 运维工程师 (on-call ops)", channels: [log] }
  senior: { name: "L2 高级工程师 (senior engineer)", channels: [log] }
  cto: { name: "L3 架构师/CTO", channels: [log] }
escalation:
  critical:
    - { level: 1, after: 0m, contacts: [oncall] }
    - { level: 2, after: 15m, contacts: [senior] }
    - { level: 3, after: 30m, contacts: [cto] }
  warning:
    - { level: 1, after: 0m, contacts: [oncall] }
    - { level: 2, after: 60m, contacts: [senior] }
  info:
    - { level: 1, after: 0m, contacts: [oncall] }
    - { level: 2, after: 240m, contacts: [senior] }
remindAfter: 60m
`;

const ajv = new Ajv.default({ allErrors: false, strict: false });
const validate = ajv.compile(AlertsConfigSchema);

/** Parse and validate config text; errors name the file, line and key. */
export function parseAlertsConfig(text: string, source: string): AlertsConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    const at = error ? lineCounter.linePos(error.pos[0]) : { line: 0 };
    throw new AlertsConfigError(`${source}:${at.line}: ${error?.message.split('\n')[0] ?? 'invalid YAML'}`);
  }
  const data = doc.toJS() as unknown;
  const lineOf = (pointer: string): number => {
    const keys = pointer.split('/').filter(Boolean);
    let node: unknown = doc.contents;
    let line = 1;
    for (const key of keys) {
      if (isMap(node)) {
        const pair = node.items.find((item) => String((item.key as { value?: unknown })?.value ?? item.key) === key);
        if (!pair) break;
        const range = (pair.key as { range?: [number] }).range;
        if (range) line = lineCounter.linePos(range[0]).line;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(key)] as { range?: [number] } | undefined;
        if (!item) break;
        if (item.range) line = lineCounter.linePos(item.range[0]).line;
        node = item;
      } else break;
    }
    return line;
  };
  const fail = (pointer: string, reason: string): never => {
    throw new AlertsConfigError(
      `${source}:${lineOf(pointer)}: ${pointer.replace(/^\//, '').replaceAll('/', '.') || '(top)'}: ${reason}`,
    );
  };
  if (!validate(data)) {
    const error = validate.errors?.[0];
    const extra = error?.keyword === 'additionalProperties' ? `/${String(error.params.additionalProperty)}` : '';
    const pointer = `${error?.instancePath ?? ''}${extra}`;
    const detail =
      error?.keyword === 'additionalProperties'
        ? `unknown key "${String(error.params.additionalProperty)}"`
        : error?.keyword === 'required'
          ? `missing "${String(error.params.missingProperty)}"`
          : (error?.message ?? 'invalid');
    return fail(pointer, detail);
  }
  const config = data as {
    channels: Record<string, ChannelConfig>;
    contacts: Record<string, { name: string; channels: string[] }>;
    escalation: Record<Severity, Array<{ level: number; after: string; contacts: string[] }>>;
    remindAfter: string;
    thresholds?: Record<string, Record<string, number>>;
    vendors?: Partial<Record<VendorKind, VendorContact>>;
    capacity?: { eventsPerSecond: number; postgresCores?: number };
  };
  for (const [id, contact] of Object.entries(config.contacts)) {
    contact.channels.forEach((channel, i) => {
      if (!config.channels[channel]) fail(`/contacts/${id}/channels/${i}`, `no channel named "${channel}"`);
    });
  }
  const escalation = {} as Record<Severity, EscalationLevel[]>;
  for (const severity of ['critical', 'warning', 'info'] as const) {
    const levels = config.escalation[severity];
    levels.forEach((level, i) => {
      for (const [k, contact] of level.contacts.entries()) {
        if (!config.contacts[contact]) fail(`/escalation/${severity}/${i}/contacts/${k}`, `no contact named "${contact}"`);
      }
      const previous = levels[i - 1];
      if (previous && (level.level <= previous.level || durationMs(level.after) < durationMs(previous.after))) {
        fail(`/escalation/${severity}/${i}`, 'levels must rise and their times must not go back');
      }
    });
    escalation[severity] = levels.map((level) => ({
      level: level.level,
      afterMs: durationMs(level.after),
      contacts: level.contacts,
    }));
  }
  for (const [ruleId, values] of Object.entries(config.thresholds ?? {})) {
    const rule = RULES.find((r) => r.id === ruleId);
    if (!rule) fail(`/thresholds/${ruleId}`, 'no such rule');
    for (const key of Object.keys(values)) {
      if (!(key in (rule?.thresholds ?? {}))) fail(`/thresholds/${ruleId}/${key}`, `rule ${ruleId} has no threshold "${key}"`);
    }
  }
  return {
    channels: config.channels,
    contacts: config.contacts,
    escalation,
    remindAfterMs: durationMs(config.remindAfter),
    thresholds: config.thresholds ?? {},
    vendors: config.vendors ?? {},
    ...(config.capacity ? { capacity: config.capacity } : {}),
    source,
  };
}

/** The config from ALERTS_CONFIG's file, or the defaults. */
export async function loadAlertsConfig(file: string | undefined): Promise<AlertsConfig> {
  if (!file) return parseAlertsConfig(DEFAULT_ALERTS_YAML, 'defaults');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AlertsConfigError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseAlertsConfig(text, file);
}
