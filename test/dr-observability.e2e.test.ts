/**
 * Notifications and DR metrics end to end, on a scratch DR pair and a real worker: a readiness check sets the pair's
 * gauges on the worker's /metrics, and a replica whose replication is stopped changes them at the next check; a
 * planned failover's notifications reach a webhook receiver in order, with no secret, and its figures reach /metrics.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationMessage } from '../activities/notifications';
import { startWebhookReceiver, type WebhookReceiver } from '../dev/webhook-receiver/server';
import { startDrill } from '../client/drill';
import { readinessCheck } from '../workflows';
import { COMPLETED_RUN_PHASES } from '../workflows/definitions';
import type { ReadinessReport } from '../workflows/readiness';
import { historyText, reportApprovingEachQuestion, startPairFailover } from './helpers/failover-e2e';
import { pairWithWorker } from './helpers/pair-with-worker';

/** Each sample of the exposition text whose name is `name`, by its label set as written. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

/** The value of `name` whose labels include each of `labels`; undefined when there is none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const [set, value] of samples(text, name))
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) return value;
  return undefined;
}

describe('notifications and DR metrics (scratch DR pair, real worker)', () => {
  let receiver: WebhookReceiver;
  const token = randomBytes(18).toString('base64url');
  const secrets = mkdtempSync(path.join(os.tmpdir(), 'dr-observability-'));
  const hookFile = path.join(secrets, 'hook.url');

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ port: 0, token });
    writeFileSync(hookFile, `${receiver.hookUrl}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await receiver?.close();
    rmSync(secrets, { recursive: true, force: true });
  });
  const t = pairWithWorker('dr-observability', {
    edit: (runbook) => {
      runbook.notifications = { webhooks: [{ name: 'receiver', url: `file:${hookFile}` }] };
    },
  });

  const metrics = async () => (await fetch(`http://127.0.0.1:${t.worker.metricsPort}/metrics`)).text();

  async function readiness(): Promise<ReadinessReport> {
    return t.client.workflow.execute(readinessCheck, {
      args: [{ pair: t.pair.pair, trigger: 'test' }],
      taskQueue: t.taskQueue,
      workflowId: `dr-metrics-readiness-${t.pair.pair}-${Date.now()}`,
    });
  }

  /** The exposition text once the gauge of the check that ended at `finishedAt` is there (bounded wait). */
  async function metricsAfter(report: ReadinessReport): Promise<string> {
    const checkedAt = Date.parse(report.finishedAt) / 1000;
    for (let i = 0; i < 100; i++) {
      const text = await metrics();
      const at = sample(text, 'dr_readiness_last_check_timestamp_seconds', { pair: t.pair.pair });
      if (at !== undefined && Math.abs(at - checkedAt) < 0.01) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the worker's /metrics never showed the check that ended at ${report.finishedAt}`);
  }

  it('a readiness check sets the gauges, and a replica that stops replicating changes them at the next', async () => {
    const p = { pair: t.pair.pair };
    const before = await metrics();
    expect(sample(before, 'dr_pair_info', p)).toBe(1);
    expect(sample(before, 'dr_standby_ready', p)).toBeUndefined();

    const ready = await readiness();
    expect(ready.ready).toBe(true);
    const first = await metricsAfter(ready);
    expect(sample(first, 'dr_standby_ready', p)).toBe(1);
    expect(sample(first, 'dr_readiness_failing_checks', p)).toBe(0);
    expect(sample(first, 'dr_readiness_last_ready_timestamp_seconds', p)).toBe(
      Date.parse(ready.finishedAt) / 1000,
    );
    for (const server of ['db-rbx-1', 'db-rbx-2']) {
      expect(sample(first, 'dr_mysql_replica_replicating', { ...p, server })).toBe(1);
      expect(sample(first, 'dr_mysql_replica_lag_seconds', { ...p, server })).toBe(0);
    }
    expect(sample(first, 'dr_mysql_replica_replicating', { ...p, server: 'db-gra-1' })).toBeUndefined();
    expect(sample(first, 'dr_mysql_max_lag_seconds', p)).toBeGreaterThan(0);
    expect(sample(first, 'dr_traffic_target', { ...p, site: 'gra' })).toBe(1);
    expect(sample(first, 'dr_traffic_target', { ...p, site: 'rbx' })).toBe(0);
    expect(sample(first, 'dr_es_follower_lag_operations', { ...p, index: 'orders' })).toBe(0);

    await t.pair.cluster.sql('db-rbx-1', 'STOP SLAVE');
    const notReady = await readiness();
    expect(notReady.ready).toBe(false);
    const second = await metricsAfter(notReady);
    expect(sample(second, 'dr_standby_ready', p)).toBe(0);
    expect(sample(second, 'dr_readiness_failing_checks', p)).toBeGreaterThan(0);
    expect(sample(second, 'dr_mysql_replica_replicating', { ...p, server: 'db-rbx-1' })).toBe(0);
    expect(sample(second, 'dr_mysql_replica_lag_seconds', { ...p, server: 'db-rbx-1' })).toBeNaN();
    expect(sample(second, 'dr_mysql_replica_replicating', { ...p, server: 'db-rbx-2' })).toBe(1);
    // The last time it was ready stays that of the first check: the alert rules compare the two.
    expect(sample(second, 'dr_readiness_last_ready_timestamp_seconds', p)).toBe(
      Date.parse(ready.finishedAt) / 1000,
    );
    expect(sample(second, 'dr_readiness_last_check_timestamp_seconds', p)).toBeGreaterThan(
      Date.parse(ready.finishedAt) / 1000,
    );
  });

  it('a planned failover: its notifications arrive in order with no secret, its figures reach /metrics', async () => {
    await t.pair.cluster.sql('db-rbx-1', 'START SLAVE');
    const handle = await startPairFailover(t.client, t.pair.pair, 'planned', t.taskQueue, t.runs);
    const report = await reportApprovingEachQuestion(handle, 'end-to-end test of notifications');
    expect(report.outcome).toBe('completed');
    const { runId } = t.runs[0]!;
    const messages = receiver
      .received()
      .map((r) => r.message as NotificationMessage)
      .filter((m) => m.run.runId === runId);
    const events = messages.map((m) => (m.event === 'phase' ? m.phase : m.event));
    expect(events).toEqual([
      ...COMPLETED_RUN_PHASES.slice(0, 3),
      'approval',
      ...COMPLETED_RUN_PHASES.slice(3),
      'end',
    ]);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    expect(messages.at(-1)).toMatchObject({
      outcome: 'completed',
      rto: report.rto,
      workflowType: 'failover',
    });
    expect(messages.find((m) => m.event === 'approval')?.question?.commands[0]).toBe(
      `drctl approve ${t.pair.pair} --question q1 --reason '…'`,
    );
    expect(report.notifications).toEqual({ events: messages.length, undelivered: [] });
    expect(JSON.stringify(messages)).not.toContain(token);
    expect(await historyText(t.client, t.runs[0]!)).not.toContain(token);

    const labels = { pair: t.pair.pair, type: 'failover' };
    let text = '';
    for (let i = 0; i < 100 && sample(text, 'dr_moves_total', labels) === undefined; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      text = await metrics();
    }
    expect(sample(text, 'dr_moves_total', { ...labels, mode: 'planned', outcome: 'completed' })).toBe(1);
    expect(sample(text, 'dr_last_move_rto_seconds', labels)).toBe(report.rto.fromStartMs / 1000);
    const outage = sample(text, 'dr_last_move_write_outage_seconds', labels)!;
    expect(outage).toBeGreaterThan(0);
    expect(outage).toBeLessThan(report.rto.fromStartMs / 1000);
    expect(sample(text, 'dr_last_move_timestamp_seconds', labels)).toBe(Date.parse(report.finishedAt) / 1000);
  });

  it("a drill's end reaches /metrics: when it ended and whether it succeeded", async () => {
    const handle = await startDrill(
      t.client,
      { pair: t.pair.pair, mode: 'readiness', trigger: 'test', requestedBy: 'dr-observability test' },
      t.taskQueue,
    );
    const report = await handle.result();
    const labels = { pair: t.pair.pair };
    let text = '';
    for (let i = 0; i < 100 && sample(text, 'dr_last_drill_timestamp_seconds', labels) === undefined; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      text = await metrics();
    }
    const endedAt = sample(text, 'dr_last_drill_timestamp_seconds', labels)!;
    expect(endedAt).toBeGreaterThanOrEqual(Date.parse(report.startedAt) / 1000);
    expect(sample(text, 'dr_last_drill_success', labels)).toBe(report.outcome === 'passed' ? 1 : 0);
    expect(sample(text, 'dr_drills_total', { ...labels, mode: 'readiness', outcome: report.outcome })).toBe(
      1,
    );
  });
});
