/**
 * Alert-triggered failover end to end, on a scratch DR pair with a worker of its own and its own real Prometheus
 * (Debian's), Alertmanager (Debian's) and the orchestrator's receiver as a process, all on free ports, with short
 * timings: the primary site breaks, Prometheus' probe of it fails, the alert goes through Alertmanager to the receiver,
 * and exactly one failover of the pair starts; a hundred more deliveries of the alert join it; the site comes back,
 * and the resolved notification reaches the run's pending approval.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertTimings } from '../dev/stack/services/alerting-settings';
import { appctl } from '../dev/stack/services/perl-app';
import { DrTrigger, fenceWatchWorkflowId, pairMoveWorkflowId } from '../workflows/definitions';
import {
  alertPorts,
  alertRules,
  startAlertPath,
  type AlertPath,
  type AlertPorts,
} from './helpers/alert-path';
import { firingAlert, webhookMessage } from './helpers/alertmanager-messages';
import { waitUntil } from './helpers/apps-traffic';
import { waitForStatus } from './helpers/failover-e2e';
import { pairWithWorker } from './helpers/pair-with-worker';
import { readFileSync } from 'node:fs';

/** Seconds, not the stack's minutes: every alert condition counts at once, notifications leave within a second. */
const TEST_TIMINGS: AlertTimings = {
  scrapeInterval: '1s',
  evaluationInterval: '1s',
  alertFor: '0s',
  groupWait: '1s',
  groupInterval: '1s',
  repeatInterval: '1h',
};

describe('alert-triggered failover end to end (real Prometheus and Alertmanager)', () => {
  let ports: AlertPorts;
  let alertPath: AlertPath | undefined;

  beforeAll(async () => {
    ports = await alertPorts();
  });
  const t = pairWithWorker('e2e-alerts', {
    approvalTimeout: '10m',
    edit: (runbook) => alertRules(ports.receiver)(runbook),
  });
  beforeAll(async () => {
    alertPath = await startAlertPath(
      t.pair,
      ports,
      { taskQueue: t.taskQueue, metricsPort: t.worker.metricsPort },
      () => undefined,
      TEST_TIMINGS,
    );
  }, 240_000);

  afterAll(async () => {
    if (t.pair)
      for (const id of [pairMoveWorkflowId(t.pair.pair), fenceWatchWorkflowId(t.pair.pair)])
        await t.client?.workflow
          .getHandle(id)
          .terminate('the test is over')
          .catch(() => undefined);
    await alertPath?.stop();
  });

  /** The receiver's log lines, parsed. */
  const receiverLines = () =>
    readFileSync(alertPath!.receiverLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { message: string; pair?: string; status?: number });

  const moveExists = () =>
    t.client.workflow
      .getHandle(pairMoveWorkflowId(t.pair.pair))
      .describe()
      .then(
        () => true,
        () => false,
      );

  it('breaking the primary fires the alert through Alertmanager, and exactly one failover of the pair starts', async () => {
    await waitUntil(
      'Prometheus scrapes the primary site and the worker',
      async () =>
        (await alertPath!.promValue(`up{job="dr-primary-site",pair="${t.pair.pair}"}`)) === '1' &&
        (await alertPath!.promValue('up{job="dr-worker"}')) === '1',
      30_000,
    );
    expect(await alertPath!.promValue(`dr_app_database_up{job="dr-primary-site"}`)).toBe('1');
    expect(await moveExists()).toBe(false);

    await t.pair.killPrimarySite();
    await waitUntil('the alert starts a move of the pair', moveExists, 60_000);
    const handle = t.client.workflow.getHandle(pairMoveWorkflowId(t.pair.pair));
    const description = await handle.describe();
    expect(description.type).toBe('failover');
    expect(description.typedSearchAttributes.get(DrTrigger)).toBe('alertmanager');
    const pending = await waitForStatus(
      handle,
      'approval pending',
      (s) => s.pending?.kind === 'approval',
      60_000,
    );
    expect(pending.pending!.question).toMatch(
      new RegExp(`^unplanned failover of ${t.pair.pair} from gra to rbx`),
    );

    // Every delivery Alertmanager made was answered 2xx and named this one run.
    const accepted = receiverLines().filter((l) => /asks for the unplanned failover/.test(l.message));
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    for (const line of accepted) expect(line.message).toContain(`run ${description.runId}`);
    expect(receiverLines().filter((l) => (l.status ?? 200) >= 300)).toEqual([]);
    // Visibility lags the start a little: wait until it lists the run, then it must list that run only.
    const runs: string[] = [];
    await waitUntil(
      'Temporal lists the move of the pair',
      async () => {
        runs.length = 0;
        const query = `WorkflowId = "${pairMoveWorkflowId(t.pair.pair)}"`;
        for await (const run of t.client.workflow.list({ query })) runs.push(run.runId);
        return runs.length > 0;
      },
      20_000,
    );
    expect(runs).toEqual([description.runId]);
  }, 150_000);

  it('100 concurrent deliveries of the same alert give that one run', async () => {
    const { runId } = await t.client.workflow.getHandle(pairMoveWorkflowId(t.pair.pair)).describe();
    const alert = firingAlert({
      alertname: 'DrPrimarySiteDown',
      pair: t.pair.pair,
      site: 'gra',
      job: 'dr-primary-site',
    });
    const token = readFileSync(alertPath!.tokenFile, 'utf8').trim();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(`http://127.0.0.1:${ports.receiver}/alerts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(webhookMessage([alert])),
        }).then(async (res) => ({
          status: res.status,
          body: (await res.json()) as { outcomes: { runId: string }[] },
        })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(new Set(answers.map((a) => a.body.outcomes[0]!.runId))).toEqual(new Set([runId]));
    expect((await t.client.workflow.getHandle(pairMoveWorkflowId(t.pair.pair)).describe()).runId).toBe(runId);
  }, 60_000);

  it('the primary site comes back: Alertmanager sends resolved, and the pending approval says the primary recovered', async () => {
    await t.pair.revivePrimarySite();
    await appctl('start', 'gra', path.join(t.pair.dir, 'gra'));
    const handle = t.client.workflow.getHandle(pairMoveWorkflowId(t.pair.pair));
    const status = await waitForStatus(
      handle,
      'the primary recovered',
      (s) => s.primaryRecovered !== undefined,
      90_000,
    );
    expect(status.primaryRecovered!.alerts[0]).toMatch(/^DrPrimarySiteDown \([0-9a-f]+\)$/);
    expect(status.pending?.kind).toBe('approval');
    expect(status.pending!.question).toMatch(
      / — the primary site looks recovered: Alertmanager says DrPrimarySiteDown/,
    );
    expect(receiverLines().some((l) => /has resolved: told the running failover/.test(l.message))).toBe(true);
  }, 120_000);
});
