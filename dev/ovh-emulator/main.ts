/**
 * `npm run emulator:ovh`: the OVH API emulator for the local stack.
 *
 * Environment:
 * - DR_STACK_PORT_OVH: loopback port (default 18443; 0 picks a free one, printed at start)
 * - DR_STACK_DIR: stack folder (default <repo>/.stack); state goes to <DR_STACK_DIR>/ovh-emulator
 * - DR_OVH_EMULATOR_TASK_TODO_MS, DR_OVH_EMULATOR_TASK_DOING_MS, DR_OVH_EMULATOR_DNS_DEPLOY_MS,
 *   DR_OVH_EMULATOR_CLOUD_LB_UPDATE_MS: emulated durations
 *
 * Where the seeded frontend and DNS record send traffic is written to <state>/traffic.json at stop and read at the
 * next start, so that a move survives a restart of the local stack (`drctl stack reset` deletes the file).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createJsonLogger } from '../../common/logger';
import { stackDir } from '../stack/settings';
import { ensureCredentialFiles, ensureServiceAccountFiles } from './credentials';
import { DEFAULT_SEED_IDS, defaultSeed, seedTrafficOf, type SeedTraffic } from './seed';
import { startOvhEmulator } from './server';
import type { EmulatorTiming } from './state';

const DEFAULT_PORT = 18443;

function envInteger(
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}="${raw}" must be a whole number between ${min} and ${max}`);
  }
  return value;
}

function timingFromEnv(): Partial<EmulatorTiming> {
  const timing: Partial<EmulatorTiming> = {};
  const entries: [keyof EmulatorTiming, string][] = [
    ['iplbTaskTodoMs', 'DR_OVH_EMULATOR_TASK_TODO_MS'],
    ['iplbTaskDoingMs', 'DR_OVH_EMULATOR_TASK_DOING_MS'],
    ['dnsDeployMs', 'DR_OVH_EMULATOR_DNS_DEPLOY_MS'],
    ['cloudLbUpdateMs', 'DR_OVH_EMULATOR_CLOUD_LB_UPDATE_MS'],
    ['cloudDbCreateMs', 'DR_OVH_EMULATOR_CLOUD_DB_CREATE_MS'],
  ];
  for (const [key, name] of entries) {
    const value = envInteger(name, undefined, 0, 3_600_000);
    if (value !== undefined) timing[key] = value;
  }
  return timing;
}

/** The traffic kept at the last stop, checked: a file naming another site is refused. */
function keptTraffic(file: string): SeedTraffic | undefined {
  if (!existsSync(file)) return undefined;
  let kept: Partial<Record<keyof SeedTraffic, unknown>>;
  try {
    kept = JSON.parse(readFileSync(file, 'utf8')) as typeof kept;
  } catch (err) {
    throw new Error(`${file} is not JSON (${(err as Error).message}): delete it to start from gra`, {
      cause: err,
    });
  }
  const sites = Object.keys(DEFAULT_SEED_IDS.iplb.farms);
  for (const key of ['iplb', 'dns'] as const)
    if (typeof kept[key] !== 'string' || !sites.includes(kept[key]))
      throw new Error(
        `${file}: "${key}" must be one of ${sites.join(', ')} (delete the file to start from gra)`,
      );
  return kept as SeedTraffic;
}

async function main(): Promise<void> {
  const logger = createJsonLogger('ovh-emulator');
  const stateDir = path.join(stackDir(), 'ovh-emulator');
  const port = envInteger('DR_STACK_PORT_OVH', DEFAULT_PORT, 0, 65535);
  const { files, credential } = ensureCredentialFiles(path.join(stateDir, 'credentials'));
  const serviceAccount = ensureServiceAccountFiles(path.join(stateDir, 'credentials'));
  const trafficFile = path.join(stateDir, 'traffic.json');
  const traffic = keptTraffic(trafficFile);
  const emulator = await startOvhEmulator({
    ...(traffic ? { seed: defaultSeed(traffic) } : {}),
    port,
    stateDir,
    credentials: [credential],
    serviceAccounts: [serviceAccount.account],
    timing: timingFromEnv(),
    logger,
  });
  // Read once: a stop that cannot write it (SIGKILL) leaves no older traffic to come back at the next start.
  rmSync(trafficFile, { force: true });

  const info = {
    url: emulator.url,
    apiBaseUrl: `${emulator.url}/1.0`,
    host: emulator.host,
    port: emulator.port,
    caCertPath: emulator.caCertPath,
    /** As runbook secret references (`ovh.applicationKey` etc.). */
    credentials: {
      applicationKey: `file:${files.applicationKey}`,
      applicationSecret: `file:${files.applicationSecret}`,
      consumerKey: `file:${files.consumerKey}`,
    },
    /** An OAuth2 service account, as runbook secret references (`ovh.clientId`, `ovh.clientSecret`, `ovh.tokenUrl`). */
    serviceAccount: {
      clientId: `file:${serviceAccount.files.clientId}`,
      clientSecret: `file:${serviceAccount.files.clientSecret}`,
      tokenUrl: emulator.tokenUrl,
    },
    seed: DEFAULT_SEED_IDS,
    admin: `${emulator.url}/_emulator/`,
  };
  const infoPath = path.join(stateDir, 'emulator.json');
  writeFileSync(infoPath, JSON.stringify(info, null, 2) + '\n');
  logger.info('OVH API emulator ready', {
    ...info,
    traffic: traffic ? { ...traffic, keptFrom: trafficFile } : { iplb: 'gra', dns: 'gra' },
    infoPath,
    clientTrust: `NODE_EXTRA_CA_CERTS=${emulator.caCertPath}`,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('OVH API emulator stopping', { signal });
    rmSync(infoPath, { force: true });
    const kept = seedTrafficOf(emulator.snapshot());
    if (kept) writeFileSync(trafficFile, JSON.stringify(kept) + '\n');
    else rmSync(trafficFile, { force: true });
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('OVH API emulator did not stop cleanly', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`ovh-emulator: ${(err as Error).message}\n`);
  process.exit(1);
});
