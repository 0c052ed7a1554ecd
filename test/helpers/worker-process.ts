import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { builtEntry, freePort, processAlive, sleep } from '../../dev/stack/daemon';
import { REPO_ROOT, stackPort } from '../../dev/stack/settings';

/** The shared stack's Temporal server. */
export const temporalAddress = () => `127.0.0.1:${stackPort('TEMPORAL')}`;

export interface WorkerProcess {
  /** The worker's own process (node runs the worker itself: no tsx parent in between). */
  pid: number;
  metricsPort: number;
  logFile: string;
  /** Everything the worker wrote so far (JSON lines on stdout, anything on stderr). */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface WorkerProcessOptions {
  runbookPath: string;
  taskQueue: string;
  /** Holds `worker-<pid>.log` and `worker-<pid>.pid`; defaults to the runbook's folder. */
  runDir?: string;
  /** More environment variables, e.g. NODE_EXTRA_CA_CERTS for a runbook on the OVH emulator. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for its "worker running" line (default 60 s). */
  readyTimeoutMs?: number;
  /**
   * Another release's source tree (test/helpers/releases.ts) to run the worker of, from its sources: it bundles its
   * own workflows at start, as that release's workers did. Default: this checkout.
   */
  releaseRoot?: string;
  /**
   * The workflow bundle to load; default: the one the test run's global setup bundled (outside vitest, e.g. in the
   * bench, give one: local-stack's `inject` only works inside a test run).
   */
  workflowBundle?: string;
}

/** The command that runs the worker: this checkout's (its build when current), or another release's sources. */
async function workerEntry(options: WorkerProcessOptions) {
  if (!options.releaseRoot) {
    const bundle = options.workflowBundle ?? (await import('./local-stack.js')).testWorkflowBundle();
    return { ...builtEntry('worker/main.ts'), bundle };
  }
  const root = options.releaseRoot;
  return {
    command: process.execPath,
    args: [path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path.join(root, 'worker', 'main.ts')],
    cwd: root,
    bundle: undefined,
  };
}

/**
 * Runs the orchestrator's worker (worker/main.ts) as a child process, as operators run it, against the shared
 * stack's Temporal server, serving only `runbookPath` on `taskQueue`, with its metrics on a free port. Resolves
 * once it logs "worker running"; fails, with its output, if it exits first. Its pid file lets a leftover
 * cleanup find it should the test process die first.
 */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const runDir = options.runDir ?? path.dirname(options.runbookPath);
  const metricsPort = await freePort();
  // The compiled worker when `npm test` built it (as operators run it, and faster to start), else its sources.
  const { command, args, cwd, bundle } = await workerEntry(options);
  const { DR_WORKFLOW_BUNDLE: _inherited, ...inherited } = process.env;
  const child = spawn(command, args, {
    cwd: cwd ?? REPO_ROOT,
    env: {
      ...inherited,
      TEMPORAL_ADDRESS: temporalAddress(),
      // The run's workflow bundle, as production workers load theirs (worker-process.test covers bundling at start).
      ...(bundle ? { DR_WORKFLOW_BUNDLE: bundle } : {}),
      ...options.env,
      DR_RUNBOOKS: options.runbookPath,
      DR_TASK_QUEUE: options.taskQueue,
      DR_WORKER_METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`worker: could not start ${process.execPath}`);
  const logFile = path.join(runDir, `worker-${pid}.log`);
  const pidFile = path.join(runDir, `worker-${pid}.pid`);
  writeFileSync(pidFile, `${pid}\n`);
  const log = openSync(logFile, 'a');
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    writeFileSync(log, chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const stopped = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      closeSync(log);
      rmSync(pidFile, { force: true });
      resolve({ code, signal });
    }),
  );
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (!output.includes('"worker running"')) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      kill('SIGKILL');
      await stopped;
      throw new Error(
        `worker (pid ${pid}) ${Date.now() > deadline ? 'did not start in time' : 'exited at start'}; ` +
          `output:\n${output || readFileSync(logFile, 'utf8')}`,
      );
    }
    await sleep(100);
  }
  return {
    pid,
    metricsPort,
    logFile,
    output: () => output,
    kill,
    stopped,
    async stop(graceMs = 30_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      try {
        return await stopped;
      } finally {
        clearTimeout(timer);
        while (processAlive(pid)) await sleep(20);
      }
    },
  };
}
