import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX1 = 'db-rbx-1';
const RBX2 = 'db-rbx-2';

/** The runbook's limits for this suite: a step against a frozen server must end within a few of them. */
const CONNECT_TIMEOUT_MS = 2_000;
const STATEMENT_TIMEOUT_MS = 3_000;
/** The longest a step may take against a frozen server: connecting, one statement, and slack for a busy machine. */
const STEP_BOUND_MS = CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 3_000;

/** How a call ended and how long it took; a call still running after `boundMs` counts as hung (it is left to end). */
async function timed<T>(call: Promise<T>, boundMs: number) {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    call.then(
      (value: T) => ({ ended: 'resolved' as const, value }),
      (error: unknown) => ({
        ended: 'rejected' as const,
        error: error as { type?: string; message?: string },
      }),
    ),
    new Promise<{ ended: 'hung' }>((resolve) => {
      timer = setTimeout(() => resolve({ ended: 'hung' }), boundMs * 2);
    }),
  ]);
  clearTimeout(timer);
  return { ...outcome, ms: Date.now() - started };
}

/** Whether every thread of `pid` is stopped (state T in /proc/<pid>/task/<tid>/stat). */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return /^\S+ \(.*\) [Tt] /s.test(stat);
  });
}

/**
 * A server that stops answering in the middle of the conversation (its process frozen with SIGSTOP: the kernel
 * still accepts connections and acknowledges packets, nothing answers) must make every MySQL step fail within
 * the runbook's timeouts, never hang. Scratch MariaDB cluster of its own.
 */
describe('a MySQL server that stops answering', () => {
  let s: ScratchPair;
  const frozen: string[] = [];
  /**
   * SIGSTOP, then wait (bounded) until every thread of the server is stopped: a thread in uninterruptible sleep (disk
   * I/O on a busy machine) stops only once it leaves it, and could answer a query meanwhile.
   */
  const freeze = async (name: string) => {
    const pid = s.cluster.pid(name) as number;
    process.kill(pid, 'SIGSTOP');
    frozen.push(name);
    const deadline = Date.now() + 10_000;
    while (!allThreadsStopped(pid)) {
      if (Date.now() > deadline)
        throw new Error(`${name} (pid ${pid}) has threads still running 10 s after SIGSTOP`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const thaw = () => {
    for (const name of frozen.splice(0)) process.kill(s.cluster.pid(name) as number, 'SIGCONT');
  };

  beforeAll(async () => {
    s = await startScratchPair({ mysql: { connectTimeout: '2s', statementTimeout: '3s' } });
  });
  afterAll(async () => {
    if (s) thaw();
    await s?.destroy();
  });

  it('status reads, fence, promote and catch-up fail within their timeouts; all works again once it answers', async () => {
    // Every server has pooled connections: the frozen one is met mid-conversation, not only at connect.
    expect((await s.act('mysqlServerStatuses', { pair: s.pair })).every((x) => x.reachable)).toBe(true);
    try {
      await freeze(RBX1);

      const all = await timed(s.act('mysqlServerStatuses', { pair: s.pair }), STEP_BOUND_MS);
      expect(all).toMatchObject({ ended: 'resolved' });
      expect(all.ms).toBeLessThan(STEP_BOUND_MS);
      const statuses = all.ended === 'resolved' ? all.value : [];
      expect(statuses.find((x) => x.server === RBX1)).toMatchObject({
        reachable: false,
        error: { type: 'MysqlTimeout' },
      });
      expect(statuses.filter((x) => x.server !== RBX1).every((x) => x.reachable)).toBe(true);

      const one = await timed(s.act('mysqlServerStatus', { pair: s.pair, server: RBX1 }), STEP_BOUND_MS);
      expect(one).toMatchObject({
        ended: 'resolved',
        value: { reachable: false, error: { type: 'MysqlTimeout' } },
      });
      expect(one.ms).toBeLessThan(STEP_BOUND_MS);

      const steps: Record<string, Promise<unknown>> = {
        catchUp: s.act('mysqlCatchUp', { pair: s.pair, server: RBX1, untilServer: GRA }),
        promote: s.act('mysqlPromote', { pair: s.pair, server: RBX1 }),
        fence: s.act('mysqlFence', { pair: s.pair, server: RBX1 }),
        catchUpFromFrozen: s.act('mysqlCatchUp', { pair: s.pair, server: RBX2, untilServer: RBX1 }),
      };
      for (const [step, call] of Object.entries(steps)) {
        const ended = await timed(call, STEP_BOUND_MS);
        expect(ended, step).toMatchObject({ ended: 'rejected', error: { type: 'MysqlTimeout' } });
        expect(ended.ms, step).toBeLessThan(STEP_BOUND_MS);
      }

      // The primary frozen in the middle of a fence: the fence fails (typed, in time); it is not fenced.
      await freeze(GRA);
      const fence = await timed(s.act('mysqlFence', { pair: s.pair, server: GRA }), STEP_BOUND_MS);
      expect(fence).toMatchObject({ ended: 'rejected', error: { type: 'MysqlTimeout' } });
      expect(fence.ms).toBeLessThan(STEP_BOUND_MS);
    } finally {
      thaw();
    }

    const deadline = Date.now() + 20_000;
    let back: { reachable: boolean }[] = [];
    while (Date.now() < deadline) {
      back = await s.act('mysqlServerStatuses', { pair: s.pair });
      if (back.every((x) => x.reachable)) break;
    }
    expect(back.every((x) => x.reachable)).toBe(true);
    expect(await s.cluster.checkReplication()).toBe('row written on db-gra-1 read on db-rbx-1, db-rbx-2');
  });
});
