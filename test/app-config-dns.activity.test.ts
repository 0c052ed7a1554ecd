/**
 * The OVH DNS adapter of the application configuration (`apps.hosts[].config.kind: ovh-dns`) against the OVH API
 * emulator (in-process, short deployment time), through the real node-ovh client: the app's database record is set
 * to the promoted server's target and the zone refreshed and deployed; a second apply is a no-op; the compensation
 * points it back; the read names the server; faults (a 5xx, a slow API, an unreachable API, revoked credentials) fail
 * typed, and a retry finishes what was half done.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import { createAppConfigActivities } from '../activities/apps/config';
import { SshClient } from '../activities/apps/ssh';
import { RunbookRegistry } from '../activities/runbooks';
import { parseRunbook } from '../config/load';
import { freePort } from '../dev/stack/daemon';
import type { DnsZoneView } from '../dev/ovh-emulator/dns';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import { TEST_APPROVER } from './helpers/approver';
import { runActivity } from './helpers/local-stack';
import {
  failureOf,
  failureText,
  FAST_TIMING,
  LogCapture,
  secretsOf,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';

const IDS = DEFAULT_SEED_IDS.dns;
const ZONE = `/domain/zone/${IDS.zone}`;
const RECORD = `${ZONE}/record/${IDS.recordId}`;
const PAIR = 'local-dns';
const HOST = 'app-rbx-1';
const RUNBOOKS = path.resolve(__dirname, '..', 'config', 'runbooks');

describe('application configuration through an OVH DNS record (emulator)', () => {
  const capture = new LogCapture();
  const texts: string[] = [];
  let t: TestEmulator;

  /** The app-config activities of the shipped local DNS runbook whose app-rbx-1 resolves the seeded record. */
  function activities(ovh: Record<string, unknown> = {}, options: { requestTimeoutMs?: number } = {}) {
    const doc = parse(readFileSync(path.join(RUNBOOKS, 'local-ovh-dns.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete doc.traffic;
    const sshTarget = {
      host: '127.0.0.1',
      user: 'dr',
      privateKey: 'env:APP_CONFIG_TEST_UNUSED',
      hostKey: TEST_APPROVER.publicKey,
    };
    const host = (name: string, site: string) => ({
      name,
      site,
      ssh: sshTarget,
      start: 'true',
      stop: 'true',
      healthUrl: 'http://127.0.0.1:1/health',
    });
    doc.apps = {
      hosts: [
        host('app-gra-1', 'gra'),
        {
          ...host(HOST, 'rbx'),
          config: {
            kind: 'ovh-dns',
            ovh: {
              host: t.emulator.host,
              port: t.emulator.port,
              applicationKey: 'file:credentials/application-key',
              applicationSecret: 'file:credentials/application-secret',
              consumerKey: 'file:credentials/consumer-key',
              ...ovh,
            },
            zone: IDS.zone,
            subDomain: IDS.subDomain,
            fieldType: 'A',
            targets: { 'db-rbx-1': '127.0.0.1', 'db-rbx-2': '127.0.0.2' },
            ttl: 30,
            refreshTimeout: '2s',
          },
        },
      ],
    };
    const loaded = parseRunbook(stringify(doc), path.join(t.dir, 'app-config.yaml'));
    return createAppConfigActivities({
      runbooks: new RunbookRegistry(new Map([[PAIR, loaded]])),
      ssh: new SshClient(),
      ovh: { poll: { initialMs: 20, maxMs: 100 }, ...options },
    }) as Pick<Activities, 'appConfigApply' | 'appConfigRestore' | 'appConfigRead'>;
  }
  const env = () => new MockActivityEnvironment(undefined, { logger: capture.logger() });
  const record = () => t.emulator.dns(IDS.zone)?.records.find((r) => r.id === IDS.recordId);
  const deployed = (view: DnsZoneView | undefined = t.emulator.dns(IDS.zone)) =>
    view?.deployedRecords.find((r) => r.id === IDS.recordId);
  async function failed(promise: Promise<unknown>) {
    const failure = await failureOf(promise);
    texts.push(failureText(failure));
    return failure;
  }

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator();
  });
  afterEach(() => {
    t.emulator.reset();
    t.emulator.setTiming(FAST_TIMING);
  });
  afterAll(async () => {
    await t?.stop();
    capture.stop();
    // No secret in any failure, log line or emulator log line.
    const all = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    for (const secret of secretsOf(t.credential)) expect(all).not.toContain(secret);
  });

  it('points the record at the promoted server, refreshes and deploys the zone; a second apply is a no-op; the compensation points it back', async () => {
    const acts = activities();
    const read = await runActivity(env(), acts.appConfigRead, { pair: PAIR, host: HOST });
    expect(read).toMatchObject({ kind: 'ovh-dns', pointsAt: 'db-rbx-1' });

    const r = await runActivity(env(), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-2' });
    expect(r).toMatchObject({
      host: HOST,
      kind: 'ovh-dns',
      server: 'db-rbx-2',
      changed: true,
      reloaded: false,
    });
    expect(r.steps).toEqual([
      `PUT ${RECORD} target=127.0.0.2 ttl=30`,
      `POST ${ZONE}/refresh`,
      'zone deployed',
    ]);
    expect(r.description).toMatch(
      /^app-rbx-1's database record: OVH DNS record app\.dr\.example\.test A now points at db-rbx-2 \(before: db-rbx-1\): set the target to 127\.0\.0\.2 with TTL 30 s and refreshed the zone, deployed \([\d.]+ s\); resolvers follow within 60 s \(the TTL\): until then the app may still reach the previous server\.$/,
    );
    expect(record()).toMatchObject({ target: '127.0.0.2', ttl: 30 });
    expect(deployed()).toEqual(record());

    const again = await runActivity(env(), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(again).toMatchObject({
      changed: false,
      steps: ['the record already pointed at db-rbx-2 (the move)'],
    });
    expect(again.description).toMatch(
      /already points at db-rbx-2 \(127\.0\.0\.2\) and the zone is deployed; nothing changed/,
    );

    const back = await runActivity(env(), acts.appConfigRestore, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-1',
    });
    expect(back).toMatchObject({ changed: true, server: 'db-rbx-1' });
    expect(deployed()).toMatchObject({ target: '127.0.0.1' });
    expect(await runActivity(env(), acts.appConfigRead, { pair: PAIR, host: HOST })).toMatchObject({
      pointsAt: 'db-rbx-1',
    });
  });

  it('a 5xx on the zone refresh fails retryable after the PUT; the retry only refreshes', async () => {
    t.emulator.addFault({ type: 'http-error', status: 502, method: 'POST', path: `${ZONE}/refresh` });
    const acts = activities();
    const failure = await failed(
      runActivity(env(), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-2' }),
    );
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(deployed()?.target).toBe('127.0.0.1');
    const retry = await runActivity(env(), acts.appConfigApply, {
      pair: PAIR,
      host: HOST,
      server: 'db-rbx-2',
    });
    expect(retry.steps).toEqual([`POST ${ZONE}/refresh`, 'zone deployed']);
    expect(deployed()?.target).toBe('127.0.0.2');
  });

  it('a PUT slower than the client timeout is OvhUnavailable (retryable); the retry completes', async () => {
    t.emulator.addFault({ type: 'slow', delayMs: 400, method: 'PUT', path: `${ZONE}/record/*`, count: 1 });
    const acts = activities({}, { requestTimeoutMs: 150 });
    const failure = await failed(
      runActivity(env(), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-2' }),
    );
    expect(failure.type).toBe('OvhUnavailable');
    expect(failure.nonRetryable).toBe(false);
    await new Promise((r) => setTimeout(r, 400));
    await runActivity(env(), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-2' });
    expect(deployed()?.target).toBe('127.0.0.2');
  });

  it('an API that does not answer (closed port) is OvhUnavailable; revoked credentials are refused for good; nothing changes', async () => {
    const closed = await freePort();
    const unreachable = await failed(
      runActivity(env(), activities({ port: closed }).appConfigApply, {
        pair: PAIR,
        host: HOST,
        server: 'db-rbx-2',
      }),
    );
    expect(unreachable.type).toBe('OvhUnavailable');
    expect(unreachable.nonRetryable).toBe(false);

    t.emulator.addFault({ type: 'revoke-credential', consumerKey: t.credential.consumerKey });
    const refused = await failed(
      runActivity(env(), activities().appConfigApply, { pair: PAIR, host: HOST, server: 'db-rbx-2' }),
    );
    expect(refused.type).toBe('OvhInvalidCredentials');
    expect(refused.nonRetryable).toBe(true);
    expect(record()?.target).toBe('127.0.0.1');
  });

  it('names what cannot be done: a server without a target, a restore without the server to go back to', async () => {
    const acts = activities();
    const otherSite = await failed(
      runActivity(env(), acts.appConfigApply, { pair: PAIR, host: HOST, server: 'db-gra-1' }),
    );
    expect(otherSite.type).toBe('AppConfigInvalid');
    const noServer = await failed(runActivity(env(), acts.appConfigRestore, { pair: PAIR, host: HOST }));
    expect(noServer.type).toBe('AppConfigInvalid');
    expect(noServer.message).toBe(
      "app-rbx-1's DNS record cannot be put back: the server it pointed at before the run is not known",
    );
    expect(record()?.target).toBe('127.0.0.1');
  });
});
