import net from 'node:net';

/**
 * A client of HAProxy's runtime API on its stats socket (`stats socket <path> level admin`).
 * Non-interactive mode: one command per connection; HAProxy answers and closes the connection.
 * Commands used (HAProxy 2.6 management guide, doc/management.txt §9.3):
 *   show servers state [<backend>]                       → version line, `# header`, one line per server
 *   show stat -1 4 -1                                    → CSV of every server (`scur`: open sessions)
 *   set server <backend>/<server> state ready|drain|maint → empty answer on success, a message otherwise
 *   shutdown sessions server <backend>/<server>          → empty answer on success, a message otherwise
 * Refusals seen on 2.6.12: "No such backend.", "No such server.", "Can't find backend.", "No such proxy.",
 * "Permission denied" (a socket below `level admin`).
 * Free of Temporal imports: the local stack manager uses it too.
 */
export interface HaproxyRuntime {
  /** Sends one command and resolves with HAProxy's whole answer. */
  command(command: string): Promise<string>;
}

export type HaproxyRuntimeErrorKind = 'unreachable' | 'timeout' | 'rejected';

export class HaproxyRuntimeError extends Error {
  constructor(
    message: string,
    readonly kind: HaproxyRuntimeErrorKind,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'HaproxyRuntimeError';
  }
}

export class HaproxySocketClient implements HaproxyRuntime {
  constructor(
    readonly socketPath: string,
    readonly timeoutMs = 5000,
  ) {}

  command(command: string): Promise<string> {
    if (/[\r\n;]/.test(command)) {
      // One command per call: a line break or ';' would let a name smuggle in a second command.
      return Promise.reject(
        new HaproxyRuntimeError(`refusing a runtime API command with ';' or a line break`, 'rejected'),
      );
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const socket = net.connect({ path: this.socketPath });
      const finish = (err?: HaproxyRuntimeError) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        if (err) reject(err);
        else resolve(Buffer.concat(chunks).toString('utf8'));
      };
      socket.setTimeout(this.timeoutMs, () =>
        finish(
          new HaproxyRuntimeError(
            `HAProxy runtime API at ${this.socketPath} did not answer "${command}" within ${this.timeoutMs} ms`,
            'timeout',
          ),
        ),
      );
      socket.once('connect', () => socket.end(`${command}\n`));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => finish());
      socket.once('close', () => finish());
      socket.once('error', (err: NodeJS.ErrnoException) =>
        finish(
          new HaproxyRuntimeError(
            `cannot reach the HAProxy runtime API at ${this.socketPath}: ${err.code ?? err.message}`,
            'unreachable',
            err.code,
          ),
        ),
      );
    });
  }
}

/** Administrative state as the runtime API sets it. */
export type HaproxyAdminState = 'ready' | 'drain' | 'maint';
/** Operational state (srv_op_state): what the health checks say. */
export type HaproxyOpState = 'down' | 'starting' | 'up' | 'stopping';

export interface HaproxyServerState {
  backend: string;
  server: string;
  address: string;
  port?: number;
  admin: HaproxyAdminState;
  /** srv_admin_state, the raw bit mask. */
  adminMask: number;
  op: HaproxyOpState;
}

// srv_admin_state bits (management guide, "show servers state"):
const FMAINT = 0x01; // forced into maintenance (set server … state maint)
const IMAINT = 0x02; // inherited from a tracked server
const FDRAIN = 0x08; // forced into drain (set server … state drain)
const IDRAIN = 0x10; // inherited drain
const RMAINT = 0x20; // maintenance after a DNS resolution failure
// 0x04 CMAINT ("disabled" in the configuration) is not counted: HAProxy 2.6 keeps that bit after
// `set server … state ready` although the server takes traffic again (checked on 2.6.12).

const OP_STATES: HaproxyOpState[] = ['down', 'starting', 'up', 'stopping'];

export function adminStateOf(mask: number): HaproxyAdminState {
  if (mask & (FMAINT | IMAINT | RMAINT)) return 'maint';
  if (mask & (FDRAIN | IDRAIN)) return 'drain';
  return 'ready';
}

