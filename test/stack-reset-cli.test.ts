import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient } from '../common/temporal-connection';
import { confirmed } from '../dev/stack/confirm';
import { runningStackRuns } from '../dev/stack/running-moves';
import { stackPort } from '../dev/stack/settings';
import { DrPair, pairMoveWorkflowId } from '../workflows/definitions';

const DRCTL = path.resolve(__dirname, '..', 'bin', 'drctl');

/** A terminal that answers `answer` to the first question, and what was printed on it. */
function terminal(answer: string) {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
    if (printed.includes('[y/N]')) input.write(`${answer}\n`);
  });
  return { streams: { input, output }, printed: () => printed };
}

describe('drctl stack reset asks first', () => {
  it('goes on after "y" or "yes" only, and without asking with --yes', async () => {
    for (const [answer, expected] of [
      ['y', true],
      ['YES', true],
      ['n', false],
      ['', false],
      ['sure', false],
    ] as const) {
      const t = terminal(answer);
      expect(await confirmed('Reset?', { flag: '--yes' }, t.streams), answer).toBe(expected);
      expect(t.printed()).toBe('Reset? [y/N] ');
    }
    const silent = terminal('n');
    expect(await confirmed('Reset?', { yes: true, flag: '--yes' }, silent.streams)).toBe(true);
    expect(silent.printed()).toBe('');
  });

  it('refuses without a terminal and without --yes, naming the flag', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: undefined });
    await expect(
      confirmed('Reset?', { flag: '--yes' }, { input, output: new PassThrough() }),
    ).rejects.toThrow('no terminal to ask for confirmation; pass --yes to go on without asking');
  });

  describe('the command, without a terminal', () => {
    // A folder of its own: should the refusal ever fail, nothing of the shared stack is touched.
    let dir: string | undefined;
    afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('exits 1 with the reason and changes nothing', () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'stack-reset-'));
      const result = spawnSync(DRCTL, ['stack', 'reset'], {
        encoding: 'utf8',
        input: '',
        env: { ...process.env, DR_STACK_DIR: dir },
      });
      expect(result.stderr).toBe(
        'drctl stack: no terminal to ask for confirmation; pass --yes to go on without asking\n',
      );
      expect(result.status).toBe(1);
      expect(existsSync(dir) && readdirSync(dir)).toEqual([]);
    });
  });
});

/**
 * The runs that make a reset refuse, read from a Temporal server (the shared one: a run of a pair of its own, on a
 * task queue no worker polls, so it stays running until the test terminates it).
 */
describe('drctl stack reset refuses while a run of a stack pair is running', () => {
  it('finds the running runs of the given pairs only', async () => {
    const { connection } = await connectClient({ address: `127.0.0.1:${stackPort('TEMPORAL')}` });
    const client = new Client({ connection, namespace: 'default' });
    const pair = `stack-reset-${randomBytes(4).toString('hex')}`;
    const handle = await client.workflow.start('failover', {
      workflowId: pairMoveWorkflowId(pair),
      taskQueue: `no-worker-${pair}`,
      args: [{ pair }],
      typedSearchAttributes: [{ key: DrPair, value: pair }],
    });
    try {
      const deadline = Date.now() + 10_000;
      let found = await runningStackRuns([pair, 'another-pair']);
      while (found.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        found = await runningStackRuns([pair, 'another-pair']);
      }
      expect(found).toEqual([pairMoveWorkflowId(pair)]);
      expect(await runningStackRuns(['another-pair'])).toEqual([]);
    } finally {
      await handle.terminate('the test is over');
      await connection.close();
    }
  });
});
