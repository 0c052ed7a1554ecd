import path from 'node:path';
import { DEFAULT_WORKFLOW_BUNDLE } from '../../../common/package-root';
import {
  builtEntry,
  currentBuild,
  logFile,
  runningPid,
  startDaemon,
  stopDaemon,
  waitFor,
  waitForDaemon,
} from '../daemon';
import { REPO_ROOT, stackDir, stackPort } from '../settings';
import type { StackService } from '../service';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ovhEmulatorPaths } from './ovh-emulator';

/** The runbooks the stack's worker serves unless DR_RUNBOOKS says otherwise: HAProxy, OVH IPLB and OVH DNS pairs. */
export const STACK_RUNBOOKS = ['local.yaml', 'local-ovh-iplb.yaml', 'local-ovh-dns.yaml'].map((f) =>
  path.join(REPO_ROOT, 'config', 'runbooks', f),
);

/**
 * What the stack sets for the worker beyond its inherited environment: the runbooks, and trust in the OVH
 * emulator's CA (NODE_EXTRA_CA_CERTS, read by Node at start only; one file, so an inherited one is bundled with
 * the emulator's CA into `<stack>/worker/extra-ca.pem`). The CA exists once the emulator has run.
 */
export function orchestratorWorkerEnv(): { DR_RUNBOOKS: string; NODE_EXTRA_CA_CERTS?: string } {
  const runbooks = process.env.DR_RUNBOOKS || STACK_RUNBOOKS.join(',');
  const ca = ovhEmulatorPaths().caCert;
  const inherited = process.env.NODE_EXTRA_CA_CERTS;
  if (!existsSync(ca))
    return inherited ? { DR_RUNBOOKS: runbooks, NODE_EXTRA_CA_CERTS: inherited } : { DR_RUNBOOKS: runbooks };
  if (!inherited || path.resolve(inherited) === ca) return { DR_RUNBOOKS: runbooks, NODE_EXTRA_CA_CERTS: ca };
  const bundle = path.join(stackDir(), 'worker', 'extra-ca.pem');
  let extra = '';
  try {
    extra = readFileSync(inherited, 'utf8');
  } catch {
    /* an unreadable inherited file: Node would only warn about it; keep the emulator's CA */
  }
  mkdirSync(path.dirname(bundle), { recursive: true });
  writeFileSync(bundle, `${extra.trimEnd()}\n${readFileSync(ca, 'utf8')}`);
  return { DR_RUNBOOKS: runbooks, NODE_EXTRA_CA_CERTS: bundle };
}

/** The settings a running worker was started with (absent for one started by an older stack). */
const startedWithFile = () => path.join(stackDir(), 'worker', 'started-with.json');

function staleWorker(): string | undefined {
  const wanted = orchestratorWorkerEnv();
  let had: Record<string, unknown> = {};
  try {
    had = JSON.parse(readFileSync(startedWithFile(), 'utf8')) as Record<string, unknown>;
  } catch {
    /* started by an older stack */
  }
  if (had.DR_RUNBOOKS === wanted.DR_RUNBOOKS && had.NODE_EXTRA_CA_CERTS === wanted.NODE_EXTRA_CA_CERTS)
    return undefined;
  return 'started without the current runbooks or OVH emulator CA trust; restart it (stack down, then up) to use the OVH runbooks';
}

/**
 * `npm test` builds while the stack comes up, and names in DR_STACK_AWAIT_BUILD the file the build writes its exit
 * status to when it ends: the worker waits for that file, so that it starts from this build.
 */
async function awaitBuild(): Promise<void> {
  const statusFile = process.env.DR_STACK_AWAIT_BUILD;
  if (!statusFile) return;
  await waitFor(
    `the end of the build npm test runs beside the stack (DR_STACK_AWAIT_BUILD=${statusFile})`,
    async () => existsSync(statusFile),
    300_000,
  );
}

/**
 * The orchestrator's worker against the local stack's Temporal server and runbooks: from the build (and its
 * workflow bundle) when `npm run build` made it after the last change to a source, else from the sources with tsx,
 * bundling its workflows at start.
 */
export function orchestratorWorker(log: (line: string) => void): StackService {
  const spec = { name: 'worker', runDir: path.join(stackDir(), 'worker') };
  return {
    name: 'worker',
    async up() {
      if (runningPid(spec) !== undefined) {
        const stale = staleWorker();
        if (stale) log(`worker: running, but ${stale}`);
        return;
      }
      await awaitBuild();
      const offset = existsSync(logFile(spec)) ? statSync(logFile(spec)).size : 0;
      const extraEnv = orchestratorWorkerEnv();
      const build = currentBuild();
      startDaemon({
        ...spec,
        ...builtEntry('worker/main.ts', build),
        env: {
          ...(build ? { DR_WORKFLOW_BUNDLE: DEFAULT_WORKFLOW_BUNDLE } : {}),
          ...process.env,
          TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${stackPort('TEMPORAL')}`,
          DR_WORKER_METRICS_PORT: process.env.DR_WORKER_METRICS_PORT ?? String(stackPort('WORKER_METRICS')),
          // The run links of its notifications point at the stack's UI.
          TEMPORAL_UI_URL: process.env.TEMPORAL_UI_URL || `http://localhost:${stackPort('TEMPORAL_UI')}`,
          ...extraEnv,
        },
      });
      writeFileSync(startedWithFile(), JSON.stringify(extraEnv) + '\n');
      await waitForDaemon(
        spec,
        'worker',
        async () =>
          readFileSync(logFile(spec)).subarray(offset).toString('utf8').includes('"worker running"'),
        120_000,
      );
      log(`worker: running ${build ? 'the build' : 'the sources'} (log ${logFile(spec)})`);
    },
    async status() {
      const pid = runningPid(spec);
      return {
        name: 'worker',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`metrics http://127.0.0.1:${stackPort('WORKER_METRICS')}/metrics`],
        detail: `log ${logFile(spec)}${pid !== undefined && staleWorker() ? `; ${staleWorker()}` : ''}`,
      };
    },
    async down() {
      await stopDaemon(spec, 30_000);
    },
  };
}
