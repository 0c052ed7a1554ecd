import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger';
import { act, type ActOptions, type Outcome } from './act';
import type { AuthCheck } from './auth';
import { ALERTS_PATH } from './path';
import { readWebhookMessage } from './payload';
import { routeMessage, type PairAlertRule } from './routing';

export interface ReceiverOptions extends ActOptions {
  rules: PairAlertRule[];
  auth: AuthCheck;
  maxBodyBytes: number;
  log: Logger;
  /** Mutual TLS: the server's certificate and key, and the CA of the clients' certificates. */
  tls?: { cert: string; key: string; ca: string };
}

export interface RunningReceiver {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts the receiver on `host:port` (port 0: any free port); resolves once it listens. */
export async function startReceiver(
  options: ReceiverOptions,
  host: string,
  port: number,
): Promise<RunningReceiver> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, options).catch((err: unknown) => {
      options.log.error(`the receiver failed on a request: ${(err as Error).message}`);
      if (!res.headersSent) reply(res, 500, { error: 'internal error; see the receiver log' });
    });
  };
  const server = options.tls
    ? https.createServer(
        { ...options.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
        handler,
      )
    : http.createServer(handler);
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${bound}${ALERTS_PATH}`,
    port: bound,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: ReceiverOptions): Promise<void> {
  const { log } = options;
  // The path only: a query string may carry what a caller should not have sent (a token), and it is never logged.
  const path = (req.url ?? '').split('?')[0]!.slice(0, 200);
  const refuse = (status: number, error: string, headers: Record<string, string> = {}) => {
    log.warn(`refused a ${req.method} ${path} from ${req.socket.remoteAddress}: ${error}`, { status });
    reply(res, status, { error }, headers);
  };
  const unauthenticated = options.auth(req);
  if (unauthenticated) return refuse(401, unauthenticated, { 'www-authenticate': 'Bearer' });
  if (path !== ALERTS_PATH) return refuse(404, `no such path ${path}: Alertmanager posts to ${ALERTS_PATH}`);
  if (req.method !== 'POST')
    return refuse(405, `${req.method} is not allowed on ${ALERTS_PATH}: Alertmanager posts`, {
      allow: 'POST',
    });
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json')
    return refuse(415, `the body must be application/json (got ${type || 'no Content-Type'})`);
  const body = await readBody(req, options.maxBodyBytes);
  if ('tooLarge' in body) {
    res.setHeader('connection', 'close');
    return refuse(413, `the body is larger than ${options.maxBodyBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch (err) {
    return refuse(400, `the body is not JSON: ${(err as Error).message}`);
  }
  const read = readWebhookMessage(parsed);
  if ('problems' in read)
    return refuse(400, `not an Alertmanager webhook message: ${listed(read.problems, 10, '; ')}`);
  const truncated = read.message.truncatedAlerts ?? 0;
  if (truncated > 0)
    log.warn(
      `Alertmanager left ${truncated} alerts of group ${read.message.groupKey} out of this message (its max_alerts); only the ${read.message.alerts.length} sent are read.`,
    );
  const routing = routeMessage(read.message, options.rules);
  if (routing.decisions.length === 0)
    return refuse(
      422,
      `no alert rule of any runbook takes these alerts (${listed(routing.unmatched) || 'resolved readiness alerts only'}); nothing started`,
    );
  if (routing.unmatched.length > 0)
    log.info(`alerts ${listed(routing.unmatched)} match no alert rule of any runbook; ignored.`);
  if (routing.ignored.length > 0)
    log.info(
      `alerts ${listed(routing.ignored)} have resolved and only asked for a readiness check; nothing to do.`,
    );
  const outcomes = await Promise.all(routing.decisions.map((d) => act(d, options)));
  for (const outcome of outcomes)
    (outcome.status < 300 ? log.info : log.error)(outcome.sentence, {
      pair: outcome.pair,
      status: outcome.status,
    });
  const status = worst(outcomes);
  reply(res, status, {
    ...(status >= 300
      ? {
          error: outcomes
            .filter((o) => o.status >= 300)
            .map((o) => o.sentence)
            .join(' '),
        }
      : {}),
    outcomes,
  });
}

/** The first `max` items, and how many more: a message can hold a thousand alerts, a sentence stays readable. */
function listed(items: string[], max = 5, separator = ', '): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown}${separator}and ${items.length - max} more` : shown;
}

/** 5xx before 4xx before 2xx: Alertmanager retries the whole message on 5xx, and the starts that worked are joined. */
function worst(outcomes: Outcome[]): number {
  const rank = (s: number) => (s >= 500 ? 3 : s >= 400 ? 2 : 1);
  return outcomes.reduce((acc, o) => (rank(o.status) > rank(acc) ? o.status : acc), 200);
}

/** Reads the body up to `max` bytes; stops reading (and says so) past it. */
function readBody(req: IncomingMessage, max: number): Promise<{ text: string } | { tooLarge: true }> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > max) {
    req.resume();
    return Promise.resolve({ tooLarge: true });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) over = true;
      else chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(over ? { tooLarge: true } : { text: Buffer.concat(chunks).toString('utf8') }),
    );
    req.on('error', reject);
  });
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body) + '\n');
}
