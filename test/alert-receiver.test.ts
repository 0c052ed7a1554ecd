/**
 * The Alertmanager receiver (client/alerts) in this process, against the shared Temporal server on a task queue no
 * worker polls (a started run stays at its start): what it answers to good and bad requests, and what it starts.
 */
import {
  Client,
  Connection,
  WorkflowNotFoundError,
  type Connection as ConnectionType,
} from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerAuth } from '../client/alerts/auth';
import { alertRules } from '../client/alerts/routing';
import { startReceiver, type RunningReceiver } from '../client/alerts/server';
import { readReceiverSecrets } from '../client/alerts/settings';
import { createJsonLogger } from '../common/logger';
import type { Runbook } from '../config/schema';
import { freePort } from '../dev/stack/daemon';
import { pairMoveWorkflowId } from '../workflows/definitions';
import { firingAlert, resolvedAlert, webhookMessage } from './helpers/alertmanager-messages';
import { temporalClient, testTaskQueue } from './helpers/local-stack';

const TOKEN = randomBytes(24).toString('hex');
const PAIR = `alerts-${randomBytes(3).toString('hex')}`;
const READINESS_PAIR = `${PAIR}-r`;
/** A pair no runbook knows (unique: other tests share the Temporal namespace). */
const UNKNOWN_PAIR = `${PAIR}-unknown`;
/** A pair with a failover rule and never a run. */
const IDLE_PAIR = `${PAIR}-idle`;
const MAX_BODY = 64 * 1024;

const rules = alertRules([
  {
    pair: PAIR,
    alerts: {
      rules: [
        {
          name: 'site-down',
          matchers: ['alertname="DrPrimarySiteDown"', `pair="${PAIR}"`],
          action: 'failover',
        },
      ],
    },
  } as Runbook,
  {
    pair: IDLE_PAIR,
    alerts: {
      rules: [
        {
          name: 'site-down',
          matchers: ['alertname="DrPrimarySiteDown"', `pair="${IDLE_PAIR}"`],
          action: 'failover',
        },
      ],
    },
  } as Runbook,
  {
    pair: READINESS_PAIR,
    alerts: {
      rules: [
        {
          name: 'db',
          matchers: ['alertname=~"DrPrimaryDatabase.*"', `pair="${READINESS_PAIR}"`],
          action: 'readiness',
        },
      ],
    },
  } as Runbook,
]);

interface Answer {
  status: number;
  body: {
    error?: string;
    outcomes?: { status: number; sentence: string; runId?: string; workflowId?: string }[];
  };
  headers: http.IncomingHttpHeaders;
}

