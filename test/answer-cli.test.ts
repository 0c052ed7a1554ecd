/**
 * drctl approve|reject|retry|abort|discard: its arguments, signing with a key file or through ssh-agent, the choice of
 * the question, and an answer sent to a stand-in of a move's desk on the time-skipping test server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerQuestion, checkAnswerArguments, pickQuestion, signAnswer, signingKey } from '../client/answer';
import {
  APPROVAL_NAMESPACE,
  approvalMessage,
  parseAllowedSigners,
  verifyApprovalSignature,
  type SignedFields,
} from '../common/approval-signature';
import { waitFor } from '../dev/stack/daemon';
import { pairMoveWorkflowId, type PendingDecision } from '../workflows/definitions';
import { answerDeskWorkflow } from './fixtures/answer-desk-workflow';
import { generateKey, sshKeygenVerifies } from './helpers/approver';
import { timeSkippingWorker } from './helpers/time-skipping';

const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');
const dir = mkdtempSync(path.join(os.tmpdir(), 'answer-cli-'));
const alice = generateKey(dir, 'alice');
const signers = parseAllowedSigners(`alice namespaces="drctl-approval" ${alice.publicKey}\n`, 'test');

const FIELDS: SignedFields = {
  workflowId: 'dr-move-shop',
  runId: 'run-1',
  questionId: 'q1',
  decision: 'approve',
  by: 'alice',
  reason: 'planned maintenance',
  signedAt: new Date().toISOString(),
};

/** drctl with a Temporal address nothing listens on: an argument error must come before any contact. */
function drctl(args: string[], env: Record<string, string> = {}) {
  const { DRCTL_APPROVER: _a, DRCTL_SIGNING_KEY: _k, ...inherited } = process.env;
  return spawnSync(DRCTL, args, {
    encoding: 'utf8',
    env: { ...inherited, DR_RUNBOOKS: '', TEMPORAL_ADDRESS: '127.0.0.1:1', HOME: dir, ...env },
  });
}

describe('drctl answer commands: argument errors, before anything is contacted', () => {
  it.each<[string, string[], Record<string, string>, RegExp]>([
    [
      'no reason',
      ['approve', 'shop'],
      { DRCTL_APPROVER: 'alice' },
      /required option '--reason <text>' not specified/,
    ],
    ['a bad pair name', ['reject', 'Shop Prod', '--reason', 'x'], {}, /a pair name is lower-case letters/],
    [
      'no name',
      ['retry', 'shop', '--reason', 'x', '--key', alice.key],
      {},
      /^drctl: say who answers with --as NAME or DRCTL_APPROVER/,
    ],
    [
      'a missing key file',
      ['abort', 'shop', '--reason', 'x', '--as', 'alice', '--key', path.join(dir, 'nope')],
      {},
      /^drctl: the signing key .*nope \(--key\) does not exist/,
    ],
    [
      'no key at the default place',
      ['discard', 'shop', '--reason', 'x', '--as', 'alice'],
      { SSH_AUTH_SOCK: '' },
      /^drctl: the signing key .*\.ssh\/id_ed25519 \(the default key\) does not exist/,
    ],
    [
      'a reason over 1 KB',
      ['approve', 'shop', '--reason', 'x'.repeat(1025), '--as', 'alice', '--key', alice.key],
      {},
      /^drctl: --reason: is 1025 bytes long, more than the 1024 allowed/,
    ],
  ])('refuses %s', (_what, args, env, expected) => {
    const result = drctl(args, env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).not.toContain('127.0.0.1:1');
  });

  it('names the Temporal address it cannot reach', () => {
    const result = drctl(['approve', 'shop', '--reason', 'x', '--as', 'alice', '--key', alice.key]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^drctl: cannot reach Temporal at 127\.0\.0\.1:1: /);
  });

  it('takes the name from DRCTL_APPROVER and the key from DRCTL_SIGNING_KEY', () => {
    const env = { DRCTL_APPROVER: 'alice', DRCTL_SIGNING_KEY: alice.key, SSH_AUTH_SOCK: '' };
    expect(checkAnswerArguments('approve', { reason: ' why ', env })).toEqual({
      by: 'alice',
      reason: 'why',
      key: { file: alice.key, agent: false },
    });
  });
});

