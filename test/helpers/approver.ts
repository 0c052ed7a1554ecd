import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway Ed25519 key pair for tests only (published with the SSHSIG test vector it signed): the runbooks built
 * by test fixtures list it as the approver `oncall`, so that a test can sign answers without generating a key.
 */
export const TEST_APPROVER = {
  name: 'oncall',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwPjxITxoKLD4v/r2M0Pc5B+Qi1yoNUNi57winrERYc',
  privateKey: [
    '-----BEGIN OPENSSH PRIVATE KEY-----',
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    'QyNTUxOQAAACDsD48SE8aCiw+L/69jND3OQfkItcqDVDYue8Ip6xEWHAAAAJiIH+KxiB/i',
    'sQAAAAtzc2gtZWQyNTUxOQAAACDsD48SE8aCiw+L/69jND3OQfkItcqDVDYue8Ip6xEWHA',
    'AAAEAfQEgnLv0YgeEZ3j3fWNz1MS4a9UwO016V4Ov1obvkS+wPjxITxoKLD4v/r2M0Pc5B',
    '+Qi1yoNUNi57winrERYcAAAAE2FwcHJvdmVyQGRyY3RsLnRlc3QBAg==',
    '-----END OPENSSH PRIVATE KEY-----',
    '',
  ].join('\n'),
} as const;

/** The runbook's `approval.approvers` entry of the test approver: an allowed_signers line. */
export const TEST_APPROVER_LINE = `${TEST_APPROVER.name} namespaces="drctl-approval" ${TEST_APPROVER.publicKey} test-only key`;

/** Writes the test approver's private key (mode 600, as ssh-keygen requires) into `dir`; returns its path. */
export function writeTestApproverKey(dir: string = mkdtempSync(path.join(os.tmpdir(), 'approver-'))): string {
  const file = path.join(dir, 'oncall_ed25519');
  writeFileSync(file, TEST_APPROVER.privateKey, { mode: 0o600 });
  writeFileSync(`${file}.pub`, `${TEST_APPROVER.publicKey} test-only key\n`);
  return file;
}

/** A fresh key pair made by ssh-keygen in `dir` (ed25519 unless `type` says otherwise): its private key's path. */
export function generateKey(dir: string, name: string, type = 'ed25519'): { key: string; publicKey: string } {
  const key = path.join(dir, name);
  const made = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', key], {
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`ssh-keygen -t ${type} failed: ${made.stderr}`);
  return { key, publicKey: readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ') };
}

/** `ssh-keygen -Y sign` of `message` with the key `key` in `namespace`: the armored signature. */
export function sshKeygenSign(key: string, namespace: string, message: string, extra: string[] = []): string {
  const signed = spawnSync('ssh-keygen', ['-Y', 'sign', '-f', key, '-n', namespace, ...extra], {
    input: message,
    encoding: 'utf8',
  });
  if (signed.status !== 0) throw new Error(`ssh-keygen -Y sign failed: ${signed.stderr}`);
  return signed.stdout;
}

/** Whether `ssh-keygen -Y verify` accepts `signature` over `message` for `principal` with `allowedSigners`. */
export function sshKeygenVerifies(
  allowedSigners: string,
  principal: string,
  namespace: string,
  signature: string,
  message: string,
): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sshsig-verify-'));
  writeFileSync(path.join(dir, 'allowed_signers'), allowedSigners);
  writeFileSync(path.join(dir, 'message.sig'), signature);
  const args = ['-Y', 'verify', '-f', path.join(dir, 'allowed_signers'), '-I', principal, '-n', namespace];
  const result = spawnSync('ssh-keygen', [...args, '-s', path.join(dir, 'message.sig')], {
    input: message,
    encoding: 'utf8',
  });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}
