import { readFileSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { parse } from 'yaml';
import { connectClient } from '../../common/temporal-connection';
import { DrPair } from '../../workflows/definitions';
import { stackPort } from './settings';
import { STACK_RUNBOOKS } from './services/worker';

/** The pairs of the runbooks the stack's worker serves (DR_RUNBOOKS, else the stack's own). */
export function stackPairs(): string[] {
  const files = process.env.DR_RUNBOOKS ? process.env.DR_RUNBOOKS.split(',') : STACK_RUNBOOKS;
  return files.map((file) => String((parse(readFileSync(file.trim(), 'utf8')) as { pair?: unknown }).pair));
}

/**
 * The workflow IDs of the runs of the stack's pairs still running on the stack's Temporal server (moves, their
 * watchers of a fenced old site, readiness checks): after a reset they would resume against servers that no
 * longer hold what they expect.
 */
export async function runningStackRuns(pairs: string[]): Promise<string[]> {
  const { connection, namespace } = await connectClient({
    address: `127.0.0.1:${stackPort('TEMPORAL')}`,
    namespace: 'default',
  });
  try {
    const client = new Client({ connection, namespace });
    const quoted = pairs.map((p) => `'${p.replace(/'/g, "\\'")}'`).join(', ');
    const ids: string[] = [];
    for await (const run of client.workflow.list({
      query: `ExecutionStatus = 'Running' AND ${DrPair.name} IN (${quoted})`,
    }))
      ids.push(run.workflowId);
    return ids;
  } finally {
    await connection.close();
  }
}
