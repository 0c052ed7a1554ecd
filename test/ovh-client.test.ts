/**
 * The OVH client wrapper (activities/traffic/ovh-client.ts): every shape @ovhcloud/node-ovh 3 fails with (an HTTP
 * status and message, a negative errno, an Error, an '[OVH] …' text, a token error object, or an exception thrown
 * inside its async `request`) becomes a typed Error
 * and a typed ApplicationFailure; credentials are read once, at the first call, and again after a refusal; no secret
 * reaches a message. The real node-ovh is driven against the OVH API emulator for refusals, timeouts, a dead server
 * and cancellation.
 */
import type ovh from '@ovhcloud/node-ovh';
import { ApplicationFailure } from '@temporalio/common';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretUnavailableError } from '../config/secrets';
import {
  OvhApiError,
  OvhClient,
  ovhFailure,
  OvhInvalidCredentials,
  OvhUnavailable,
  type OvhCredentialsConfig,
} from '../activities/traffic/ovh-client';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import { startTestEmulator, type TestEmulator } from './helpers/ovh';

const PATH = `/ipLoadbalancing/${DEFAULT_SEED_IDS.iplb.serviceName}`;

let t: TestEmulator;
const messages: string[] = [];

beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => t?.stop());

function config(overrides: Partial<OvhCredentialsConfig> = {}): OvhCredentialsConfig {
  return {
    endpoint: 'ovh-eu',
    host: t.emulator.host,
    port: t.emulator.port,
    applicationKey: 'file:credentials/application-key',
    applicationSecret: 'file:credentials/application-secret',
    consumerKey: 'file:credentials/consumer-key',
    ...overrides,
  };
}

/**
 * A node-ovh stand-in whose calls fail with `rejection` ({error, message}: the callback's two arguments), or whose
 * `request` promise rejects with `thrown` (as node-ovh's async `request` does when it throws), or succeed with `value`.
 */
function fakeFactory(outcome: {
  rejection?: { error: unknown; message?: unknown };
  thrown?: unknown;
  value?: unknown;
}) {
  const made: ovh.ClientOptions[] = [];
  const factory = (options: ovh.ClientOptions) => {
    made.push(options);
    return {
      request: async (_method: string, _path: string, _params: unknown, callback: ovh.Callback) => {
        if ('thrown' in outcome) throw outcome.thrown;
        if (outcome.rejection) callback(outcome.rejection.error as ovh.ErrorValue, outcome.rejection.message);
        else callback(null, outcome.value);
      },
    } as unknown as ovh.Client;
  };
  return { factory, made };
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  messages.push((err as Error).message);
  return err as Error;
}

