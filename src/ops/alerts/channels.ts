/**
 * Channels: how a message reaches people. Each is one `send(message)` that resolves
 * when the far end accepted it and throws otherwise (a timeout, a non-2xx answer, or
 * a vendor error code in a 200 answer, which DingTalk, Feishu and WeCom use).
 * Payloads follow each vendor's documented webhook format.
 */
import { createHmac } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { ChannelConfig } from './config.js';
import type { AlertView, Message } from './messages.js';

export interface Channel {
  readonly name: string;
  readonly type: ChannelConfig['type'];
  send(message: Message, alert: AlertView | null): Promise<void>;
}

const TIMEOUT_MS = 5_000;

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** DingTalk/WeCom answer 200 with {errcode}; Feishu with {code} or {StatusCode}. */
function assertVendorOk(answer: unknown, vendor: string): void {
  if (typeof answer !== 'object' || answer === null) return;
  const a = answer as { errcode?: number; errmsg?: string; code?: number; msg?: string; StatusCode?: number };
  const code = a.errcode ?? a.code ?? a.StatusCode;
  if (code !== undefined && code !== 0) throw new Error(`${vendor} error ${code}: ${a.errmsg ?? a.msg ?? ''}`);
}

/** DingTalk robot signing: timestamp + "\n" + secret, HMAC-SHA256 keyed by the secret, base64. */
export function dingtalkSignedUrl(url: string, secret: string, now = Date.now()): string {
  const sign = createHmac('sha256', secret).update(`${now}\n${secret}`).digest('base64');
  const signed = new URL(url);
  signed.searchParams.set('timestamp', String(now));
  signed.searchParams.set('sign', sign);
  return signed.toString();
}

/** Feishu/Lark bot signing: HMAC-SHA256 keyed by timestamp + "\n" + secret over an empty message, base64. */
export function feishuSign(secret: string, timestampSeconds: number): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function createChannel(name: string, config: ChannelConfig, logger: Logger, now: () => number = Date.now): Channel {
  switch (config.type) {
    case 'log':
      return {
        name,
        type: 'log',
        async send(message, alert) {
          const line = { channel: name, kind: message.kind, level: message.level, alertId: alert?.id, rule: alert?.ruleId };
          if (message.severity === 'critical' && message.kind !== 'resolved') logger.error(line, message.title);
          else logger.warn(line, message.title);
        },
      };
    case 'webhook':
      return {
        name,
        type: 'webhook',
        async send(message, alert) {
          await postJson(
            config.url,
            {
              version: 'smartalk.alert.v1',
              kind: message.kind,
              level: message.level,
              title: message.title,
              text: message.text,
              alert,
            },
            config.headers,
          );
        },
      };
    case 'slack':
      return {
        name,
        type: 'slack',
        async send(message) {
          // Incoming webhook: `text` is the fallback, blocks the rendering.
          await postJson(config.url, {
            text: message.title,
            blocks: [
              { type: 'header', text: { type: 'plain_text', text: message.title.slice(0, 150) } },
              { type: 'section', text: { type: 'mrkdwn', text: message.text.split('\n').slice(1).join('\n').slice(0, 2900) } },
            ],
          });
        },
      };
    case 'dingtalk':
      return {
        name,
        type: 'dingtalk',
        async send(message) {
          const url = config.secret ? dingtalkSignedUrl(config.url, config.secret, now()) : config.url;
          assertVendorOk(
            await postJson(url, { msgtype: 'markdown', markdown: { title: message.title, text: message.markdown } }),
            'DingTalk',
          );
        },
      };
    case 'feishu':
      return {
        name,
        type: 'feishu',
        async send(message) {
          const timestamp = Math.floor(now() / 1000);
          assertVendorOk(
            await postJson(config.url, {
              ...(config.secret ? { timestamp: String(timestamp), sign: feishuSign(config.secret, timestamp) } : {}),
              msg_type: 'text',
              content: { text: message.text },
            }),
            'Feishu',
          );
        },
      };
    case 'wecom':
      return {
        name,
        type: 'wecom',
        async send(message) {
          assertVendorOk(await postJson(config.url, { msgtype: 'markdown', markdown: { content: message.markdown } }), 'WeCom');
        },
      };
    case 'email': {
      // The mailer loads on the first message: a serving process holds it only once it has mailed.
      let transport: Transporter | undefined;
      const connect = async () =>
        (await import('nodemailer')).default.createTransport({
          host: config.host,
          port: config.port,
          secure: config.secure ?? false,
          ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
          connectionTimeout: TIMEOUT_MS,
          greetingTimeout: TIMEOUT_MS,
          socketTimeout: TIMEOUT_MS,
        });
      return {
        name,
        type: 'email',
        async send(message) {
          transport ??= await connect();
          await transport.sendMail({
            from: config.from,
            to: config.to,
            subject: message.title,
            text: message.text,
            ...(message.html ? { html: message.html } : {}),
          });
        },
      };
    }
  }
}
