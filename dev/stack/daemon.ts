import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './settings';

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Folder holding `<name>.pid` and `<name>.log`. */
  runDir: string;
}

const pidFile = (spec: Pick<DaemonSpec, 'name' | 'runDir'>) => path.join(spec.runDir, `${spec.name}.pid`);
export const logFile = (spec: Pick<DaemonSpec, 'name' | 'runDir'>) =>
  path.join(spec.runDir, `${spec.name}.log`);

/**
 * Whether a process runs. An exited child not yet reaped by its parent (a zombie) counts as exited, but only
 * once all its threads are gone: a multi-threaded daemon (HAProxy) shows its main thread as a zombie while its
 * other threads still run and hold its sockets.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    // Gone between kill(0) and the read; without /proc, trust kill(0).
    return (err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync('/proc/self');
  }
  const zombie = /^State:\s+Z/m.test(status);
  const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? '1');
  return !zombie || threads > 1;
}

/** The pid of the daemon if its pid file names a live process (a stale pid file is removed). */
export function runningPid(spec: Pick<DaemonSpec, 'name' | 'runDir'>): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(spec), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return pid;
  rmSync(pidFile(spec), { force: true });
  return undefined;
}

export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(spec.runDir, { recursive: true });
  const out = openSync(logFile(spec), 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  child.unref();
  writeFileSync(pidFile(spec), `${child.pid}\n`);
  return child.pid;
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function stopDaemon(
  spec: Pick<DaemonSpec, 'name' | 'runDir'>,
  graceMs = 15_000,
): Promise<boolean> {
  const pid = runningPid(spec);
  if (pid === undefined) return false;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGTERM');
  // The process itself, not its pid file: mariadbd deletes its pid file before it has finished exiting.
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processAlive(pid)) await sleep(100);
  if (processAlive(pid)) {
    signalGroup('SIGKILL');
    while (processAlive(pid)) await sleep(100);
  }
  rmSync(pidFile(spec), { force: true });
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Ports handed out by `freePort`: below the kernel's ephemeral range (32768-60999 by default), so that no outgoing
 * connection takes one between the choice and the bind, and above the stack's default ports.
 */
const FREE_PORT_RANGE = { low: 20_000, high: 32_000 };
/** One file per port handed out, holding the pid of the process that took it (tests run in several processes). */
const PORT_RESERVATIONS = path.join(os.tmpdir(), 'dr-port-reservations');

/**
 * A TCP port nothing listens on now, on loopback, and that no other live process got from `freePort`: the port
 * stays reserved for this process until it exits, since its daemons may still be starting.
 */
export async function freePort(): Promise<number> {
  mkdirSync(PORT_RESERVATIONS, { recursive: true });
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = FREE_PORT_RANGE.low + randomInt(FREE_PORT_RANGE.high - FREE_PORT_RANGE.low);
    if (reservePort(port) && (await canListen(port))) return port;
  }
  throw new Error(
    `no free port found in ${FREE_PORT_RANGE.low}-${FREE_PORT_RANGE.high} after 500 tries (reservations in ${PORT_RESERVATIONS})`,
  );
}

/** Takes the port's reservation file, or the file of a process that is gone; false when a live process holds it. */
function reservePort(port: number): boolean {
  const file = path.join(PORT_RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch {
      let owner: number;
      try {
        owner = Number(readFileSync(file, 'utf8').trim() || '0');
      } catch {
        continue; // released meanwhile
      }
      // Empty: being written by its owner. Our own: handed out already, never twice to the same process either.
      if (!(owner > 0) || owner === process.pid || processAlive(owner)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logHint?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(
    `${what} did not come up within ${Math.round(timeoutMs / 1000)}s${logHint ? ` (see ${logHint})` : ''}`,
  );
}

/** Refuses to start a service whose port is already held by a process this stack did not start. */
export async function assertPortsFree(
  service: string,
  ports: { name: string; port: number }[],
): Promise<void> {
  for (const { name, port } of ports) {
    if (await portOpen(port)) {
      throw new Error(
        `${service}: port ${port} (${name}) is already in use by a process this stack did not start; ` +
          `stop it or choose another port with DR_STACK_PORT_${name}`,
      );
    }
  }
}

/**
 * The command that runs a TypeScript entry point of this repository, e.g. `worker/main.ts`: node itself with
 * tsx's loader, so the pid recorded is the process that runs the code (tsx's own CLI would run it in a child,
 * leaving that child untracked when its parent is killed).
 */
export function tsEntry(entry: string): Pick<DaemonSpec, 'command' | 'args' | 'cwd'> {
  return {
    command: process.execPath,
    args: [
      '--import',
      pathToFileURL(path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      path.join(REPO_ROOT, entry),
    ],
    cwd: REPO_ROOT,
  };
}

/** The folders whose TypeScript `npm run build` compiles (the list bin/drctl checks too). */
const BUILT_FOLDERS = [
  'activities',
  'client',
  'common',
  'config',
  'dev/stack',
  'dev/tools',
  'workflows',
  'worker',
];

/**
 * The checkout's dist/ folder when `npm run build` made it after the last change to any compiled source (its
 * dist/.built stamp is newer than every .ts file of BUILT_FOLDERS), as bin/drctl decides; undefined otherwise,
 * including while a build runs (it deletes the stamp first).
 */
export function currentBuild(): string | undefined {
  const dist = path.join(REPO_ROOT, 'dist');
  let built: number;
  try {
    built = statSync(path.join(dist, '.built')).mtimeMs;
  } catch {
    return undefined;
  }
  const changedSince = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) return changedSince(file);
      return entry.name.endsWith('.ts') && statSync(file).mtimeMs > built;
    });
  const stale = BUILT_FOLDERS.map((f) => path.join(REPO_ROOT, f)).some(
    (f) => existsSync(f) && changedSince(f),
  );
  return stale ? undefined : dist;
}

/**
 * The command that runs an entry point `npm run build` compiles (e.g. `worker/main.ts`): its compiled JavaScript
 * when the build is current (no TypeScript to load at each start), else the sources with tsx.
 */
export function builtEntry(
  entry: string,
  dist = currentBuild(),
): Pick<DaemonSpec, 'command' | 'args' | 'cwd'> {
  const compiled = dist && path.join(dist, entry.replace(/\.ts$/, '.js'));
  if (compiled && existsSync(compiled))
    return { command: process.execPath, args: [compiled], cwd: REPO_ROOT };
  return tsEntry(entry);
}

/** Waits for every promise to settle, then throws the first failure: nothing is left running behind an error. */
export async function allSettledOrThrow(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Waits until `ready` holds; fails at once, naming its log, if the daemon exits first. */
export async function waitForDaemon(
  spec: Pick<DaemonSpec, 'name' | 'runDir'>,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    what,
    async () => {
      if (runningPid(spec) === undefined) throw new Error(`${what} exited at start (see ${logFile(spec)})`);
      return ready();
    },
    timeoutMs,
    logFile(spec),
  );
}
