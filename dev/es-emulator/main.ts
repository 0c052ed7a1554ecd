/**
 * `npm run emulator:es`: the two emulated clusters of the local stack, GRA and RBX.
 * Ports come from DR_STACK_PORT_ES_GRA (default 19200) and DR_STACK_PORT_ES_RBX (default 19201);
 * DR_STACK_PORT_ES_ADMIN adds an admin-only listener; DR_STACK_ES_REPLICATION_DELAY_MS delays replication;
 * DR_STACK_ES_VERSION_GRA and DR_STACK_ES_VERSION_RBX (8 or 9, default 9) set each cluster's Elasticsearch major.
 * Prints one JSON line per cluster, then runs until SIGTERM or SIGINT.
 */
import { startEsEmulator } from './emulator';

function envNumber(name: string, fallback: number | undefined, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`${name}="${raw}" must be an integer between 0 and ${max}`);
  }
  return value;
}

function envVersion(name: string): 8 | 9 | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw !== '8' && raw !== '9') throw new Error(`${name}="${raw}" must be 8 or 9`);
  return raw === '8' ? 8 : 9;
}

async function main(): Promise<void> {
  const emulator = await startEsEmulator({
    clusters: [
      {
        name: 'gra',
        port: envNumber('DR_STACK_PORT_ES_GRA', 19200, 65535),
        version: envVersion('DR_STACK_ES_VERSION_GRA'),
      },
      {
        name: 'rbx',
        port: envNumber('DR_STACK_PORT_ES_RBX', 19201, 65535),
        version: envVersion('DR_STACK_ES_VERSION_RBX'),
      },
    ],
    adminPort: envNumber('DR_STACK_PORT_ES_ADMIN', undefined, 65535),
    replicationDelayMs: envNumber('DR_STACK_ES_REPLICATION_DELAY_MS', 0, Number.MAX_SAFE_INTEGER),
  });
  for (const cluster of emulator.clusters) {
    console.log(JSON.stringify({ cluster: cluster.name, url: cluster.url, address: cluster.address }));
  }
  if (emulator.adminUrl) console.log(JSON.stringify({ admin: emulator.adminUrl }));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.error(`es-emulator: ${signal}, stopping`);
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('es-emulator: stop failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The listeners keep the event loop alive; this keeps it alive too while every cluster is down.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  console.error('es-emulator:', error instanceof Error ? error.message : error);
  process.exit(1);
});
