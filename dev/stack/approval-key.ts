import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { APPROVAL_NAMESPACE, parseAllowedSigners } from '../../common/approval-signature';
import { stackDir } from './settings';

const run = promisify(execFile);

/** The approver of the local stack's runbooks: `drctl approve local --as oncall --key <privateKey>`. */
export const LOCAL_APPROVER = 'oncall';

/** Where the stack keeps its approver's key pair and the allowed_signers file its runbooks reference. */
export function approvalPaths(dir: string = path.join(stackDir(), 'approval')) {
  return {
    dir,
    privateKey: path.join(dir, `${LOCAL_APPROVER}_ed25519`),
    publicKey: path.join(dir, `${LOCAL_APPROVER}_ed25519.pub`),
    allowedSigners: path.join(dir, 'allowed_signers'),
  };
}

export type ApprovalPaths = ReturnType<typeof approvalPaths>;

/**
 * Makes the local approver's Ed25519 key pair once (private key mode 600 in a folder of mode 700) and writes the
 * allowed_signers file that lets it sign drctl answers as `oncall`; harmless when they exist (the key is kept, the
 * file rewritten from it).
 */
export async function ensureApproverKey(paths: ApprovalPaths = approvalPaths()): Promise<ApprovalPaths> {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  chmodSync(paths.dir, 0o700);
  if (!existsSync(paths.privateKey)) {
    const comment = `${LOCAL_APPROVER}@local-stack`;
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', paths.privateKey]);
  } else if (!existsSync(paths.publicKey)) {
    const { stdout } = await run('ssh-keygen', ['-y', '-f', paths.privateKey]);
    writeFileSync(paths.publicKey, stdout);
  }
  chmodSync(paths.privateKey, 0o600);
  const [type, base64] = readFileSync(paths.publicKey, 'utf8').trim().split(/\s+/);
  const text = [
    '# Written by the stack manager (dev/stack/approval-key.ts) at every start: the local approver, whose private',
    `# key is ${paths.privateKey}.`,
    `${LOCAL_APPROVER} namespaces="${APPROVAL_NAMESPACE}" ${type} ${base64} ${LOCAL_APPROVER}@local-stack`,
    '',
  ].join('\n');
  parseAllowedSigners(text, paths.allowedSigners); // a key ssh-keygen made that we could not read is a bug: say so
  writeFileSync(paths.allowedSigners, text);
  return paths;
}
