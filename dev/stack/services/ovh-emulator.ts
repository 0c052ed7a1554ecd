import { existsSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { credentialFiles, type CredentialFiles } from '../../ovh-emulator/credentials';
import type { EmulatorSnapshot } from '../../ovh-emulator/server';
import {
  assertPortsFree,
  logFile,
  runningPid,
  startDaemon,
  stopDaemon,
  tsEntry,
  waitForDaemon,
} from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';

/** Where the OVH API emulator keeps its CA, certificate, credential files and `emulator.json` in the stack. */
export function ovhEmulatorPaths(): {
  dir: string;
  caCert: string;
  info: string;
  credentials: CredentialFiles;
} {
  const dir = path.join(stackDir(), 'ovh-emulator');
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    info: path.join(dir, 'emulator.json'),
    credentials: credentialFiles(path.join(dir, 'credentials')),
  };
}

interface Where {
  port: number;
  caCert: string;
  info: string;
}

/** One HTTPS GET to the emulator, trusting its CA only; resolves with the status and the parsed body. */
function emulatorGet(
  where: Where,
  urlPath: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: 'localhost',
        port: where.port,
        path: urlPath,
        method: 'GET',
        ca: readFileSync(where.caCert),
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: text === '' ? null : JSON.parse(text) });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The API answers `GET /1.0/auth/time` over TLS verified against the emulator's CA. */
async function answers(where: Where): Promise<boolean> {
  if (!existsSync(where.caCert) || !existsSync(where.info)) return false;
  try {
    const { status, body } = await emulatorGet(where, '/1.0/auth/time');
    return status === 200 && typeof body === 'number';
  } catch {
    return false;
  }
}

/** One line about the emulated objects, for `stack status`: what the API shows, and what is applied/deployed. */
async function describeState(where: Where): Promise<string> {
  try {
    const { body } = await emulatorGet(where, '/_emulator/state');
    const state = body as EmulatorSnapshot;
    const parts: string[] = [];
    for (const service of state.iplb) {
      for (const proto of ['http', 'tcp'] as const) {
        for (const frontend of service.pending.frontends[proto]) {
          const applied = service.applied.frontends[proto].find((f) => f.frontendId === frontend.frontendId);
          const pending = service.pendingChanges.reduce((n, c) => n + c.number, 0);
          parts.push(
            `IPLB ${service.serviceName} ${proto} frontend ${frontend.frontendId} → farm ${frontend.defaultFarmId}` +
              (applied?.defaultFarmId === frontend.defaultFarmId
                ? ''
                : ` (applied: farm ${applied?.defaultFarmId ?? 'none'})`) +
              `, ${pending} pending change${pending === 1 ? '' : 's'}`,
          );
        }
      }
    }
    for (const zone of state.dns) {
      for (const record of zone.records.filter((r) => ['A', 'AAAA', 'CNAME'].includes(r.fieldType))) {
        const name = record.subDomain ? `${record.subDomain}.${zone.zone}` : zone.zone;
        parts.push(
          `DNS ${name} ${record.fieldType} ${record.target} (${zone.isDeployed ? 'deployed' : 'not deployed'})`,
        );
      }
    }
    return `${parts.join('; ')}; CA ${where.caCert}`;
  } catch (err) {
    return `not answering: ${(err as Error).message}`;
  }
}

/**
 * The OVH API emulator (dev/ovh-emulator, `npm run emulator:ovh`) on https://localhost:<DR_STACK_PORT_OVH>, with its
 * CA, certificate and generated credentials under `<stack>/ovh-emulator` (kept across restarts; of the emulated
 * objects, only where the seeded frontend and DNS record send traffic is kept, in `traffic.json`: each start begins
 * from the seed with that traffic). The worker trusts its CA through NODE_EXTRA_CA_CERTS.
 * The folder and port are those of the environment when the service object is made.
 */
export function ovhEmulator(log: (line: string) => void): StackService {
  const paths = ovhEmulatorPaths();
  const where: Where = { port: stackPort('OVH'), caCert: paths.caCert, info: paths.info };
  const spec = () => ({ name: 'ovh-emulator', runDir: paths.dir });
  const apiUrl = () => `https://localhost:${where.port}/1.0`;
  const stack = stackDir();
  return {
    name: 'ovh-emulator',
    async up() {
      if (runningPid(spec()) === undefined) {
        await assertPortsFree('ovh-emulator', [{ name: 'OVH', port: where.port }]);
        startDaemon({
          ...spec(),
          ...tsEntry('dev/ovh-emulator/main.ts'),
          env: {
            ...process.env,
            DR_STACK_DIR: stack,
            DR_STACK_PORT_OVH: String(where.port),
          },
        });
      }
      await waitForDaemon(spec(), 'ovh-emulator', () => answers(where), 30_000);
      log(`ovh-emulator: ${apiUrl()} (CA ${paths.caCert})`);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'ovh-emulator',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [apiUrl(), `admin https://localhost:${where.port}/_emulator/state`],
        detail: pid === undefined ? `log ${logFile(spec())}` : await describeState(where),
      };
    },
    async forget() {
      rmSync(path.join(paths.dir, 'traffic.json'), { force: true });
    },
    async down() {
      await stopDaemon(spec());
    },
  };
}
