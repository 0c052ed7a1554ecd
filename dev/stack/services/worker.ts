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
import { REPO_ROOT, stackDir, stackPort, type PortName } from '../settings';
import type { StackService } from '../service';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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
  writeIfChanged(bundle, `${extra.trimEnd()}\n${readFileSync(ca, 'utf8')}`);
  return { DR_RUNBOOKS: runbooks, NODE_EXTRA_CA_CERTS: bundle };
}

/**
 * Writes `text` unless the file holds it already, through a rename: a worker started a moment ago (the stack starts
 * two side by side) may be reading the file, and must never see it half-written.
 */
function writeIfChanged(file: string, text: string): void {
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    /* not written yet */
  }
  mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}

/**
 * The stack's workers: two on the one task queue, as production runs them (one per site, `worker` for gra and
 * `worker-rbx`), so that either can be killed inside a failover and the other takes its activities over. Each has
 * its own run folder (pid, log, the settings it started with) and metrics port.
 */
export const STACK_WORKERS = [
  { name: 'worker', metricsPort: 'WORKER_METRICS' },
  { name: 'worker-rbx', metricsPort: 'WORKER_RBX_METRICS' },
] as const satisfies readonly { name: string; metricsPort: PortName }[];

export type StackWorker = (typeof STACK_WORKERS)[number];

const runDirOf = (worker: StackWorker) => path.join(stackDir(), worker.name);

/** The settings a running worker was started with (absent for one started by an older stack). */
const startedWithFile = (worker: StackWorker) => path.join(runDirOf(worker), 'started-with.json');

function staleWorker(worker: StackWorker): string | undefined {
  const wanted = orchestratorWorkerEnv();
  let had: Record<string, unknown> = {};
  try {
    had = JSON.parse(readFileSync(startedWithFile(worker), 'utf8')) as Record<string, unknown>;
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

/** Every worker of the stack (STACK_WORKERS), each a service of its own. */
export function orchestratorWorkers(log: (line: string) => void): StackService[] {
  return STACK_WORKERS.map((worker) => orchestratorWorker(log, worker));
}

/**
 * One of the orchestrator's workers against the local stack's Temporal server and runbooks: from the build (and its
 * workflow bundle) when `npm run build` made it after the last change to a source, else from the sources with tsx,
 * bundling its workflows at start. Its metrics listen on its own stack port (DR_STACK_PORT_<its port name>).
 */
export function orchestratorWorker(log: (line: string) => void, worker: StackWorker): StackService {
  const { name } = worker;
  const spec = { name, runDir: runDirOf(worker) };
  return {
    name,
    async up() {
      if (runningPid(spec) !== undefined) {
        const stale = staleWorker(worker);
        if (stale) log(`${name}: running, but ${stale}`);
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
          // Its own port: an inherited DR_WORKER_METRICS_PORT would have both workers bind the same one.
          DR_WORKER_METRICS_PORT: String(stackPort(worker.metricsPort)),
          // The run links of its notifications point at the stack's UI.
          TEMPORAL_UI_URL: process.env.TEMPORAL_UI_URL || `http://localhost:${stackPort('TEMPORAL_UI')}`,
          ...extraEnv,
        },
      });
      writeFileSync(startedWithFile(worker), JSON.stringify(extraEnv) + '\n');
      await waitForDaemon(
        spec,
        name,
        async () =>
          readFileSync(logFile(spec)).subarray(offset).toString('utf8').includes('"worker running"'),
        120_000,
      );
      log(`${name}: running ${build ? 'the build' : 'the sources'} (log ${logFile(spec)})`);
    },
    async status() {
      const pid = runningPid(spec);
      const stale = pid !== undefined ? staleWorker(worker) : undefined;
      return {
        name,
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`metrics http://127.0.0.1:${stackPort(worker.metricsPort)}/metrics`],
        detail: `log ${logFile(spec)}${stale ? `; ${stale}` : ''}`,
      };
    },
    async down() {
      await stopDaemon(spec, 30_000);
    },
  };
}