describe('node-ovh rejections become typed errors and failures', () => {
  const tls = Object.assign(new Error('self-signed certificate in certificate chain'), {
    code: 'SELF_SIGNED_CERT_IN_CHAIN',
  });
  const cases: [string, { error: unknown; message?: unknown }, string, boolean, RegExp][] = [
    [
      '403 not granted',
      { error: 403, message: 'This call has not been granted' },
      'OvhInvalidCredentials',
      true,
      /refused the credentials \(403 NOT_GRANTED_CALL: This call has not been granted\)/,
    ],
    [
      '400 invalid signature',
      { error: 400, message: 'Invalid signature' },
      'OvhInvalidCredentials',
      true,
      /\(400 INVALID_SIGNATURE: Invalid signature\)/,
    ],
    [
      '401 no consumer key',
      { error: 401, message: 'You must login first' },
      'OvhInvalidCredentials',
      true,
      /\(401 NOT_CREDENTIAL: You must login first\)/,
    ],
    [
      '404',
      { error: 404, message: 'The requested object (id = 1) does not exist' },
      'OvhApiError',
      true,
      /answered 404: The requested object \(id = 1\) does not exist$/,
    ],
    ['409', { error: 409, message: 'busy' }, 'OvhApiError', false, /answered 409: busy$/],
    [
      'stale timestamp',
      { error: 400, message: 'Query out of time' },
      'OvhApiError',
      false,
      /answered 400 QUERY_TIME_OUT: Query out of time$/,
    ],
    ['503 without body', { error: 503, message: null }, 'OvhUnavailable', false, /is unavailable: 503$/],
    ['429', { error: 429, message: 'slow down' }, 'OvhUnavailable', false, /is unavailable: 429 slow down$/],
    [
      'negative errno',
      { error: -111, message: undefined },
      'OvhUnavailable',
      false,
      /network error ECONNREFUSED reaching localhost:\d+$/,
    ],
    [
      'TLS error object',
      { error: tls, message: undefined },
      'OvhUnavailable',
      false,
      /TLS error reaching .*\(SELF_SIGNED_CERT_IN_CHAIN\); is its CA trusted \(NODE_EXTRA_CA_CERTS\)\?$/,
    ],
    [
      'time fetch failure',
      { error: '[OVH] Unable to fetch OVH API time', message: undefined },
      'OvhUnavailable',
      false,
      /could not get the API time from localhost:\d+ before the call/,
    ],
    [
      'JSON parse failure',
      { error: '[OVH] Unable to parse JSON reponse', message: undefined },
      'OvhUnavailable',
      false,
      /is unavailable: \[OVH\] Unable to parse JSON reponse$/,
    ],
  ];

  it.each(cases)('%s', async (_name, rejection, type, nonRetryable, message) => {
    const { factory } = fakeFactory({ rejection });
    const client = new OvhClient(config(), t.dir, { factory });
    const err = await errorOf(client.get(PATH));
    expect(err.name).toBe(type);
    expect(err.message).toMatch(new RegExp(`^OVH API GET ${PATH} `));
    expect(err.message).toMatch(message);
    const expectedClass = { OvhInvalidCredentials, OvhApiError, OvhUnavailable }[type]!;
    expect(err).toBeInstanceOf(expectedClass);
    const failure = ovhFailure(err) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toBe(err.message);
  });

  it.each([
    [
      'a refused token request (401)',
      { error: { statusCode: 401, error: 'Unauthorized', message: { error: 'invalid_client' } } },
      'OvhInvalidCredentials',
      true,
      /could not get an OAuth2 token \(401: Unauthorized \{"error":"invalid_client"\}\); check the service account \(clientId file:id, clientSecret file:secret\)/,
    ],
    [
      'a token request that failed on the network (502 from simple-oauth2)',
      { error: { statusCode: 502, error: 'Bad Gateway', message: undefined } },
      'OvhUnavailable',
      false,
      /could not get an OAuth2 token for localhost:\d+: 502 Bad Gateway \(the token request failed on the network or TLS/,
    ],
  ])('with a service account, %s', async (_name, rejection, type, nonRetryable, message) => {
    const { factory } = fakeFactory({ rejection });
    const serviceAccount = config({
      applicationKey: undefined,
      applicationSecret: undefined,
      consumerKey: undefined,
      clientId: 'file:id',
      clientSecret: 'file:secret',
      tokenUrl: 'https://localhost/auth/',
    });
    writeFileSync(path.join(t.dir, 'id'), 'client-id', { mode: 0o600 });
    writeFileSync(path.join(t.dir, 'secret'), 'client-secret', { mode: 0o600 });
    const err = await errorOf(new OvhClient(serviceAccount, t.dir, { factory }).get(PATH));
    expect(err.name).toBe(type);
    expect(err.message).toMatch(message);
    expect((ovhFailure(err) as ApplicationFailure).nonRetryable).toBe(nonRetryable);
  });

  it('an exception thrown inside node-ovh (its async request) is a typed failure, never an unhandled rejection', async () => {
    const { factory } = fakeFactory({
      thrown: new TypeError("Cannot read properties of null (reading 'payload')"),
    });
    const err = await errorOf(new OvhClient(config(), t.dir, { factory }).get(PATH));
    expect(err).toBeInstanceOf(OvhUnavailable);
    expect(err.message).toMatch(/Cannot read properties of null/);
  });

  it('redacts secret values an error text might echo', async () => {
    const { applicationSecret, consumerKey } = t.credential;
    const { factory } = fakeFactory({
      rejection: { error: 400, message: `bad header ${consumerKey} signed with ${applicationSecret}` },
    });
    const err = await errorOf(new OvhClient(config(), t.dir, { factory }).get(PATH));
    expect(err.message).toBe(`OVH API GET ${PATH} answered 400: bad header *** signed with ***`);
  });
});

describe('credentials', () => {
  it('are read from the secret references at the first call, once, and passed to node-ovh with the host and port', async () => {
    const { factory, made } = fakeFactory({ value: ['loadbalancer-local'] });
    const client = new OvhClient(config(), t.dir, { factory });
    expect(made).toHaveLength(0);
    expect(await client.get<string[]>('/ipLoadbalancing')).toEqual(['loadbalancer-local']);
    await client.get('/ipLoadbalancing');
    expect(made).toEqual([
      {
        appKey: t.credential.applicationKey,
        appSecret: t.credential.applicationSecret,
        consumerKey: t.credential.consumerKey,
        host: 'localhost',
        port: t.emulator.port,
      },
    ]);
  });

  it('are read again after a refusal (a rotated consumer key is picked up without a worker restart)', async () => {
    const { factory, made } = fakeFactory({
      rejection: { error: 403, message: 'This credential is not valid' },
    });
    const client = new OvhClient(config(), t.dir, { factory });
    await errorOf(client.get(PATH));
    await errorOf(client.get(PATH));
    expect(made).toHaveLength(2);
  });

  it('an unreadable secret file is a SecretUnavailable failure naming the reference, and no client is made', async () => {
    const { factory, made } = fakeFactory({ value: null });
    const client = new OvhClient(config({ consumerKey: 'file:credentials/nope' }), t.dir, { factory });
    const err = await errorOf(client.get(PATH));
    expect(err).toBeInstanceOf(SecretUnavailableError);
    const failure = ovhFailure(err) as ApplicationFailure;
    expect([failure.type, failure.nonRetryable]).toEqual(['SecretUnavailable', true]);
    expect(made).toHaveLength(0);
  });

  it('a client node-ovh refuses to build is TrafficMisconfigured (the runbook schema normally prevents it)', async () => {
    const client = new OvhClient(
      config({ host: undefined, endpoint: 'ovh-mars' as OvhCredentialsConfig['endpoint'] }),
      t.dir,
    );
    const failure = ovhFailure(await errorOf(client.get(PATH))) as ApplicationFailure;
    expect(failure.type).toBe('TrafficMisconfigured');
    expect(failure.message).toBe('cannot create the OVH API client for ovh-mars: [OVH] Unknown API ovh-mars');
  });

  it('a credential an HTTP header cannot carry is refused before any call, naming the reference only', async () => {
    const { factory, made } = fakeFactory({ value: null });
    const broken = path.join(t.dir, 'credentials', 'key-with-newline');
    writeFileSync(broken, 'AK\nwith a line break\n', { mode: 0o600 });
    const err = await errorOf(
      new OvhClient(config({ applicationKey: `file:${broken}` }), t.dir, { factory }).get(PATH),
    );
    expect(err.message).toBe(
      `the OVH applicationKey read from file:${broken} holds spaces or characters an HTTP header cannot carry; check that secret`,
    );
    expect((ovhFailure(err) as ApplicationFailure).type).toBe('TrafficMisconfigured');
    expect(made).toHaveLength(0);
  });
});

describe('the real node-ovh against the emulator', () => {
  it('answers GETs and PUTs (HTTP 200, null body for void), and a 204 (DNS zone refresh) as a success', async () => {
    const client = new OvhClient(config(), t.dir);
    expect(await client.get(`${PATH}/http/frontend`, { port: '80' })).toEqual([4001]);
    expect(await client.put(`${PATH}/http/frontend/4001`, { displayName: 'app' })).toBeNull();
    expect(await client.post(`/domain/zone/${DEFAULT_SEED_IDS.dns.zone}/refresh`)).toBeNull();
  });

  it('a wrong application secret is OvhInvalidCredentials (400 INVALID_SIGNATURE); the wrong secret is not shown', async () => {
    const wrong = path.join(t.dir, 'credentials', 'wrong-secret');
    writeFileSync(wrong, 'W'.repeat(32), { mode: 0o600 });
    const client = new OvhClient(config({ applicationSecret: `file:${wrong}` }), t.dir);
    const err = await errorOf(client.get(PATH));
    expect(err).toBeInstanceOf(OvhInvalidCredentials);
    expect((err as OvhInvalidCredentials).status).toBe(400);
    expect((err as OvhInvalidCredentials).reason).toBe('INVALID_SIGNATURE');
    expect(err.message).not.toContain('W'.repeat(32));
  });

  it('an unknown consumer key is OvhInvalidCredentials (403 INVALID_CREDENTIAL)', async () => {
    const other = path.join(t.dir, 'credentials', 'other-ck');
    writeFileSync(other, 'C'.repeat(32), { mode: 0o600 });
    const err = await errorOf(new OvhClient(config({ consumerKey: `file:${other}` }), t.dir).get(PATH));
    expect(err.message).toMatch(
      /refused the credentials \(403 INVALID_CREDENTIAL: This credential does not exist\)/,
    );
  });

  it('a call slower than requestTimeoutMs is OvhUnavailable (ETIMEDOUT)', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 300, path: PATH, method: 'GET', count: 1 });
    const client = new OvhClient(config(), t.dir, { requestTimeoutMs: 100 });
    const err = await errorOf(client.get(PATH));
    expect(err).toBeInstanceOf(OvhUnavailable);
    expect((err as OvhUnavailable).code).toBe('ETIMEDOUT');
  });

  it('a cancelled call rejects at once with the signal reason', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 2000, path: PATH, method: 'GET', count: 1 });
    const client = new OvhClient(config(), t.dir);
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    const err = await errorOf(client.get(PATH, undefined, controller.signal));
    expect(err.message).toBe('activity cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a server that went away is OvhUnavailable: ECONNREFUSED once the API time is known, else the time fetch', async () => {
    const gone = await startTestEmulator();
    const opts = {
      ...config(),
      host: gone.emulator.host,
      port: gone.emulator.port,
      applicationKey: `file:${path.join(gone.dir, 'credentials', 'application-key')}`,
      applicationSecret: `file:${path.join(gone.dir, 'credentials', 'application-secret')}`,
      consumerKey: `file:${path.join(gone.dir, 'credentials', 'consumer-key')}`,
    };
    const warm = new OvhClient(opts, t.dir);
    await warm.get('/ipLoadbalancing');
    await gone.emulator.stop();
    // Kept-alive sockets of the global agent may see the close first (ECONNRESET, one per pooled socket); a new
    // connection is refused.
    const codes: (string | undefined)[] = [];
    let refused: Error | undefined;
    while (codes.length < 5 && codes.at(-1) !== 'ECONNREFUSED') {
      refused = await errorOf(warm.get('/ipLoadbalancing'));
      expect(refused).toBeInstanceOf(OvhUnavailable);
      codes.push((refused as OvhUnavailable).code);
    }
    expect(codes.at(-1)).toBe('ECONNREFUSED');
    expect(codes.slice(0, -1).every((code) => code === 'ECONNRESET')).toBe(true);
    expect(refused?.message).toBe(
      `OVH API GET /ipLoadbalancing is unavailable: network error ECONNREFUSED reaching localhost:${gone.emulator.port}`,
    );
    const cold = await errorOf(new OvhClient(opts, t.dir).get('/ipLoadbalancing'));
    expect((cold as OvhUnavailable).code).toBe('AUTH_TIME_UNAVAILABLE');
    await gone.stop();
  });

  it('no message of this file holds a secret', () => {
    expect(messages.length).toBeGreaterThan(15);
    const corpus = messages.join('\n') + t.emulatorLog.join('\n');
    for (const secret of [t.credential.applicationSecret, t.credential.consumerKey])
      expect(corpus).not.toContain(secret);
  });
});
