/** The local stack's approver key: made once, kept, and listed in the allowed_signers file the local runbooks read. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  approvalMessage,
  parseAllowedSigners,
  verifyApprovalSignature,
  type SignedFields,
} from '../common/approval-signature';
import { approvalPaths, ensureApproverKey } from '../dev/stack/approval-key';
import { sshKeygenSign } from './helpers/approver';

const mode = (file: string) => statSync(file).mode & 0o777;

describe('the local stack approver key', () => {
  it('is made once (private key 600, folder 700), kept at the next start, and allowed to sign as oncall', async () => {
    const paths = approvalPaths(
      path.join(mkdtempSync(path.join(os.tmpdir(), 'stack-approval-')), 'approval'),
    );
    await ensureApproverKey(paths);
    expect(mode(paths.dir)).toBe(0o700);
    expect(mode(paths.privateKey)).toBe(0o600);
    const publicKey = readFileSync(paths.publicKey, 'utf8');
    const signers = parseAllowedSigners(readFileSync(paths.allowedSigners, 'utf8'), paths.allowedSigners);
    expect(signers).toEqual([
      {
        principals: ['oncall'],
        keyType: 'ssh-ed25519',
        publicKey: publicKey.split(' ')[1],
        namespaces: [APPROVAL_NAMESPACE],
      },
    ]);

    await ensureApproverKey(paths);
    expect(readFileSync(paths.publicKey, 'utf8')).toBe(publicKey);
    rmSync(paths.publicKey);
    await ensureApproverKey(paths);
    expect(readFileSync(paths.publicKey, 'utf8').split(' ').slice(0, 2)).toEqual(
      publicKey.split(' ').slice(0, 2),
    );

    const fields: SignedFields = {
      workflowId: 'dr-move-local',
      runId: 'run-1',
      questionId: 'q1',
      decision: 'approve',
      by: 'oncall',
      reason: 'local test',
      signedAt: new Date().toISOString(),
    };
    const signature = sshKeygenSign(paths.privateKey, APPROVAL_NAMESPACE, approvalMessage(fields));
    expect(verifyApprovalSignature(signature, fields, signers, Date.now())).toEqual({
      ok: true,
      principal: 'oncall',
    });
  });
});
