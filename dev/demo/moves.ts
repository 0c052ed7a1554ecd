import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  pairMoveWorkflowId,
  statusQuery,
  type PendingDecision,
  type RunStatus,
} from '../../workflows/definitions';
import type { FailoverReport } from '../../workflows/failover/report';
import { stackDir } from '../stack/settings';

export const PAIR = 'local';
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DRCTL = path.join(REPO_ROOT, 'bin', 'drctl');
/** The approver the stack makes (its key and the allowed_signers line the local runbook reads). */
const APPROVER = 'oncall';
const approverKey = () => path.join(stackDir(), 'approval', 'oncall_ed25519');

/** The answer an unattended demo gives to a question, or none when only a person should answer it. */
function unattendedAnswer(q: PendingDecision): 'approve' | 'discard' | undefined {
  if (q.answers.includes('approve')) return 'approve';
  if (q.answers.includes('discard')) return 'discard';
  return undefined; // retry/abort of a failed step: a person looks at the failure first
}

/** The exact command that answers a question, as the demo prints it for a person. */
export function answerCommand(q: PendingDecision, decision: string, reason: string): string {
  const key = path.relative(process.cwd(), approverKey()) || approverKey();
  return `bin/drctl ${decision} ${PAIR} --question ${q.id} --reason '${reason}' --as ${APPROVER} --key ${key}`;
}

/** Waits until the pair's move runs as a run started after `since` (the alert's failover), and returns it. */
export async function moveStartedAfter(
  client: Client,
  since: Date,
  timeoutMs: number,
): Promise<WorkflowHandle> {
  const handle = client.workflow.getHandle(pairMoveWorkflowId(PAIR));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const d = await handle.describe();
      if (d.startTime >= since) return client.workflow.getHandle(handle.workflowId, d.runId);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    await sleep(500);
  }
  throw new Error(`no move of ${PAIR} started within ${timeoutMs / 1000} s of breaking the primary site`);
}

/**
 * Follows a move until it ends: prints each phase and decision as it comes, and each question; answers the
 * questions itself when `unattended` (approve, or discard on a failback's errant transactions, signed as oncall with
 * the stack's key through `drctl`), else prints the command and waits for a person to run it.
 */
export async function followMove(handle: WorkflowHandle, unattended: boolean): Promise<FailoverReport> {
  const said = new Set<string>();
  const asked = new Set<string>();
  let last = '';
  for (;;) {
    const d = await handle.describe();
    if (d.status.name !== 'RUNNING') break;
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status) {
      const line = `[${status.phase}] ${status.sentence}`;
      if (line !== last && !said.has(line)) console.log(`  ${line}`);
      said.add(line);
      last = line;
      for (const q of openQuestions(status)) {
        if (!q.id || asked.has(q.id)) continue;
        asked.add(q.id);
        answer(q, unattended);
      }
    }
    await sleep(500);
  }
  return (await handle.result()) as FailoverReport;
}

const openQuestions = (status: RunStatus) => status.questions ?? (status.pending ? [status.pending] : []);

function answer(q: PendingDecision, unattended: boolean): void {
  console.log(`  ? ${q.id}: ${q.question}`);
  const decision = unattendedAnswer(q);
  if (!unattended || !decision) {
    const example = decision ?? q.answers[0] ?? 'approve';
    console.log(
      `    answer it in another terminal, e.g.: ${answerCommand(q, example, 'why, in a sentence')}`,
    );
    return;
  }
  const reason = `npm run demo --auto-approve: ${decision} of ${q.id}`;
  console.log(`    --auto-approve: ${answerCommand(q, decision, reason)}`);
  const r = spawnSync(
    DRCTL,
    [decision, PAIR, '--question', q.id!, '--reason', reason, '--as', APPROVER, '--key', approverKey()],
    { encoding: 'utf8', cwd: REPO_ROOT },
  );
  const out = `${r.stdout}${r.stderr}`.trim().split('\n')[0];
  console.log(`    ${r.status === 0 ? '' : 'refused: '}${out}`);
}
