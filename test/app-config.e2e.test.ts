/**
 * End to end (a scratch DR pair whose apps read their database endpoint from a file the runbook renders from a
 * template; the real worker as a process; the shared Temporal dev server): the runbook lists db-rbx-2 first among
 * rbx's servers, so the planned failover promotes db-rbx-2, not db-rbx-1, the server rbx's app was started on. The
 * failover points the app at db-rbx-2 before it takes traffic, and no write acknowledged through the public entry
 * point is lost; the failback brings gra's app to the gra primary. Checked on the apps, the files and the writes the
 * client saw acknowledged. The same pair with a `fixed` endpoint known to reach db-rbx-1 is refused at its plan.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { FrontendWriteLoad } from '../dev/write-load';
import { waitUntil } from './helpers/apps-traffic';
import { reportWithin, startPairFailback, startPairFailover } from './helpers/failover-e2e';
import { testTaskQueue } from './helpers/local-stack';
import { startWorkerProcess, type Site } from './helpers/scratch-dr-pair';
import { takeTurns } from './helpers/turns';
import { pairWithWorker } from './helpers/pair-with-worker';

// Offers a write rate it asserts: never alongside another such load, which would starve it of CPU.
takeTurns('write-load', 'exclusive');

const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since);

describe('application configuration follows the promotion, end to end (scratch DR pair, template)', () => {
  const t = pairWithWorker('e2e-app-config', {
    appConfig: 'template',
    edit: (runbook) => {
      // db-rbx-2 first: a planned move promotes the first fit replica in the runbook's order.
      const servers = runbook.mysql.servers;
      const rbx2 = servers.findIndex((s) => s.name === 'db-rbx-2');
      servers.splice(1, 0, ...servers.splice(rbx2, 1));
    },
    autoApprove: true,
  });
  const endpointFile = (site: Site) => `${t.pair.dir}/${site}/perl-app/${site}/db-endpoint.env`;
  const health = async (site: Site) =>
    (await (await fetch(t.pair.appUrl(site))).json()) as { status: string; db_read_only?: boolean };

  it('with a fixed endpoint known to reach db-rbx-1 instead, the same failover is refused at its plan and changes nothing', async () => {
    const doc = parse(readFileSync(t.pair.runbookPath, 'utf8')) as {
      apps: { hosts: { site: string; config?: unknown }[] };
    };
    for (const host of doc.apps.hosts)
      host.config = { kind: 'fixed', database: host.site === 'rbx' ? 'db-rbx-1' : 'db-gra-1' };
    const fixedRunbook = `${t.pair.dir}/fixed.yaml`;
    writeFileSync(fixedRunbook, stringify(doc));
    const fixedQueue = testTaskQueue('e2e-app-config-fixed');
    const fixedWorker = await startWorkerProcess({ runbookPath: fixedRunbook, taskQueue: fixedQueue });
    try {
      const before = await t.pair.snapshot();
      const report = await reportWithin(
        await startPairFailover(t.client, t.pair.pair, 'planned', fixedQueue, t.runs),
      );
      expect(report.outcome).toBe('refused');
      expect(report.sentence).toMatch(
        /AppEndpointMismatch: app-rbx-1's fixed endpoint reaches db-rbx-1 \(its config\.database\), but the plan promotes db-rbx-2/,
      );
      expect(await t.pair.snapshot()).toEqual(before);
    } finally {
      await fixedWorker.stop();
    }
  }, 120_000);

  it('the failover promotes db-rbx-2 and points rbx’s app at it before the switch; the failback brings gra’s app to db-gra-1; no acknowledged write is lost', async () => {
    const rbx1 = t.pair.cluster.instance('db-rbx-1').port;
    const rbx2 = t.pair.cluster.instance('db-rbx-2').port;
    expect(readFileSync(endpointFile('rbx'), 'utf8')).toBe(`DB_HOST=127.0.0.1\nDB_PORT=${rbx1}\n`);
    expect(await health('rbx')).toMatchObject({ status: 'ok', db_read_only: true });

    const load = t.pair.writeLoad({ ratePerSecond: 100, maxInFlight: 500, requestTimeoutMs: 10_000 });
    load.start();
    await waitUntil('gra acknowledges writes', async () => acknowledgedBy(load, 'gra').length >= 50);

    const failover = await reportWithin(
      await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs),
      90_000,
    );
    expect(failover.outcome).toBe('completed');
    const step = (id: string) => failover.steps.find((s) => s.id === id);
    expect(step('mysql.promote')).toMatchObject({ target: 'db-rbx-2', state: 'done' });
    expect(step('apps.config.app-rbx-1')).toMatchObject({ phase: 'warm-up', state: 'done' });
    expect(step('apps.config.app-rbx-1')?.sentence).toMatch(/now points the app at db-rbx-2/);
    // Configured before the app was probed inside the window, and before the promotion and the switch.
    const ended = (id: string) => Date.parse(step(id)!.endedAt!);
    const started = (id: string) => Date.parse(step(id)!.startedAt!);
    expect(ended('apps.config.app-rbx-1')).toBeLessThanOrEqual(started('mysql.promote'));
    expect(ended('apps.config.app-rbx-1')).toBeLessThanOrEqual(started('traffic.switch'));
    expect(failover.decisions.map((d) => d.sentence).join('\n')).toMatch(
      /app-rbx-1's file \S+db-endpoint\.env is pointed at db-rbx-2 in the warm-up, before the app starts/,
    );
    expect(readFileSync(endpointFile('rbx'), 'utf8')).toBe(
      `# Written by the orchestrator for db-rbx-2\nDB_HOST=127.0.0.1\nDB_PORT=${rbx2}\n`,
    );
    expect(await health('rbx')).toMatchObject({ status: 'ok', db_read_only: false });

    const failedOverAt = Date.now();
    await waitUntil(
      'rbx acknowledges writes',
      async () => acknowledgedBy(load, 'rbx', failedOverAt).length >= 50,
    );
    // Every write acknowledged so far is on db-rbx-2, the server the rbx app now writes to.
    const onRbx2 = await load.verify('db-rbx-2');
    expect(onRbx2.lost).toEqual([]);

    const failback = await reportWithin(
      await startPairFailback(t.client, t.pair.pair, 'full', t.taskQueue, t.runs),
      120_000,
    );
    expect(failback.outcome).toBe('completed');
    const gra = failback.steps.find((s) => s.id === 'apps.config.app-gra-1');
    expect(gra).toMatchObject({ state: 'done' });
    expect(gra?.sentence).toMatch(/now points the app at db-gra-1/);
    expect(readFileSync(endpointFile('gra'), 'utf8')).toMatch(
      /^# Written by the orchestrator for db-gra-1\n/,
    );
    expect(await health('gra')).toMatchObject({ status: 'ok', db_read_only: false });
    // rbx's app stays on db-rbx-2, a read-only replica again: it refuses writes, and gets no traffic.
    expect(await health('rbx')).toMatchObject({ status: 'ok', db_read_only: true });

    const failedBackAt = Date.now();
    await waitUntil(
      'gra acknowledges writes again',
      async () => acknowledgedBy(load, 'gra', failedBackAt).length >= 50,
    );
    const summary = await load.stop();
    const verification = await load.verify('db-gra-1');
    expect(verification.lost).toEqual([]);
    expect(verification.acknowledged).toBe(summary.acknowledged);
  }, 300_000);
});
