/**
 * The MySQL switch delegated to MHA, end to end: a scratch DR pair whose runbook sets `mysql.delegate` (Debian's
 * mha4mysql-manager, run by the real worker process), a planned failover then a full failback under writes through
 * the public entry point. Checked on the systems and on the writes the client saw acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MHA_PERL_ENV, writeMhaConfig } from '../dev/mha/config';
import { ensureDebianPackages, STACK_PACKAGES } from '../dev/tools/debian-packages';
import { waitUntil } from './helpers/apps-traffic';
import { reportWithin, startPairFailback, startPairFailover } from './helpers/failover-e2e';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

takeTurns('write-load', 'exclusive');

const SERVERS = ['db-gra-1', 'db-rbx-1', 'db-rbx-2'];

describe('MySQL delegated to MHA, end to end on a scratch DR pair', () => {
  let mhaDir: string;
  beforeAll(() => {
    ensureDebianPackages(STACK_PACKAGES.filter((p) => p.pkg.startsWith('mha4mysql-')));
    mhaDir = mkdtempSync(path.join(os.tmpdir(), 'dr-e2e-mha-'));
  });
  afterAll(() => {
    if (mhaDir) rmSync(mhaDir, { recursive: true, force: true });
  });
  const t = pairWithWorker('e2e-mha', {
    autoApprove: true,
    edit: (runbook) => {
      runbook.mysql = {
        ...runbook.mysql!,
        delegate: { tool: 'mha', config: path.join(mhaDir, 'mha.cnf'), env: MHA_PERL_ENV, timeout: '2m' },
      };
    },
  });
  // Read by MHA when the step runs: the servers' ports are known once the pair is up.
  beforeAll(() => {
    writeMhaConfig(t.pair.cluster, mhaDir, SERVERS, []);
  });

  it('planned failover then failback, MHA switching MySQL each way: no acknowledged write lost, the pair back as before', async () => {
    const before = await t.pair.snapshot();
    const load = t.pair.writeLoad({ ratePerSecond: 100 });
    load.start();
    const acknowledgedBy = (site: string, since: number) =>
      load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since).length;
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy('gra', 0) >= 50);

    const failover = await reportWithin(
      await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
    );
    expect(failover.outcome).toBe('completed');
    const mhaStep = failover.steps.find((s) => s.id === 'mysql.mha-switch');
    expect(mhaStep).toMatchObject({ state: 'done', phase: 'promote' });
    expect(mhaStep?.sentence).toMatch(
      /^MHA switched MySQL from db-gra-1 to db-rbx-1: Switching master to .* completed successfully\./,
    );
    expect(failover.steps.map((s) => s.id)).not.toContain('mysql.promote');
    const failedOverAt = Date.now();
    await waitUntil('rbx acknowledges writes', async () => acknowledgedBy('rbx', failedOverAt) >= 50);
    const onRbx = await t.pair.snapshot();
    expect(onRbx.mysql).toMatchObject({
      'db-rbx-1': { readOnly: false, replicatesFrom: null },
      'db-gra-1': { readOnly: true, replicatesFrom: 'db-rbx-1', ioRunning: 'Yes', sqlRunning: 'Yes' },
      'db-rbx-2': { readOnly: true, replicatesFrom: 'db-rbx-1', ioRunning: 'Yes', sqlRunning: 'Yes' },
    });

    const failback = await reportWithin(
      await startPairFailback(t.client, t.pair.pair, 'full', t.taskQueue, t.runs),
      180_000,
    );
    expect(failback.outcome).toBe('completed');
    expect(failback.steps.find((s) => s.id === 'mysql.mha-switch')?.sentence).toMatch(
      /^MHA switched MySQL from db-rbx-1 to db-gra-1: /,
    );
    const failedBackAt = Date.now();
    await waitUntil('gra acknowledges writes again', async () => acknowledgedBy('gra', failedBackAt) >= 50);
    const summary = await load.stop();
    const verification = await load.verify('db-gra-1');
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);
    expect((await t.pair.snapshot()).mysql).toEqual(before.mysql);
  }, 360_000);
});
