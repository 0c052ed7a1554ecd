/**
 * The OVH traffic providers authenticated by an OAuth2 service account (the second way the runbook's `ovh` section
 * allows): node-ovh asks the emulator's token endpoint for a client-credentials token, then calls the API with it as
 * a bearer token. A wrong client secret and a revoked service account are non-retryable `OvhInvalidCredentials`
 * naming the secret references; no secret appears in any failure or log line.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import type { LoadedRunbook } from '../config/load';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';
import { runActivity } from './helpers/local-stack';
import {
  activityEnv,
  failureOf,
  failureText,
  LogCapture,
  ovhRunbook,
  startTestEmulator,
  type TestEmulator,
} from './helpers/ovh';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const IDS = DEFAULT_SEED_IDS.dns;
const capture = new LogCapture();
const texts: string[] = [];

describe('OVH DNS switch with an OAuth2 service account', () => {
  let t: TestEmulator;
  let runbook: LoadedRunbook;
  let clients: ActivityClients;
  const serviceAccount = (t: TestEmulator, overrides: Record<string, string> = {}) => ({
    ovh: {
      host: t.emulator.host,
      port: t.emulator.port,
      tokenUrl: `${t.emulator.url}/auth/`,
      clientId: 'file:credentials/client-id',
      clientSecret: 'file:credentials/client-secret',
      ...overrides,
    },
  });
  const activitiesOf = (loaded: LoadedRunbook) => {
    const c = createClients(new Map([[loaded.runbook.pair, loaded]]));
    return { clients: c, activities: createActivities(c) };
  };

  beforeAll(async () => {
    capture.start();
    t = await startTestEmulator();
    runbook = ovhRunbook(t, 'local-ovh-dns.yaml', serviceAccount(t));
    clients = activitiesOf(runbook).clients;
  });
  afterEach(() => t.emulator.reset());
  afterAll(async () => {
    await clients?.close();
    capture.stop();
    await t?.stop();
  });

  it('gets a token with the client-credentials grant, then switches the record with it as a bearer token', async () => {
    const env = activityEnv(capture);
    const activities = createActivities(clients);
    const result = await runActivity(env, activities.trafficSwitch, {
      pair: runbook.runbook.pair,
      site: 'rbx',
    });
    expect(result).toMatchObject({ changed: true, site: 'rbx' });
    expect(t.emulator.dns(IDS.zone)?.deployedRecords.find((r) => r.id === IDS.recordId)?.target).toBe(
      IDS.targets.rbx,
    );
    // One token for the whole switch (reads, PUT, refresh, status polls): node-ovh keeps it until it expires.
    expect(t.emulator.snapshot().oauth2).toEqual({
      tokensIssued: 1,
      refused: 0,
      bearerCalls: expect.any(Number),
    });
    expect(t.emulator.snapshot().oauth2.bearerCalls).toBeGreaterThanOrEqual(5);
  });

  it('a wrong client secret is OvhInvalidCredentials, not retried, naming the references only', async () => {
    const wrong = ovhRunbook(
      t,
      'local-ovh-dns.yaml',
      serviceAccount(t, { clientSecret: 'file:credentials/client-id' }),
      'wrong',
    );
    const { clients: c, activities } = activitiesOf(wrong);
    try {
      const failure = await failureOf(
        runActivity(activityEnv(capture), activities.trafficCurrentTarget, { pair: wrong.runbook.pair }),
      );
      texts.push(failureText(failure));
      expect(failure).toMatchObject({ type: 'OvhInvalidCredentials', nonRetryable: true });
      expect(failure.message).toMatch(
        /could not get an OAuth2 token \(401: Unauthorized .*invalid_client.*\); check the service account \(clientId file:credentials\/client-id, clientSecret file:credentials\/client-id\)/,
      );
      expect(t.emulator.snapshot().oauth2.refused).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('a service account revoked after its token was issued is refused at the next call: OvhInvalidCredentials', async () => {
    const env = activityEnv(capture);
    const { clients: c, activities } = activitiesOf(runbook);
    try {
      await runActivity(env, activities.trafficCurrentTarget, { pair: runbook.runbook.pair });
      t.emulator.addFault({ type: 'revoke-credential', clientId: t.serviceAccount.clientId });
      const failure = await failureOf(
        runActivity(env, activities.trafficCurrentTarget, { pair: runbook.runbook.pair }),
      );
      texts.push(failureText(failure));
      expect(failure).toMatchObject({ type: 'OvhInvalidCredentials', nonRetryable: true });
      expect(failure.message).toMatch(/refused the credentials \(401/);
    } finally {
      await c.close();
    }
  });

  // After every test of this file, whatever their order (registered last, so it runs before the clean-up).
  afterAll(() => {
    const corpus = [...texts, ...capture.lines, ...t.emulatorLog].join('\n');
    expect(texts.length).toBe(2);
    expect(corpus).not.toContain(t.serviceAccount.clientSecret);
  });
});