/** One raw HTTP request (node:http, so that any method, header and body can be sent, chunked or not). */
function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    chunked?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Answer['body'] = {};
        try {
          body = JSON.parse(text) as Answer['body'];
        } catch {
          /* not JSON: the assertion on body.error fails and shows it */
        }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on('error', reject);
    if (options.chunked && options.body) {
      const body = Buffer.from(options.body);
      for (let i = 0; i < body.length; i += 16 * 1024) req.write(body.subarray(i, i + 16 * 1024));
      req.end();
    } else req.end(options.body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json' };
const post = (url: string, body: unknown, headers: Record<string, string> = { ...auth, ...json }) =>
  request(url, { headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

const siteDown = (pair = PAIR, startsAt?: string) =>
  firingAlert({ alertname: 'DrPrimarySiteDown', pair, site: 'gra', severity: 'page' }, startsAt);

async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe('alert receiver', () => {
  let client: Client;
  let connection: ConnectionType;
  let receiver: RunningReceiver;
  const lines: string[] = [];
  const taskQueue = testTaskQueue('alerts');

  beforeAll(async () => {
    ({ client, connection } = await temporalClient());
    receiver = await startReceiver(
      {
        client,
        taskQueue,
        temporalTimeoutMs: 10_000,
        rules,
        auth: bearerAuth(TOKEN, false),
        maxBodyBytes: MAX_BODY,
        log: createJsonLogger('alert-receiver', (line) => lines.push(line), 'INFO'),
      },
      '127.0.0.1',
      0,
    );
  });

  afterAll(async () => {
    for (const id of [pairMoveWorkflowId(PAIR)])
      await client.workflow
        .getHandle(id)
        .terminate('alert receiver test ends')
        .catch(() => undefined);
    await receiver?.close();
    await connection?.close();
  });

  describe('bad input: 4xx with a reason, nothing started', () => {
    const good = () => webhookMessage([siteDown()]);
    const without = (field: string) => {
      const m = good() as unknown as Record<string, unknown>;
      delete m[field];
      return m;
    };
    const withAlert = (change: (a: Record<string, unknown>) => void) => {
      const m = good();
      change(m.alerts[0] as unknown as Record<string, unknown>);
      return m;
    };
    const big = 'x'.repeat(MAX_BODY + 1);
    const cases: {
      kind: string;
      send: (url: string) => Promise<Answer>;
      status: number;
      reason: RegExp;
    }[] = [
      {
        kind: 'no Authorization header',
        send: (u) => post(u, good(), json),
        status: 401,
        reason: /Authorization header is missing/,
      },
      {
        kind: 'a wrong token',
        send: (u) => post(u, good(), { ...json, authorization: `Bearer ${TOKEN}x` }),
        status: 401,
        reason: /bearer token is not the receiver's/,
      },
      {
        kind: 'the token as Basic credentials',
        send: (u) =>
          post(u, good(), {
            ...json,
            authorization: `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}`,
          }),
        status: 401,
        reason: /not "Bearer <token>"/,
      },
      {
        kind: 'an empty bearer token',
        send: (u) => post(u, good(), { ...json, authorization: 'Bearer ' }),
        status: 401,
        reason: /not "Bearer <token>"/,
      },
      {
        kind: 'a wrong token to a wrong path (nothing said about the path)',
        send: (u) =>
          post(u.replace(/\/alerts$/, `/admin?token=${TOKEN}`), good(), {
            ...json,
            authorization: 'Bearer nope',
          }),
        status: 401,
        reason: /bearer token/,
      },
      {
        kind: 'a wrong path',
        send: (u) => post(u.replace(/\/alerts$/, '/api/v2/alerts'), good()),
        status: 404,
        reason: /no such path \/api\/v2\/alerts/,
      },
      {
        kind: 'GET',
        send: (u) => request(u, { method: 'GET', headers: auth }),
        status: 405,
        reason: /GET is not allowed/,
      },
      {
        kind: 'PUT',
        send: (u) =>
          request(u, { method: 'PUT', headers: { ...auth, ...json }, body: JSON.stringify(good()) }),
        status: 405,
        reason: /PUT is not allowed/,
      },
      {
        kind: 'a text/plain body',
        send: (u) => post(u, good(), { ...auth, 'content-type': 'text/plain' }),
        status: 415,
        reason: /must be application\/json \(got text\/plain\)/,
      },
      {
        kind: 'a body larger than the limit (Content-Length)',
        send: (u) => post(u, big),
        status: 413,
        reason: new RegExp(`larger than ${MAX_BODY} bytes`),
      },
      {
        kind: 'a body larger than the limit (chunked, no Content-Length)',
        send: (u) => request(u, { headers: { ...auth, ...json }, body: big, chunked: true }),
        status: 413,
        reason: new RegExp(`larger than ${MAX_BODY} bytes`),
      },
      { kind: 'an empty body', send: (u) => post(u, ''), status: 400, reason: /not JSON/ },
      { kind: 'malformed JSON', send: (u) => post(u, '{"version": "4",'), status: 400, reason: /not JSON/ },
      { kind: 'a JSON array', send: (u) => post(u, [good()]), status: 400, reason: /must be a JSON object/ },
      { kind: 'JSON null', send: (u) => post(u, 'null'), status: 400, reason: /must be a JSON object/ },
      {
        kind: 'version "3"',
        send: (u) => post(u, { ...good(), version: '3' }),
        status: 400,
        reason: /version: must be "4"/,
      },
      {
        kind: 'no version',
        send: (u) => post(u, without('version')),
        status: 400,
        reason: /version: is required/,
      },
      {
        kind: 'no groupKey',
        send: (u) => post(u, without('groupKey')),
        status: 400,
        reason: /groupKey: is required/,
      },
      {
        kind: 'no alerts',
        send: (u) => post(u, without('alerts')),
        status: 400,
        reason: /alerts: is required/,
      },
      {
        kind: 'an empty alerts list',
        send: (u) => post(u, { ...good(), alerts: [] }),
        status: 400,
        reason: /alerts: must hold at least one alert/,
      },
      {
        kind: 'more than 1000 alerts',
        send: (u) => post(u, { ...good(), alerts: Array.from({ length: 1001 }, () => ({})) }),
        status: 400,
        reason: /alerts: must hold at most 1000 alerts/,
      },
      {
        kind: 'fifty malformed alerts (the reason names the first ten problems)',
        send: (u) =>
          post(u, {
            ...good(),
            alerts: Array.from({ length: 50 }, () => ({
              status: 'x',
              labels: { alertname: 'A' },
              startsAt: 'y',
            })),
          }),
        status: 400,
        reason: /^not an Alertmanager webhook message: alerts\[0\]\.status: .*; and 90 more$/,
      },
      {
        kind: 'a bad group status',
        send: (u) => post(u, { ...good(), status: 'burning' }),
        status: 400,
        reason: /status: must be "firing" or "resolved"/,
      },
      {
        kind: 'a bad alert status',
        send: (u) =>
          post(
            u,
            withAlert((a) => (a.status = 'pending')),
          ),
        status: 400,
        reason: /alerts\[0\]\.status: must be "firing" or "resolved"/,
      },
      {
        kind: 'an alert without alertname',
        send: (u) =>
          post(
            u,
            withAlert((a) => (a.labels = { pair: PAIR })),
          ),
        status: 400,
        reason: /alerts\[0\]\.labels: must hold an alertname label/,
      },
      {
        kind: 'a label that is not a string',
        send: (u) =>
          post(
            u,
            withAlert((a) => (a.labels = { alertname: 'DrPrimarySiteDown', pair: 7 })),
          ),
        status: 400,
        reason: /alerts\[0\]\.labels\.pair: must be a string/,
      },
      {
        kind: 'startsAt not a time',
        send: (u) =>
          post(
            u,
            withAlert((a) => (a.startsAt = 'yesterday')),
          ),
        status: 400,
        reason: /alerts\[0\]\.startsAt: must be an RFC 3339 time/,
      },
      {
        kind: 'a negative truncatedAlerts',
        send: (u) => post(u, { ...good(), truncatedAlerts: -1 }),
        status: 400,
        reason: /truncatedAlerts: /,
      },
      {
        kind: 'an alert of a pair no runbook knows',
        send: (u) => post(u, webhookMessage([siteDown(UNKNOWN_PAIR)])),
        status: 422,
        reason: /no alert rule of any runbook takes these alerts \(DrPrimarySiteDown/,
      },
      {
        kind: 'an alert no rule takes',
        send: (u) => post(u, webhookMessage([firingAlert({ alertname: 'DiskFull', pair: PAIR })])),
        status: 422,
        reason: /no alert rule of any runbook takes these alerts \(DiskFull/,
      },
    ];

    it.each(cases)('$kind: $status', async ({ send, status, reason }) => {
      const before = lines.length;
      const answer = await send(receiver.url);
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.body.error).toMatch(reason);
      expect(answer.body.error!.length).toBeLessThan(1500); // a thousand bad alerts still make one readable reason
      if (status === 401) expect(answer.headers['www-authenticate']).toBe('Bearer');
      if (status === 405) expect(answer.headers.allow).toBe('POST');
      // Logged as one sentence, without the token (even one a caller put in the URL); nothing started.
      const logged = lines.slice(before).map((l) => JSON.parse(l) as { message: string });
      expect(logged.filter((l) => /^refused /.test(l.message))).toHaveLength(1);
      expect(lines.slice(before).join('\n')).not.toContain(TOKEN);
      expect(await workflowExists(client, pairMoveWorkflowId(PAIR))).toBe(false);
    });

    it(`tries ${cases.length} kinds of bad input (at least 20); the unknown pair got no run either`, async () => {
      expect(cases.length).toBeGreaterThanOrEqual(20);
      expect(await workflowExists(client, pairMoveWorkflowId(UNKNOWN_PAIR))).toBe(false);
    });
  });

  describe('good input', () => {
    it('a firing alert starts the unplanned failover of its pair, with every field of newer Alertmanagers tolerated', async () => {
      const message = webhookMessage([siteDown()], { truncatedAlerts: 3, someFutureField: { x: 1 } });
      const answer = await post(receiver.url, message);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const outcome = answer.body.outcomes![0]!;
      expect(outcome.sentence).toMatch(new RegExp(`unplanned failover of ${PAIR}: Temporal accepted it`));
      const description = await client.workflow.getHandle(pairMoveWorkflowId(PAIR)).describe();
      expect(description.type).toBe('failover');
      expect(description.runId).toBe(outcome.runId);
      expect(description.taskQueue).toBe(taskQueue);
      expect(lines.join('\n')).toContain('Alertmanager left 3 alerts of group');
    });

    it('100 concurrent deliveries of the same alert give one run', async () => {
      const message = webhookMessage([siteDown()]);
      const answers = await Promise.all(Array.from({ length: 100 }, () => post(receiver.url, message)));
      expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
      const runIds = new Set(answers.map((a) => a.body.outcomes![0]!.runId));
      expect(runIds.size).toBe(1);
      const running = await client.workflow.getHandle(pairMoveWorkflowId(PAIR)).describe();
      expect([...runIds]).toEqual([running.runId]);
    });

    it('a resolved notification is signalled to the running failover (a 2xx once Temporal accepted the signal)', async () => {
      const answer = await post(receiver.url, webhookMessage([resolvedAlert(siteDown())]));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.outcomes![0]!.sentence).toMatch(/has resolved: told the running failover/);
      const history = await client.workflow.getHandle(pairMoveWorkflowId(PAIR)).fetchHistory();
      const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
      expect(signals.map((e) => e.workflowExecutionSignaledEventAttributes!.signalName)).toEqual([
        'alert-resolved',
      ]);
    });

    it('a resolved notification with no failover running tells nothing, and says so', async () => {
      const answer = await post(receiver.url, webhookMessage([resolvedAlert(siteDown(IDLE_PAIR))]));
      expect(answer.status).toBe(200);
      expect(answer.body.outcomes![0]!.sentence).toBe(
        `alert DrPrimarySiteDown (${siteDown(IDLE_PAIR).fingerprint}) for ${IDLE_PAIR} has resolved, and no failover of ${IDLE_PAIR} is running: nothing to tell.`,
      );
      expect(await workflowExists(client, pairMoveWorkflowId(IDLE_PAIR))).toBe(false);
    });

    it('an alert whose failover ended (here terminated) starts nothing more; an outage that begins later does', async () => {
      const handle = client.workflow.getHandle(pairMoveWorkflowId(PAIR));
      const ended = await handle.describe();
      await handle.terminate('an operator ends it');
      const before = new Date(ended.startTime.getTime() - 60_000).toISOString();
      const again = await post(receiver.url, webhookMessage([siteDown(PAIR, before)]));
      expect(again.status).toBe(200);
      expect(again.body.outcomes![0]!.sentence).toBe(
        `alert DrPrimarySiteDown (${siteDown(PAIR).fingerprint}) for ${PAIR} was handled already: the failover ${pairMoveWorkflowId(PAIR)} (run ${ended.runId}) started after the alert began and was terminated; nothing started.`,
      );
      expect((await handle.describe()).runId).toBe(ended.runId);
      const later = await post(receiver.url, webhookMessage([siteDown(PAIR, new Date().toISOString())]));
      expect(later.status).toBe(200);
      const started = await handle.describe();
      expect(started.runId).not.toBe(ended.runId);
      expect(started.status.name).toBe('RUNNING');
      expect(later.body.outcomes![0]!.runId).toBe(started.runId);
    });

    it('an alert of a readiness rule starts a readiness check only, once per alert', async () => {
      const alert = firingAlert({ alertname: 'DrPrimaryDatabaseDown', pair: READINESS_PAIR });
      const first = await post(receiver.url, webhookMessage([alert]));
      const again = await post(receiver.url, webhookMessage([alert]));
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(again.status).toBe(200);
      const id = first.body.outcomes![0]!.workflowId!;
      expect(id).toMatch(new RegExp(`^readiness-${READINESS_PAIR}-alert-[0-9a-f]{16}$`));
      expect(again.body.outcomes![0]!.sentence).toMatch(/was started already; nothing started/);
      const handle = client.workflow.getHandle(id);
      expect((await handle.describe()).type).toBe('readinessCheck');
      await handle.terminate('alert receiver test ends');
      expect(await workflowExists(client, pairMoveWorkflowId(READINESS_PAIR))).toBe(false);
    });
  });

  it('Temporal unavailable: 503 with a reason (Alertmanager retries), nothing started', async () => {
    const closedPort = await freePort();
    const down = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${closedPort}` }) });
    const other = await startReceiver(
      {
        client: down,
        taskQueue,
        temporalTimeoutMs: 1_500,
        rules,
        auth: bearerAuth(TOKEN, false),
        maxBodyBytes: MAX_BODY,
        log: createJsonLogger('alert-receiver', () => undefined),
      },
      '127.0.0.1',
      0,
    );
    try {
      const down503 = await post(other.url, webhookMessage([siteDown(IDLE_PAIR)]));
      expect(down503.status).toBe(503);
      expect(down503.body.error).toMatch(
        new RegExp(
          `^Temporal did not accept the failover of ${IDLE_PAIR} \\(.*\\); nothing was started, Alertmanager will retry\\.$`,
        ),
      );
      expect(await workflowExists(client, pairMoveWorkflowId(IDLE_PAIR))).toBe(false);
    } finally {
      await other.close();
    }
  });
});

describe('alert receiver with mutual TLS', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alerts-mtls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  /** A CA, and a certificate it signs for `name` (with 127.0.0.1 as its address). */
  function ca(name: string) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name} CA`,
      '-keyout',
      file(`${name}-ca.key`),
      '-out',
      file(`${name}-ca.crt`),
    );
  }
  function signed(caName: string, name: string) {
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    );
    writeFileSync(file(`${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file(`${caName}-ca.crt`),
      '-CAkey',
      file(`${caName}-ca.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.crt`),
    );
  }
  let receiver: RunningReceiver;
  let client: Client;
  let connection: ConnectionType;

  beforeAll(async () => {
    ca('clients');
    ca('server');
    ca('stranger');
    signed('server', 'receiver');
    signed('clients', 'alertmanager');
    signed('stranger', 'intruder');
    chmodSync(file('receiver.key'), 0o600);
    writeFileSync(file('token'), `${TOKEN}\n`, { mode: 0o600 });
    // The receiver's settings resolve relative file: references against its runbook's folder: this one.
    const secrets = readReceiverSecrets({
      file: file('runbook.yaml'),
      config: {
        listen: '127.0.0.1',
        port: 1,
        token: 'file:token',
        maxBodyBytes: MAX_BODY,
        tls: { cert: 'file:receiver.crt', key: 'file:receiver.key', clientCa: 'file:clients-ca.crt' },
      },
    });
    ({ client, connection } = await temporalClient());
    receiver = await startReceiver(
      {
        client,
        taskQueue: testTaskQueue('alerts-mtls'),
        temporalTimeoutMs: 10_000,
        rules,
        auth: bearerAuth(secrets.token, true),
        maxBodyBytes: MAX_BODY,
        log: createJsonLogger('alert-receiver', () => undefined),
        tls: secrets.tls!,
      },
      '127.0.0.1',
      0,
    );
  });
  afterAll(async () => {
    await receiver?.close();
    await connection?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** POSTs an alert no rule takes (so nothing starts): 422 once through TLS and the token. */
  function postAs(client?: 'alertmanager' | 'intruder'): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        receiver.url,
        {
          method: 'POST',
          ca: readFileSync(file('server-ca.crt')),
          ...(client
            ? { cert: readFileSync(file(`${client}.crt`)), key: readFileSync(file(`${client}.key`)) }
            : {}),
          headers: { ...auth, ...json },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(webhookMessage([firingAlert({ alertname: 'DiskFull' })])));
    });
  }

  it('a client certificate signed by the client CA, with the token, gets through', async () => {
    expect(receiver.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/alerts$/);
    expect(await postAs('alertmanager')).toBe(422);
  });

  it('no client certificate, or one of another CA, is refused at the handshake', async () => {
    await expect(postAs()).rejects.toThrow();
    await expect(postAs('intruder')).rejects.toThrow();
  });
});