describe('signAnswer', () => {
  it('signs the canonical text with a key file; the verifier and ssh-keygen accept it', async () => {
    const signature = await signAnswer(FIELDS, {
      key: alice.key,
      env: { ...process.env, SSH_AUTH_SOCK: '' },
    });
    expect(verifyApprovalSignature(signature, FIELDS, signers, Date.now())).toEqual({
      ok: true,
      principal: 'alice',
    });
    expect(
      verifyApprovalSignature(signature, { ...FIELDS, decision: 'reject' }, signers, Date.now()).ok,
    ).toBe(false);
  });

  describe('through ssh-agent', () => {
    let agent: ChildProcess;
    const socket = path.join(dir, 'agent.sock');
    const agentEnv = () => ({ ...process.env, SSH_AUTH_SOCK: socket });

    beforeAll(async () => {
      agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      await waitFor('ssh-agent listening', async () => existsSync(socket), 10_000);
    });
    afterAll(() => {
      agent?.kill();
    });

    it('signs with only the .pub once the key is in the agent, and says so when it is not', async () => {
      const bob = generateKey(dir, 'bob');
      const bobSigners = parseAllowedSigners(`bob ${bob.publicKey}\n`, 'test');
      const fields = { ...FIELDS, by: 'bob' };
      await expect(signAnswer(fields, { key: `${bob.key}.pub`, env: agentEnv() })).rejects.toThrow(
        new RegExp(`^ssh-keygen could not sign with ${bob.key}\\.pub through ssh-agent: `),
      );
      const added = spawnSync('ssh-add', [bob.key], { env: agentEnv(), encoding: 'utf8' });
      expect(added.status, added.stderr).toBe(0);
      const signature = await signAnswer(fields, { key: `${bob.key}.pub`, env: agentEnv() });
      expect(verifyApprovalSignature(signature, fields, bobSigners, Date.now())).toEqual({
        ok: true,
        principal: 'bob',
      });
      // The private key file gone: its .pub beside it names the key the agent holds.
      renameSync(bob.key, `${bob.key}.moved`);
      expect(signingKey({ key: bob.key, env: agentEnv() })).toEqual({ file: `${bob.key}.pub`, agent: true });
      const again = await signAnswer(fields, { key: bob.key, env: agentEnv() });
      expect(
        sshKeygenVerifies(`bob ${bob.publicKey}\n`, 'bob', APPROVAL_NAMESPACE, again, approvalMessage(fields))
          .ok,
      ).toBe(true);
    });

    it('refuses a .pub without an agent, with a sentence', () => {
      expect(() =>
        signingKey({ key: `${alice.key}.pub`, env: { ...process.env, SSH_AUTH_SOCK: '' } }),
      ).toThrow(
        /is a public key: signing with it needs its private key in ssh-agent, and SSH_AUTH_SOCK is not set/,
      );
    });
  });
});

const question = (id: string, kind: PendingDecision['kind'], answers: string[]): PendingDecision => ({
  id,
  kind,
  question: `question ${id}?`,
  answers,
  since: '2026-12-07T13:00:00.000Z',
});

