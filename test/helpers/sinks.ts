/**
 * Local stand-ins for the outside world, started by the tests: an HTTP sink that
 * records every request (and answers as told per path), and an SMTP sink.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface SinkRequest {
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface HttpSink {
  url: string;
  requests: SinkRequest[];
  /** Answer requests to `path` with this status/body, optionally after a delay. */
  answer(path: string, response: { status?: number; body?: unknown; delayMs?: number }): void;
  on(path: string): SinkRequest[];
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  const answers = new Map<string, { status?: number; body?: unknown; delayMs?: number }>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://sink');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep text
      }
      requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers, body });
      const answer = answers.get(url.pathname) ?? {};
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body ?? { errcode: 0, errmsg: 'ok', code: 0 }));
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer: (path, response) => answers.set(path, response),
    on: (path) => requests.filter((r) => r.path === path),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SmtpSink {
  port: number;
  messages: Array<{ from: string; to: string[]; raw: string }>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SmtpSink['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => {
        raw += chunk.toString('utf8');
      });
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An ALERTS_CONFIG that pages every tier's level 1 at `url` (a sink's webhook). */
export const webhookAlertsConfig = (url: string): string =>
  `channels:\n  hook: { type: webhook, url: "${url}" }\ncontacts:\n  oncall: { name: "L1", channels: [hook] }\n` +
  'escalation:\n' +
  ['critical', 'warning', 'info'].map((tier) => `  ${tier}:\n    - { level: 1, after: 0m, contacts: [oncall] }\n`).join('') +
  'remindAfter: 60m\n';
