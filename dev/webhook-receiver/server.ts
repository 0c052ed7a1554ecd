import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { timingSafeEqual } from 'node:crypto';

/** One message the receiver took: when, and the JSON body as posted. */
export interface ReceivedNotification {
  receivedAt: string;
  message: unknown;
}

export interface WebhookReceiverOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** The secret part of the hook's path: only POST /hooks/<token> is taken (as a Slack incoming webhook's URL). */
  token: string;
  /** A JSON-lines file that keeps every message across restarts (read at start, appended to). */
  file?: string;
  /** Bodies larger than this are refused with 413 (default 256 KiB). */
  maxBodyBytes?: number;
}

export interface WebhookReceiver {
  port: number;
  /** The URL to post to, token included: a secret. */
  hookUrl: string;
  /** Where the received messages are read: GET gives them (`?workflowId=` narrows), DELETE forgets them. */
  messagesUrl: string;
  received(): ReceivedNotification[];
  close(): Promise<void>;
}

const sameToken = (given: string, token: string) =>
  given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));

/**
 * A webhook receiver for the local stack and the tests: it records the notifications the worker posts, in the order
 * they arrive, and shows them. It answers as a webhook does: 200 for a message taken, 404 for a path that is not
 * the hook, 400 for a body that is not a JSON object, 413 for one too large.
 */
export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const maxBody = options.maxBodyBytes ?? 256 * 1024;
  const received: ReceivedNotification[] = options.file ? readKept(options.file) : [];
  const record = (message: unknown) => {
    const entry = { receivedAt: new Date().toISOString(), message };
    received.push(entry);
    if (options.file) appendFileSync(options.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/health' && req.method === 'GET') return answer(200, { ok: true });
    if (url.pathname === '/messages' && req.method === 'GET') {
      const workflowId = url.searchParams.get('workflowId');
      return answer(200, workflowId ? received.filter((r) => workflowOf(r) === workflowId) : received);
    }
    if (url.pathname === '/messages' && req.method === 'DELETE') {
      received.length = 0;
      return answer(200, { ok: true });
    }
    const hook = /^\/hooks\/([^/]+)$/.exec(url.pathname);
    if (!hook || req.method !== 'POST' || !sameToken(hook[1]!, options.token))
      return answer(404, { error: 'no such hook' });
    readBody(req, maxBody).then(
      (text) => {
        let message: unknown;
        try {
          message = JSON.parse(text);
        } catch {
          return answer(400, { error: 'the body is not JSON' });
        }
        if (message === null || typeof message !== 'object' || Array.isArray(message))
          return answer(400, { error: 'the body is not a JSON object' });
        record(message);
        answer(200, { ok: true });
      },
      () => answer(413, { error: `the body is larger than ${maxBody} bytes` }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://${options.host ?? '127.0.0.1'}:${port}`;
  return {
    port,
    hookUrl: `${base}/hooks/${options.token}`,
    messagesUrl: `${base}/messages`,
    received: () => [...received],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function workflowOf(entry: ReceivedNotification): unknown {
  return (entry.message as { run?: { workflowId?: unknown } }).run?.workflowId;
}

/** The body as text; one larger than `max` is read to its end (so the client hears the answer) and refused. */
function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > 16 * max) req.destroy();
    });
    req.on('end', () =>
      size > max ? reject(new Error('too large')) : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

function readKept(file: string): ReceivedNotification[] {
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as ReceivedNotification];
      } catch {
        return []; // a line cut by a crash
      }
    });
}