describe('pickQuestion', () => {
  const approval = question('q1', 'approval', ['approve', 'reject']);
  const step = question('q2', 'operator', ['retry', 'abort']);
  const other = question('q3', 'operator', ['retry', 'abort']);
  const failback = question('q4', 'operator', ['retry', 'abort', 'discard']);

  it('takes the only open question that takes the answer', () => {
    expect(pickQuestion([approval, step], 'approve')).toEqual({ question: approval });
    expect(pickQuestion([approval, failback], 'discard')).toEqual({ question: failback });
    // auto-after: the question offers "reject (or approve to go now)".
    const autoAfter = question('q5', 'approval', ['reject (or approve to go now)']);
    expect(pickQuestion([autoAfter], 'approve')).toEqual({ question: autoAfter });
  });

  it('takes the question --question names, if it takes the answer', () => {
    expect(pickQuestion([step, other], 'retry', 'q3')).toEqual({ question: other });
    expect(pickQuestion([step, other], 'approve', 'q3')).toEqual({
      problem: 'question q3 does not take approve: q3: question q3? (answers: retry, abort)',
    });
    expect(pickQuestion([step], 'retry', 'q9')).toEqual({
      problem: 'the run has no open question q9; open questions:\n  q2: question q2? (answers: retry, abort)',
    });
  });

  it('refuses several candidates, listing them with their IDs, and an answer no question takes', () => {
    expect(pickQuestion([approval, step, other], 'abort')).toEqual({
      problem:
        '2 open questions take abort: say which with --question ID:\n  q2: question q2? (answers: retry, abort)\n  q3: question q3? (answers: retry, abort)',
    });
    expect(pickQuestion([approval], 'discard')).toEqual({
      problem:
        'no open question takes discard; open questions:\n  q1: question q1? (answers: approve, reject)',
    });
    expect(pickQuestion([], 'approve')).toEqual({ problem: 'the run asks no question now.' });
  });
});

describe('answerQuestion against a running desk', () => {
  const ts = timeSkippingWorker('answer-cli', () => ({
    workflowsPath: path.join(__dirname, 'fixtures', 'answer-desk-workflow.ts'),
  }));

  it('signs for the run and question it finds; the run refuses another key and accepts the right one', async () => {
    const pair = `shop-${randomUUID().slice(0, 8)}`;
    await expect(
      answerQuestion(ts.env.client, pair, 'approve', { reason: 'x', as: 'alice', key: alice.key }),
    ).rejects.toThrow(`pair ${pair} has no run to answer (no workflow ${pairMoveWorkflowId(pair)}).`);

    const questions = [
      question('q1', 'approval', ['approve', 'reject']),
      question('q2', 'operator', ['retry', 'abort']),
    ];
    const handle = await ts.env.client.workflow.start(answerDeskWorkflow, {
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId(pair),
      args: [{ signers, questions }],
    });
    const mallory = generateKey(dir, `mallory-${pair}`);
    const keyEnv = { ...process.env, SSH_AUTH_SOCK: '' };
    const refused = await answerQuestion(ts.env.client, pair, 'approve', {
      reason: 'looks fine',
      as: 'alice',
      key: mallory.key,
      env: keyEnv,
    });
    expect(refused).toMatchObject({
      accepted: false,
      runId: handle.firstExecutionRunId,
      question: { id: 'q1' },
      why: 'the signature is not from a key the runbook allows for "alice".',
    });
    await expect(
      answerQuestion(ts.env.client, pair, 'discard', {
        reason: 'x',
        as: 'alice',
        key: alice.key,
        env: keyEnv,
      }),
    ).rejects.toThrow(/no open question takes discard/);

    const accepted = await answerQuestion(ts.env.client, pair, 'abort', {
      reason: 'the step cannot succeed\nsee the ticket',
      as: 'alice',
      key: alice.key,
      env: keyEnv,
    });
    expect(accepted).toMatchObject({
      accepted: true,
      result: 'abort accepted from alice',
      question: { id: 'q2' },
    });
    expect(await handle.result()).toMatchObject({
      decision: 'abort',
      questionId: 'q2',
      by: 'alice',
      reason: 'the step cannot succeed\nsee the ticket',
    });
    await expect(
      answerQuestion(ts.env.client, pair, 'approve', {
        reason: 'x',
        as: 'alice',
        key: alice.key,
        env: keyEnv,
      }),
    ).rejects.toThrow(/is completed: it asks nothing/);
  });
});
