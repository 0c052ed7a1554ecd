/**
 * Helpers for the OVH traffic provider tests: an OVH API emulator started in-process (CA trusted through
 * https.globalAgent), credential files usable as `file:` secret references, runbooks built from the shipped local
 * OVH runbooks but pointing at that emulator, a log capture, and the secret check.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { parse, stringify } from 'yaml';
import ovh from '@ovhcloud/node-ovh';
import { createJsonLogger } from '../../common/logger';
import { parseRunbook, type LoadedRunbook } from '../../config/load';
import type { OvhCredential } from '../../dev/ovh-emulator/auth';
import { ensureCredentialFiles, ensureServiceAccountFiles } from '../../dev/ovh-emulator/credentials';
import type { ServiceAccount } from '../../dev/ovh-emulator/oauth2';
import { startOvhEmulator, type OvhEmulator, type OvhEmulatorOptions } from '../../dev/ovh-emulator/server';
import { trustCaInProcess } from '../../dev/ovh-emulator/test-support';
import type { EmulatorTiming } from '../../dev/ovh-emulator/state';

const RUNBOOKS = path.resolve(__dirname, '..', '..', 'config', 'runbooks');

/** Short emulated task durations, so a refresh takes ~100 ms. */
export const FAST_TIMING: EmulatorTiming = {
  iplbTaskTodoMs: 40,
  iplbTaskDoingMs: 60,
  dnsDeployMs: 60,
  cloudLbUpdateMs: 60,
  cloudDbCreateMs: 100,
};

/** Every line logged while the tests run: the activities' logger, console, and the emulator's own log. */
export class LogCapture {
  readonly lines: string[] = [];
  private readonly spies: { mockRestore(): void }[] = [];

  logger(): DefaultLogger {
    return new DefaultLogger('TRACE', (entry: LogEntry) => {
      this.lines.push(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`);
    });
  }

  start(): void {
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      this.spies.push(
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          this.lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
        }),
      );
    }
  }

  stop(): void {
    for (const spy of this.spies.splice(0)) spy.mockRestore();
  }
}

export interface TestEmulator {
  emulator: OvhEmulator;
  dir: string;
  credential: OvhCredential;
  /** An OAuth2 service account, as files `credentials/client-id` and `credentials/client-secret`. */
  serviceAccount: ServiceAccount;
  /** The emulator's own log lines (JSON), part of what must hold no secret. */
  emulatorLog: string[];
  stop(): Promise<void>;
}

/** An emulator with one generated credential and one service account written as files under `<dir>/credentials`. */
export async function startTestEmulator(
  options: Partial<Pick<OvhEmulatorOptions, 'seed' | 'timing' | 'recordResponses'>> = {},
): Promise<TestEmulator> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ovh-traffic-'));
  const { credential } = ensureCredentialFiles(path.join(dir, 'credentials'));
  const { account: serviceAccount } = ensureServiceAccountFiles(path.join(dir, 'credentials'));
  const emulatorLog: string[] = [];
  const emulator = await startOvhEmulator({
    stateDir: path.join(dir, 'emulator'),
    credentials: [credential],
    serviceAccounts: [serviceAccount],
    timing: options.timing ?? FAST_TIMING,
    seed: options.seed,
    recordResponses: options.recordResponses,
    logger: createJsonLogger('ovh-emulator', (line) => emulatorLog.push(line), 'DEBUG'),
  });
  const restoreTrust = trustCaInProcess(emulator.caPem);
  return {
    emulator,
    dir,
    credential,
    serviceAccount,
    emulatorLog,
    stop: async () => {
      restoreTrust();
      await emulator.stop().catch(() => undefined); // already stopped by the test
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Doc = Record<string, unknown> & { pair: string; traffic: Record<string, unknown> };

/**
 * The shipped local OVH runbook (`local-ovh-iplb.yaml`, `local-ovh-dns.yaml` or `local-ovh-cloud-lb.yaml`) pointed at the test emulator and
 * its credential files, with `traffic` fields overridden; saved as `<dir>/<name>.yaml` (relative `file:` references
 * resolve against `dir`).
 */
export function ovhRunbook(
  test: TestEmulator,
  base: 'local-ovh-iplb.yaml' | 'local-ovh-dns.yaml' | 'local-ovh-cloud-lb.yaml',
  traffic: Record<string, unknown> = {},
  name = 'runbook',
): LoadedRunbook {
  const doc = parse(readFileSync(path.join(RUNBOOKS, base), 'utf8')) as Doc;
  doc.traffic = {
    ...doc.traffic,
    ovh: {
      host: test.emulator.host,
      port: test.emulator.port,
      applicationKey: 'file:credentials/application-key',
      applicationSecret: 'file:credentials/application-secret',
      consumerKey: 'file:credentials/consumer-key',
    },
    ...traffic,
  };
  return parseRunbook(stringify(doc), path.join(test.dir, `${name}.yaml`));
}

export function activityEnv(capture: LogCapture): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { logger: capture.logger() });
}

export { failureOf } from './failures';

/** Everything a failure carries that could end up in a log, the Temporal UI or a report. */
export function failureText(failure: ApplicationFailure): string {
  return `${failure.type} ${failure.message} ${JSON.stringify(failure.details ?? [])} ${failure.stack ?? ''}`;
}

/** The secret values of a credential (the application key is not secret, but is not expected in text either). */
export function secretsOf(credential: OvhCredential): string[] {
  return [credential.applicationSecret, credential.consumerKey];
}

export { sleep } from '../../dev/stack/daemon';

/** A second, independent API user (the emulator's own credential), for setting up states behind a provider's back. */
export function operatorClient(t: TestEmulator) {
  return ovh({
    appKey: t.credential.applicationKey,
    appSecret: t.credential.applicationSecret,
    consumerKey: t.credential.consumerKey,
    host: t.emulator.host,
    port: t.emulator.port,
  });
}
