/**
 * The OVH DNS traffic provider against the OVH API emulator (in-process, short deployment time), through the real
 * node-ovh client: the A record `app.dr.example.test` moves from gra's target to rbx's, the zone is refreshed and
 * deployed, and the TTL is reported as propagation time; a second switch is a no-op; a switch interrupted by a
 * fault (5xx on the zone refresh, a PUT slower than the client's timeout, a deployment outlasting refreshTimeout)
 * and retried ends in the same state as a clean one; a revoked credential is a non-retryable
 * `OvhInvalidCredentials`; no secret appears in any error or log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { ovhDnsProvider, type OvhProviderOptions } from '../activities/traffic/providers';
import type { LoadedRunbook } from '../config/load';
import type { DnsZoneView } from '../dev/ovh-emulator/dns';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import { runActivity } from './helpers/local-stack';
import {
  activityEnv,
  failureOf,
  failureText,
  FAST_TIMING,
  LogCapture,
  ovhRunbook,
  secretsOf,
  sleep,
  operatorClient,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';
import { waitUntil } from './helpers/wait';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const IDS = DEFAULT_SEED_IDS.dns;
const ZONE = `/domain/zone/${IDS.zone}`;
const RECORD = `${ZONE}/record/${IDS.recordId}`;
const FAST: OvhProviderOptions = { poll: { initialMs: 20, maxMs: 100 } };

const capture = new LogCapture();
const texts: string[] = [];

async function failed(promise: Promise<unknown>) {
  const failure = await failureOf(promise);
  texts.push(failureText(failure));
  return failure;
}

/** The record as edited and as deployed, and the deployment status: what a switch must leave identical. */
function endState(view: DnsZoneView | undefined) {
  const app = (records: DnsZoneView['records'] | undefined) => records?.find((r) => r.id === IDS.recordId);
  return { record: app(view?.records), deployed: app(view?.deployedRecords), isDeployed: view?.isDeployed };
}

