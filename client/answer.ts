import { MAX_TEXT_BYTES } from '../common/text-limits';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  ANSWER_DECISIONS,
  APPROVAL_NAMESPACE,
  approvalMessage,
  type AnswerDecision,
  type SignedFields,
} from '../common/approval-signature';
import {
  abortUpdate,
  approveUpdate,
  discardUpdate,
  pairMoveWorkflowId,
  rejectUpdate,
  retryUpdate,
  statusQuery,
  type HumanAnswer,
  type PendingDecision,
} from '../workflows/definitions';

/**
 * `drctl approve|reject|retry|abort|discard`: a human's answer to a question of a pair's running move, signed with
 * the answerer's SSH key (`ssh-keygen -Y sign -n drctl-approval`, a key file or ssh-agent) over the canonical text of
 * the answer (common/approval-signature.ts), and sent as the workflow's update of that name.
 */

/** The update each decision is sent as. */
const UPDATES = {
  approve: approveUpdate,
  reject: rejectUpdate,
  retry: retryUpdate,
  abort: abortUpdate,
  discard: discardUpdate,
} as const;

export interface KeyOptions {
  /** The signing key: a private key file, or a `.pub` whose private key is in ssh-agent. */
  key?: string;
  /** Where DRCTL_SIGNING_KEY, SSH_AUTH_SOCK and HOME are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** How a key signs: `ssh-keygen -f <file>`, the private key read from the file or, for a `.pub`, used in ssh-agent. */
export interface SigningKey {
  file: string;
  agent: boolean;
}

/**
 * The key to sign with: `--key`, else DRCTL_SIGNING_KEY, else ~/.ssh/id_ed25519. A `.pub` file, or a private key file
 * that is absent while its `.pub` exists, signs through ssh-agent (SSH_AUTH_SOCK must be set). Throws a sentence when
 * there is no key to sign with.
 */
export function signingKey(options: KeyOptions = {}): SigningKey {
  const env = options.env ?? process.env;
  const given = options.key ?? (env.DRCTL_SIGNING_KEY || undefined);
  const file = path.resolve(given ?? path.join(env.HOME || os.homedir(), '.ssh', 'id_ed25519'));
  const from = options.key ? '--key' : given ? 'DRCTL_SIGNING_KEY' : 'the default key';
  const agent = Boolean(env.SSH_AUTH_SOCK);
  const isFile = (f: string) => existsSync(f) && statSync(f).isFile();
  if (file.endsWith('.pub')) {
    if (!isFile(file)) throw new Error(`the signing key ${file} (${from}) does not exist`);
    if (!agent)
      throw new Error(
        `the signing key ${file} (${from}) is a public key: signing with it needs its private key in ssh-agent, and SSH_AUTH_SOCK is not set`,
      );
    return { file, agent: true };
  }
  if (isFile(file)) return { file, agent: false };
  if (agent && isFile(`${file}.pub`)) return { file: `${file}.pub`, agent: true };
  throw new Error(
    `the signing key ${file} (${from}) does not exist: give --key PATH or set DRCTL_SIGNING_KEY (a private key, or a .pub whose key is in ssh-agent)`,
  );
}

/** How long ssh-keygen may take: it may ask for the key's passphrase on the terminal. */
const SIGN_TIMEOUT_MS = 120_000;

/**
 * Signs `approvalMessage(fields)` with `ssh-keygen -Y sign -n drctl-approval` and the key `signingKey(options)`
 * chooses: the armored signature.
 */
export async function signAnswer(fields: SignedFields, options: KeyOptions = {}): Promise<string> {
  const key = signingKey(options);
  const env = options.env ?? process.env;
  const args = ['-Y', 'sign', '-n', APPROVAL_NAMESPACE, '-f', key.file, ...(key.agent ? ['-U'] : [])];
  const { code, stdout, stderr } = await runWithInput('ssh-keygen', args, approvalMessage(fields), env);
  const signature = stdout.trim();
  if (code !== 0 || !signature.startsWith('-----BEGIN SSH SIGNATURE-----'))
    throw new Error(
      `ssh-keygen could not sign with ${key.file}${key.agent ? ' through ssh-agent' : ''}: ${stderr.trim().split('\n').at(-1) || `exit code ${code}`}`,
    );
  return `${signature}\n`;
}

function runWithInput(
  command: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // stdin carries the message; a passphrase prompt goes to the terminal (/dev/tty), as ssh-keygen does.
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: SIGN_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Whether `question` takes `decision`: its answers name it (an approval always takes approve and reject). */
export function takes(question: PendingDecision, decision: AnswerDecision): boolean {
  if (question.kind === 'approval' && (decision === 'approve' || decision === 'reject')) return true;
  return question.answers.some((answer) => answer.split(/[^a-z-]+/).includes(decision));
}

const describeQuestion = (q: PendingDecision) =>
  `${q.id ?? '(no id)'}: ${q.question} (answers: ${q.answers.join(', ')})`;

/**
 * The open question an answer is for: the one `questionId` names, else the only open question that takes `decision`.
 * Refuses, with a sentence listing the open questions by ID, when there is none or more than one.
 */
export function pickQuestion(
  questions: PendingDecision[],
  decision: AnswerDecision,
  questionId?: string,
): { question: PendingDecision } | { problem: string } {
  const open = questions.map((q) => `\n  ${describeQuestion(q)}`).join('');
  if (questions.length === 0) return { problem: 'the run asks no question now.' };
  if (questionId !== undefined) {
    const question = questions.find((q) => q.id === questionId);
    if (!question) return { problem: `the run has no open question ${questionId}; open questions:${open}` };
    if (!takes(question, decision))
      return { problem: `question ${questionId} does not take ${decision}: ${describeQuestion(question)}` };
    return { question };
  }
  const candidates = questions.filter((q) => takes(q, decision));
  if (candidates.length === 0)
    return { problem: `no open question takes ${decision}; open questions:${open}` };
  if (candidates.length > 1)
    return {
      problem: `${candidates.length} open questions take ${decision}: say which with --question ID:${candidates.map((q) => `\n  ${describeQuestion(q)}`).join('')}`,
    };
  return { question: candidates[0]! };
}

export interface AnswerOptions extends KeyOptions {
  reason: string;
  /** The question's ID; needed only when several open questions take this answer. */
  questionId?: string;
  /** The name to answer as (a principal of the key in the runbook's approvers); default DRCTL_APPROVER. */
  as?: string;
  /** The signing time (default: now). */
  now?: () => Date;
}

/** What the run answered: accepted (the update's answer) or refused (the validator's sentence). */
export type AnswerOutcome = { workflowId: string; runId: string; question: PendingDecision } & (
  { accepted: true; result: string } | { accepted: false; why: string }
);

/** Checks an answer's own arguments before anything is contacted: its name, its reason and its key. */
export function checkAnswerArguments(
  decision: AnswerDecision,
  options: AnswerOptions,
): { by: string; reason: string; key: SigningKey } {
  const env = options.env ?? process.env;
  if (!(ANSWER_DECISIONS as readonly string[]).includes(decision))
    throw new Error(`the decision must be one of ${ANSWER_DECISIONS.join(', ')}`);
  const by = (options.as ?? env.DRCTL_APPROVER ?? '').trim();
  if (by === '')
    throw new Error(
      "say who answers with --as NAME or DRCTL_APPROVER: the name the runbook lists with your key (the key's comment is not trusted)",
    );
  const reason = options.reason.trim();
  if (reason === '') throw new Error('--reason: a reason is required');
  const bytes = Buffer.byteLength(reason, 'utf8');
  if (bytes > MAX_TEXT_BYTES)
    throw new Error(`--reason: is ${bytes} bytes long, more than the ${MAX_TEXT_BYTES} allowed`);
  return { by, reason, key: signingKey(options) };
}

/**
 * Answers an open question of the running move of `pair`: finds the run (its workflow ID is the pair's move ID), its
 * open questions (the status query's `questions`, or `pending` from older runs), picks the question, signs the answer
 * and sends it as the decision's update to that run. Throws a sentence when there is no run, no question to answer,
 * or the key cannot sign; a refusal of the run itself is returned.
 */
export async function answerQuestion(
  client: Client,
  pair: string,
  decision: AnswerDecision,
  options: AnswerOptions,
): Promise<AnswerOutcome> {
  const { by, reason } = checkAnswerArguments(decision, options);
  const workflowId = pairMoveWorkflowId(pair);
  let description;
  try {
    description = await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`pair ${pair} has no run to answer (no workflow ${workflowId}).`, { cause: err });
    throw err;
  }
  const { runId } = description;
  if (description.status.name !== 'RUNNING')
    throw new Error(
      `the last run of pair ${pair} (workflow ${workflowId}, run ${runId}) is ${description.status.name.toLowerCase()}: it asks nothing.`,
    );
  const handle = client.workflow.getHandle(workflowId, runId);
  const status = await handle.query(statusQuery);
  const questions = status.questions ?? (status.pending ? [status.pending] : []);
  const picked = pickQuestion(questions, decision, options.questionId);
  if ('problem' in picked) throw new Error(`pair ${pair} (run ${runId}): ${picked.problem}`);
  const { question } = picked;
  if (!question.id)
    throw new Error(
      `pair ${pair} (run ${runId}): its question has no ID (a run of an older worker), so a signed answer cannot name it.`,
    );
  const fields: SignedFields = {
    workflowId,
    runId,
    questionId: question.id,
    decision,
    by,
    reason,
    signedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const answer: HumanAnswer = {
    questionId: fields.questionId,
    by,
    reason,
    signedAt: fields.signedAt,
    signature: await signAnswer(fields, options),
  };
  try {
    // By name: the update definitions may still type the older answer shape; the run's validator checks this one.
    const result = await handle.executeUpdate<string, [HumanAnswer]>(UPDATES[decision].name, {
      args: [answer],
    });
    return { workflowId, runId, question, accepted: true, result };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      return { workflowId, runId, question, accepted: false, why: err.cause?.message ?? err.message };
    throw err;
  }
}
