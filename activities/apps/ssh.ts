import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type ConnectConfig } from 'ssh2';
import { readOpenSshPublicKey } from '../../common/ssh-host-key';
import { utf8Tail } from '../../common/text';

/**
 * SSH command execution for the application hosts, with the server's host key pinned from the runbook.
 * Free of Temporal imports; the activities turn SshError into typed failures.
 */
export type SshFailureType =
  | 'HostKeyMismatch'
  | 'HostKeyInvalid'
  | 'SshAuthenticationFailed'
  | 'SshUnreachable'
  | 'SshTimeout'
  | 'SshError';

export class SshError extends Error {
  constructor(
    message: string,
    readonly type: SshFailureType,
  ) {
    super(message);
    this.name = 'SshError';
  }
}

export interface PinnedHostKey {
  /** Key type as written in the public key, e.g. "ssh-ed25519". */
  type: string;
  /** The raw public key blob (what the server sends during key exchange). */
  blob: Buffer;
  /** OpenSSH-style fingerprint, "SHA256:…". */
  fingerprint: string;
}

export const fingerprintOf = (blob: Buffer) =>
  `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

/** Parses an OpenSSH public key line ("ssh-ed25519 AAAA… comment"); `source` names it in errors. */
export function parseHostKey(text: string, source: string): PinnedHostKey {
  const key = readOpenSshPublicKey(text);
  if ('problem' in key)
    throw new SshError(`host key ${source} is not usable: ${key.problem}`, 'HostKeyInvalid');
  return { ...key, fingerprint: fingerprintOf(key.blob) };
}

/** A literal key, or `file:PATH` (relative to `baseDir`, the runbook's folder) read now. */
export function resolveHostKey(reference: string, baseDir: string): PinnedHostKey {
  if (!reference.startsWith('file:')) return parseHostKey(reference, 'in the runbook');
  const file = path.resolve(baseDir, reference.slice(5));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SshError(
      `host key ${reference} is not usable: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`,
      'HostKeyInvalid',
    );
  }
  return parseHostKey(text, reference);
}

/** Host key algorithms to offer so that the server presents a key of the pinned type. */
function hostKeyAlgorithms(type: string): string[] {
  return type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type];
}

export interface SshTarget {
  /** For messages, e.g. "app-rbx-1 (root@10.2.0.21:22)". */
  label: string;
  host: string;
  port: number;
  user: string;
  privateKey: string;
  hostKey: PinnedHostKey;
}

export interface SshExecResult {
  exitCode: number | null;
  signal?: string;
  /** The last `keepBytes` bytes of each stream (default 16 KiB), cut on a character boundary. */
  stdout: string;
  stderr: string;
  durationMs: number;
}

const KEEP_BYTES = 16 * 1024;

/** The last `limit` bytes of `kept` followed by `chunk`. */
const keepTail = (kept: Buffer, chunk: Buffer, limit: number) => {
  const joined = Buffer.concat([kept, chunk]);
  return joined.length > limit ? joined.subarray(joined.length - limit) : joined;
};

/** Runs commands on hosts over SSH, one connection per command. Created once per worker. */
export class SshClient {
  exec(
    target: SshTarget,
    command: string,
    options: {
      timeoutMs: number;
      signal?: AbortSignal;
      keepBytes?: number;
      /** Receives the whole standard output as it comes (the result's `stdout` then stays empty). */
      onStdout?: (chunk: Buffer) => void;
      /** What the command is, for messages ("its start command"): its text may hold a secret and is never shown. */
      describe?: string;
      /** Written to the command's standard input, which is then closed (left open without it). */
      input?: Buffer;
    },
  ): Promise<SshExecResult> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const conn = new Client();
      const keep = options.keepBytes ?? KEEP_BYTES;
      let stdout = Buffer.alloc(0);
      let stderr = Buffer.alloc(0);
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      let presented: Buffer | undefined;
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        conn.end();
        if (err) reject(err);
        else
          resolve({
            exitCode,
            signal: exitSignal,
            stdout: utf8Tail(stdout, keep),
            stderr: utf8Tail(stderr, keep),
            durationMs: Date.now() - started,
          });
      };
      const onAbort = () => finish(options.signal?.reason ?? new SshError('cancelled', 'SshError'));
      const timer = setTimeout(
        () =>
          finish(
            new SshError(
              `${target.label}: ${options.describe ?? 'the command'} did not finish within ${Math.round(options.timeoutMs / 1000)}s`,
              'SshTimeout',
            ),
          ),
        options.timeoutMs,
      );
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);

      conn.on('ready', () => {
        conn.exec(command, (err, stream) => {
          if (err)
            return finish(new SshError(`${target.label}: cannot run a command: ${err.message}`, 'SshError'));
          stream.on('data', (d: Buffer) =>
            options.onStdout ? options.onStdout(d) : (stdout = keepTail(stdout, d, keep)),
          );
          stream.stderr.on('data', (d: Buffer) => (stderr = keepTail(stderr, d, keep)));
          if (options.input !== undefined) stream.end(options.input);
          stream.on('exit', (code: number | null, signalName?: string) => {
            exitCode = code;
            exitSignal = signalName ?? undefined;
          });
          stream.on('close', () => finish());
        });
      });
      conn.on('error', (err: Error & { level?: string; code?: string }) => {
        const pinned = `${target.hostKey.type} ${target.hostKey.fingerprint}`;
        if (presented) {
          return finish(
            new SshError(
              `${target.label}: refused the server's host key ${fingerprintOf(presented)}; the runbook pins ${pinned}`,
              'HostKeyMismatch',
            ),
          );
        }
        if (/host key|no matching/i.test(err.message) && err.level === 'client-socket') {
          return finish(
            new SshError(
              `${target.label}: the server offers no host key matching the pinned ${pinned} (${err.message})`,
              'HostKeyMismatch',
            ),
          );
        }
        if (err.level === 'client-authentication') {
          return finish(
            new SshError(
              `${target.label}: the server refused the private key for user ${target.user}`,
              'SshAuthenticationFailed',
            ),
          );
        }
        if (err.level === 'client-timeout') {
          return finish(new SshError(`${target.label}: no SSH handshake: ${err.message}`, 'SshTimeout'));
        }
        if (err.level === 'client-socket' || err.code) {
          return finish(
            new SshError(`${target.label}: cannot connect: ${err.code ?? err.message}`, 'SshUnreachable'),
          );
        }
        finish(new SshError(`${target.label}: ${err.message}`, 'SshError'));
      });
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey,
        readyTimeout: Math.min(options.timeoutMs, 20_000),
        algorithms: { serverHostKey: hostKeyAlgorithms(target.hostKey.type) as never },
        // Never accept a key blindly: only the pinned one.
        hostVerifier: (key: Buffer) => {
          if (key.equals(target.hostKey.blob)) return true;
          presented = Buffer.from(key);
          return false;
        },
      };
      try {
        conn.connect(config);
      } catch (err) {
        const message = (err as Error).message;
        finish(
          /privateKey/i.test(message)
            ? new SshError(
                `${target.label}: the private key cannot be used: ${message}`,
                'SshAuthenticationFailed',
              )
            : new SshError(`${target.label}: ${message}`, 'SshError'),
        );
      }
    });
  }
}