describe('OVH DNS provider (seed: app.dr.example.test A 127.0.0.1 = gra, TTL 60)', () => {
  let t: TestEmulator;
  let runbook: LoadedRunbook;
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  let clean: ReturnType<typeof endState>;
  const provider = (options: OvhProviderOptions = FAST, traffic: Record<string, unknown> = {}) => {
    const loaded = Object.keys(traffic).length > 0 ? ovhRunbook(t, 'local-ovh-dns.yaml', traffic) : runbook;
    const config = loaded.runbook.traffic;
    if (config?.provider !== 'ovh-dns') throw new Error('not an ovh-dns runbook');
    return ovhDnsProvider(config, loaded, options);
  };
  const operator = () => operatorClient(t);
  const view = () => t.emulator.dns(IDS.zone);

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator();
    runbook = ovhRunbook(t, 'local-ovh-dns.yaml');
    clients = createClients(new Map([[runbook.runbook.pair, runbook]]));
    activities = createActivities(clients);
    await provider().switchTo('rbx');
    clean = endState(view());
    t.emulator.reset();
  });
  afterEach(() => {
    t.emulator.reset();
    t.emulator.setTiming(FAST_TIMING);
  });
  afterAll(async () => {
    await clients?.close();
    await t?.stop();
    capture.stop();
  });

  it('moves traffic gra → rbx through the activities: record target and TTL set, zone refreshed and deployed', async () => {
    const env = activityEnv(capture);
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const pair = 'local-dns';

    const before = await runActivity(env, activities.trafficCurrentTarget, { pair });
    expect(before).toMatchObject({ provider: 'ovh-dns', site: 'gra', sites: ['gra'], live: true });
    expect(before.description).toBe(
      'OVH DNS record app.dr.example.test A (id 7001, TTL 60 s) points at gra (127.0.0.1); rbx (127.0.0.2) gets none; the zone is deployed.',
    );

    const result = await runActivity(env, activities.trafficSwitch, { pair, site: 'rbx' });
    expect(result).toMatchObject({ changed: true, site: 'rbx', before: ['gra'], propagationSeconds: 60 });
    expect(result.actions).toEqual([
      `PUT ${RECORD} target=127.0.0.2 ttl=60`,
      `POST ${ZONE}/refresh`,
      'zone deployed',
    ]);
    expect(result.description).toMatch(
      /^OVH DNS record app\.dr\.example\.test A now points at rbx \(before: gra\): set the target to 127\.0\.0\.2 with TTL 60 s and refreshed the zone, deployed \(\d+\.\d s\); resolvers follow within 60 s \(the TTL\)\.$/,
    );
    expect(result.state).toMatchObject({ site: 'rbx', live: true });
    expect(beats).toContainEqual({ step: 'dns-zone-deploy', zone: IDS.zone });

    const state = endState(view());
    expect(state.record).toMatchObject({ target: '127.0.0.2', ttl: 60, fieldType: 'A', subDomain: 'app' });
    expect(state.deployed).toEqual(state.record);
    expect(state.isDeployed).toBe(true);
    expect(state).toEqual(clean);

    const verified = await runActivity(env, activities.trafficVerify, { pair, site: 'rbx' });
    expect(verified).toMatchObject({ ok: true, propagationSeconds: 60 });
    expect(verified.checks.map((c) => [c.name, c.ok])).toEqual([
      ['record-target', true],
      ['zone-deployed', true],
    ]);
    const wrong = await runActivity(env, activities.trafficVerify, { pair, site: 'gra' });
    expect(wrong.ok).toBe(false);
    expect(wrong.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['record-target']);
  });

  it('cannot drain a site (a DNS record always points somewhere): changes nothing and says so', async () => {
    const before = endState(view());
    const drained = await provider().drain('gra');
    expect(drained).toMatchObject({ changed: false, actions: [], site: 'gra' });
    expect(drained.state.sites).toEqual(['gra']);
    expect(drained.description).toBe(
      'OVH DNS record app.dr.example.test A cannot leave gra without traffic (a DNS record always points somewhere): gra keeps it until the switch; nothing changed.',
    );
    expect(endState(view())).toEqual(before);
  });

  it('a second switch changes nothing and says so; propagation is the TTL', async () => {
    const p = provider();
    await p.switchTo('rbx');
    const again = await p.switchTo('rbx');
    expect(again).toMatchObject({ changed: false, actions: [], propagationSeconds: 60, before: ['rbx'] });
    expect(again.description).toBe(
      'OVH DNS record app.dr.example.test A already points at rbx (127.0.0.2) and the zone is deployed; nothing changed.',
    );
    expect(endState(view())).toEqual(clean);
  });

  it('reports the old TTL as propagation when it was longer: resolvers cached the old answer under it', async () => {
    const op = operator();
    await op.requestPromised('PUT', RECORD, { ttl: 3600 });
    await op.requestPromised('POST', `${ZONE}/refresh`);
    await sleep(FAST_TIMING.dnsDeployMs + 20);
    const result = await provider().switchTo('rbx');
    expect(result.propagationSeconds).toBe(3600);
    expect(result.description).toMatch(/resolvers follow within 3600 s \(the TTL\)\.$/);
    expect(endState(view()).record?.ttl).toBe(60);
    expect(endState(view())).toEqual(clean);
  });

  it('after a 5xx on the zone refresh (PUT done), reports the record not live, and a retry finishes the switch', async () => {
    t.emulator.addFault({ type: 'http-error', status: 502, method: 'POST', path: `${ZONE}/refresh` });
    const p = provider();
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(
      `OVH API POST ${ZONE}/refresh is unavailable: 502 HTTP 502 injected by the emulator`,
    );
    const middle = await p.currentTarget();
    expect(middle).toMatchObject({ site: 'rbx', live: false });
    expect(middle.description).toMatch(
      /the zone is NOT deployed yet: resolvers may still get the previous answer\.$/,
    );
    expect(endState(view()).deployed?.target).toBe('127.0.0.1');
    expect((await p.verify('rbx')).checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['zone-deployed']);

    const retry = await p.switchTo('rbx');
    expect(retry.changed).toBe(true);
    expect(retry.actions).toEqual([`POST ${ZONE}/refresh`, 'zone deployed']);
    expect(retry.description).toMatch(
      /the record already pointed there but the zone was not deployed: refreshed it/,
    );
    expect(endState(view())).toEqual(clean);
  });

  it('a PUT slower than the client timeout fails as OvhUnavailable, lands later, and the retry completes', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 400, method: 'PUT', path: `${ZONE}/record/*`, count: 1 });
    const p = provider({ ...FAST, requestTimeoutMs: 150 });
    const failure = await failed(p.switchTo('rbx'));
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.details).toEqual([{ status: null, code: 'ETIMEDOUT', method: 'PUT', path: RECORD }]);
    await waitUntil('the late PUT landed', () => endState(view()).record?.target === '127.0.0.2', 5_000, 10);
    await p.switchTo('rbx');
    expect(endState(view())).toEqual(clean);
  });

  it('a deployment outlasting refreshTimeout is TrafficSwitchIncomplete (retryable); a retry completes it', async () => {
    t.emulator.setTiming({ dnsDeployMs: 600 });
    const failure = await failed(provider(FAST, { refreshTimeout: '150ms' }).switchTo('rbx'));
    expect(failure.type).toBe('TrafficSwitchIncomplete');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(
      'OVH DNS record app.dr.example.test A: zone dr.example.test is still not deployed 150 ms after its refresh; a retry refreshes it again.',
    );
    await provider().switchTo('rbx');
    expect(endState(view())).toEqual(clean);
  });

  it('a revoked consumer key is a non-retryable OvhInvalidCredentials, before anything is changed', async () => {
    t.emulator.addFault({ type: 'revoke-credential', consumerKey: t.credential.consumerKey });
    const failure = await failed(provider().switchTo('rbx'));
    expect(failure.type).toBe('OvhInvalidCredentials');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(
      /^OVH API GET \/domain\/zone\/dr\.example\.test\/record refused the credentials \(403 INVALID_CREDENTIAL: This credential is not valid\); check /,
    );
    expect(endState(view()).record?.target).toBe('127.0.0.1');
  });

  it('names what the runbook got wrong: no such record, no such zone, unknown site', async () => {
    const noRecord = await failed(provider(FAST, { subDomain: 'www' }).currentTarget());
    expect(noRecord.type).toBe('TrafficMisconfigured');
    expect(noRecord.message).toBe(
      'zone dr.example.test has no A record "www"; create it (the provider only changes an existing record).',
    );
    const noZone = await failed(provider(FAST, { zone: 'nowhere.test' }).currentTarget());
    expect(noZone.type).toBe('TrafficMisconfigured');
    expect(noZone.message).toMatch(
      /answered 404: This service does not exist; check the runbook's zone and record\.$/,
    );
    const unknownSite = await failed(provider().switchTo('sbg'));
    expect(unknownSite.type).toBe('UnknownSite');
  });

  // After every test of this file, whatever their order (registered last, so it runs before the clean-up).
  afterAll(() => {
    const corpus = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    expect(texts.length).toBeGreaterThanOrEqual(7);
    expect(capture.lines.length).toBeGreaterThan(0);
    for (const secret of secretsOf(t.credential)) expect(corpus).not.toContain(secret);
  });
});