/** Parses the answer to `show servers state`, using its `#` header line to find the columns. */
export function parseServersState(text: string): HaproxyServerState[] {
  const lines = text.split('\n').map((l) => l.trim());
  const header = lines.find((l) => l.startsWith('# be_id') || l.startsWith('# be_name'));
  if (!header) {
    throw new HaproxyRuntimeError(
      `unexpected answer to "show servers state": ${text.trim().slice(0, 200) || '(empty)'}`,
      'rejected',
    );
  }
  const columns = header.slice(1).trim().split(/\s+/);
  const col = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new HaproxyRuntimeError(`"show servers state" has no column ${name}`, 'rejected');
    return i;
  };
  const idx = {
    backend: col('be_name'),
    server: col('srv_name'),
    address: col('srv_addr'),
    op: col('srv_op_state'),
    admin: col('srv_admin_state'),
    port: columns.indexOf('srv_port'),
  };
  return lines
    .filter((l) => l !== '' && !l.startsWith('#') && /\s/.test(l))
    .map((line) => {
      const f = line.split(/\s+/);
      const adminMask = Number(f[idx.admin]);
      const port = idx.port >= 0 ? Number(f[idx.port]) : NaN;
      return {
        backend: f[idx.backend] ?? '',
        server: f[idx.server] ?? '',
        address: f[idx.address] ?? '',
        port: Number.isInteger(port) ? port : undefined,
        admin: adminStateOf(adminMask),
        adminMask,
        op: OP_STATES[Number(f[idx.op])] ?? 'down',
      };
    });
}

/** `show servers state <backend>`, parsed; an unknown backend is a `rejected` error. */
export async function showServersState(
  runtime: HaproxyRuntime,
  backend: string,
): Promise<HaproxyServerState[]> {
  const answer = await runtime.command(`show servers state ${backend}`);
  if (/can't find backend/i.test(answer)) {
    throw new HaproxyRuntimeError(`HAProxy has no backend "${backend}"`, 'rejected');
  }
  return parseServersState(answer).filter((s) => s.backend === backend);
}

/** Sends a command that HAProxy answers with nothing on success, and anything else on refusal. */
async function silentCommand(runtime: HaproxyRuntime, command: string): Promise<void> {
  const answer = (await runtime.command(command)).trim();
  if (answer !== '') throw new HaproxyRuntimeError(`HAProxy refused "${command}": ${answer}`, 'rejected');
}

/** `set server <backend>/<server> state <state>`. */
export function setServerState(
  runtime: HaproxyRuntime,
  backend: string,
  server: string,
  state: HaproxyAdminState,
): Promise<void> {
  return silentCommand(runtime, `set server ${backend}/${server} state ${state}`);
}

/** `shutdown sessions server <backend>/<server>`: ends every connection HAProxy holds to that server. */
export function shutdownServerSessions(
  runtime: HaproxyRuntime,
  backend: string,
  server: string,
): Promise<void> {
  return silentCommand(runtime, `shutdown sessions server ${backend}/${server}`);
}

/** The number of sessions (connections) each server of `backend` has open now: `scur` of `show stat`. */
export async function serverSessions(runtime: HaproxyRuntime, backend: string): Promise<Map<string, number>> {
  // Every proxy's servers, filtered here: a proxy name would select the frontend when one has the backend's name.
  const answer = await runtime.command('show stat -1 4 -1');
  const lines = answer.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.startsWith('# ') ? lines[0].slice(2).split(',') : undefined;
  const [name, server, current] = ['pxname', 'svname', 'scur'].map((c) => header?.indexOf(c) ?? -1);
  if (!header || name! < 0 || server! < 0 || current! < 0) {
    throw new HaproxyRuntimeError(
      `unexpected answer to "show stat -1 4 -1": ${answer.trim().slice(0, 200) || '(empty)'}`,
      'rejected',
    );
  }
  const sessions = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const fields = line.split(',');
    if (fields[name!] === backend) sessions.set(fields[server!] ?? '', Number(fields[current!]) || 0);
  }
  return sessions;
}

/**
 * Every backend's `show servers state`, as HAProxy's `server-state-file` wants it (HAProxy 2.6 configuration manual,
 * "server-state-file": "Before reloading HAProxy, it is possible to save the servers' current state using the stats
 * command "show servers state". The output of this command must be written in the file pointed by <file>").
 */
export async function dumpServersState(runtime: HaproxyRuntime): Promise<string> {
  const answer = await runtime.command('show servers state');
  parseServersState(answer);
  return answer;
}
