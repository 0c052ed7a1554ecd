/**
 * The signature check where it runs in production: in an update validator, inside Temporal's workflow sandbox (no
 * Buffer, atob or crypto; TextEncoder bytes from another realm), bundled by the SDK's bundler from the module's real
 * imports, on the time-skipping test server.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  APPROVAL_NAMESPACE,
  approvalMessage,
  parseAllowedSigners,
  type SignedFields,
} from '../common/approval-signature';
import { approvalSignatureWorkflow, signedAnswerUpdate } from './fixtures/approval-signature-workflow';
import { generateKey, sshKeygenSign } from './helpers/approver';
import { timeSkippingWorker } from './helpers/time-skipping';

const ts = timeSkippingWorker('approval-signature', () => ({
  workflowsPath: path.join(__dirname, 'fixtures', 'approval-signature-workflow.ts'),
}));

describe('verifyApprovalSignature in a workflow update validator', () => {
  it('accepts a signature ssh-keygen made and refuses a tampered answer with its sentence', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'approval-sandbox-'));
    const alice = generateKey(dir, 'alice');
    const signers = parseAllowedSigners(`alice namespaces="drctl-approval" ${alice.publicKey}\n`, 'test');
    const handle = await ts.env.client.workflow.start(approvalSignatureWorkflow, {
      taskQueue: ts.taskQueue,
      workflowId: `approval-signature-${randomUUID()}`,
      args: [signers],
    });
    const fields: SignedFields = {
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      questionId: 'q1',
      decision: 'approve',
      by: 'alice',
      reason: 'tested in the sandbox — with a non-ASCII reason',
      signedAt: new Date().toISOString(),
    };
    const signature = sshKeygenSign(alice.key, APPROVAL_NAMESPACE, approvalMessage(fields));

    const tampered = handle.executeUpdate(signedAnswerUpdate, {
      args: [{ fields: { ...fields, decision: 'reject' }, signature }],
    });
    await expect(tampered).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(tampered).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/^the signature does not match what was signed/) },
    });
    const garbage = handle.executeUpdate(signedAnswerUpdate, { args: [{ fields, signature: 'garbage' }] });
    await expect(garbage).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/not an armored SSH signature/) },
    });

    await expect(handle.executeUpdate(signedAnswerUpdate, { args: [{ fields, signature }] })).resolves.toBe(
      'accepted the answer of alice',
    );
    expect(await handle.result()).toEqual({
      acceptedFrom: 'alice',
      missingGlobals: ['Buffer', 'atob', 'crypto'],
    });
  });
});
