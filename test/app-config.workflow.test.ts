/**
 * The application configuration that follows the promotion (`apps.hosts[].config`), on the time-skipping test server
 * with the activities replaced by the in-memory pair (test/helpers/fake-pair.ts) and an in-memory configuration per
 * app: every branch of the apps' plan (no config, fixed with and without a known server, template, OVH DNS), the
 * order (configured before the app starts, in the warm-up), the compensation, a refusal, and the failback.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Activities } from '../activities';
import type { AppConfigSettings, PairSettings } from '../activities/pair-settings';
import { failback, failover, readinessCheck } from '../workflows';
import {
  approveUpdate,
  pairMoveWorkflowId,
  statusQuery,
  type FailbackInput,
  type FailoverInput,
} from '../workflows/definitions';
import { answer } from './helpers/answers';
import { failedOverState, FakePair, fakeSettings } from './helpers/fake-pair';
import { testWorkflowBundle } from './helpers/local-stack';
import { timeSkippingWorker } from './helpers/time-skipping';
import { recordHistory } from './helpers/histories';

/** Each app's configuration: the server it points at (undefined: none the runbook renders). */
class FakeConfigs {
  pointsAt: Record<string, string | undefined> = { 'app-gra-1': 'db-gra-1', 'app-rbx-1': 'db-rbx-1' };
  /** What each app pointed at before the run first changed it (a template's kept content). */
  kept: Record<string, string | undefined> = {};
  failures: Partial<Record<'appConfigRead' | 'appConfigApply' | 'appConfigRestore', string>> = {};
  /** How many more calls of appConfigApply fail with a retryable failure (an SSH server not answering, say). */
  retryableApplyFailures = 0;

  constructor(private readonly pair: FakePair) {}

  private enter(name: keyof FakeConfigs['failures'], detail: string): void {
    this.pair.calls.push(`${name} ${detail}`);
    const message = this.failures[name];
    if (message) throw ApplicationFailure.create({ type: 'InjectedFault', message, nonRetryable: true });
  }

  activities(): Partial<Activities> {
    const kind = (host: string) =>
      this.pair.settings.apps.find((h) => h.name === host)!.config!.kind as 'template' | 'ovh-dns';
    const result = (host: string, changed: boolean, server: string | undefined, description: string) => ({
      host,
      kind: kind(host),
      ...(server ? { server } : {}),
      changed,
      reloaded: false,
      steps: [description],
      description,
    });
    return {
      appConfigRead: async ({ host }: { host: string }) => {
        this.enter('appConfigRead', host);
        const pointsAt = this.pointsAt[host];
        return {
          host,
          kind: kind(host),
          ...(pointsAt ? { pointsAt } : {}),
          description: `${host} points at ${pointsAt ?? 'no known server'}.`,
        };
      },
      appConfigApply: async ({ host, server }: { host: string; server: string }) => {
        this.enter('appConfigApply', `${host} ${server}`);
        if (this.retryableApplyFailures-- > 0)
          throw ApplicationFailure.create({
            type: 'SshUnreachable',
            message: 'cannot connect: ECONNREFUSED',
          });
        if (!(host in this.kept)) this.kept[host] = this.pointsAt[host];
        const changed = this.pointsAt[host] !== server;
        this.pointsAt[host] = server;
        return result(
          host,
          changed,
          server,
          `${host} ${changed ? 'now points' : 'already pointed'} at ${server}.`,
        );
      },
      appConfigRestore: async ({ host, server }: { host: string; server?: string }) => {
        this.enter('appConfigRestore', `${host}${server ? ` ${server}` : ''}`);
        const back = kind(host) === 'template' ? this.kept[host] : server;
        this.pointsAt[host] = back;
        return result(host, true, back, `${host} points back at ${back}.`);
      },
    } as unknown as Partial<Activities>;
  }
}

let pair: FakePair;
let configs: FakeConfigs;

const CONFIG_ACTIVITIES = ['appConfigRead', 'appConfigApply', 'appConfigRestore'] as const;

function delegatingActivities(): Partial<Activities> {
  const fake = new FakePair();
  const names = [
    ...Object.keys(fake.activities()),
    ...Object.keys(new FakeConfigs(fake).activities()),
  ] as (keyof Activities)[];
  return Object.fromEntries(
    names.map((name) => [
      name,
      (...args: unknown[]) => {
        const from = (CONFIG_ACTIVITIES as readonly string[]).includes(name) ? configs : pair;
        return (from.activities()[name] as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as Partial<Activities>;
}

const ts = timeSkippingWorker(
  'app-config-wf',
  () => ({ workflowBundle: { codePath: testWorkflowBundle() } }),
  delegatingActivities(),
);

/** The fake pair with db-rbx-2 listed first (so the plan promotes it) and these apps' configs. */
function pairWith(config: { gra?: AppConfigSettings; rbx?: AppConfigSettings }): FakePair {
  const base = fakeSettings();
  const [gra, rbx1, rbx2] = base.mysql.servers;
  const settings: PairSettings = {
    ...base,
    mysql: { ...base.mysql, servers: [gra!, rbx2!, rbx1!] },
    apps: [
      { name: 'app-gra-1', site: 'gra', ...(config.gra ? { config: config.gra } : {}) },
      { name: 'app-rbx-1', site: 'rbx', ...(config.rbx ? { config: config.rbx } : {}) },
    ],
  };
  pair = new FakePair(settings);
  configs = new FakeConfigs(pair);
  return pair;
}

const TEMPLATE: AppConfigSettings = { kind: 'template', path: '/etc/app/db.env', reload: false };
const DNS: AppConfigSettings = { kind: 'ovh-dns', record: 'db-rbx.example.test A' };

async function runFailover(overrides: Partial<FailoverInput> = {}) {
  const input: FailoverInput = {
    pair: 'fake',
    mode: 'planned',
    trigger: 'test',
    reason: 'test run',
    requestedBy: 'tester',
    ...overrides,
  };
  const handle = await ts.env.client.workflow.start(failover, {
    args: [input],
    taskQueue: ts.taskQueue,
    workflowId: pairMoveWorkflowId('fake'),
  });
  return handle.result();
}

const configCalls = () => pair.calls.filter((c) => c.startsWith('appConfig'));
const decisions = (report: Awaited<ReturnType<typeof runFailover>>) =>
  report.decisions.map((d) => d.sentence).join('\n');

describe('application configuration follows the promotion (time-skipping, in-memory pair)', () => {
  afterEach(() => {
    pair = new FakePair();
  });

  it('without a config in the runbook: no configuration call and no configuration step, as before the setting', async () => {
    pairWith({});
    const report = await runFailover();
    expect(report.outcome).toBe('completed');
    expect(configCalls()).toEqual([]);
    expect(report.steps.filter((s) => s.id.startsWith('apps.config')).length).toBe(0);
    expect(pair.calls).toContain('mysqlPromote db-rbx-2');
    // Said, not done: the plan names its assumption.
    expect(decisions(report)).toContain(
      'the runbook does not say how app-rbx-1 finds its database: the plan assumes its fixed endpoint reaches db-rbx-2, the server promoted (apps.hosts[].config has it checked or followed).',
    );
  });

  it('template: the standby app is pointed at the promoted db-rbx-2 in the warm-up, before it starts, and the plan says why that is safe', async () => {
    pairWith({ rbx: TEMPLATE });
    const report = await runFailover();
    expect(report.outcome).toBe('completed');
    expect(configCalls()).toEqual(['appConfigRead app-rbx-1', 'appConfigApply app-rbx-1 db-rbx-2']);
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-2');
    const calls = pair.calls;
    expect(calls.indexOf('appConfigApply app-rbx-1 db-rbx-2')).toBeLessThan(
      calls.indexOf('appStart app-rbx-1'),
    );
    expect(calls.indexOf('appStart app-rbx-1')).toBeLessThan(calls.indexOf('mysqlPromote db-rbx-2'));
    expect(calls.indexOf('appConfigApply app-rbx-1 db-rbx-2')).toBeLessThan(
      calls.indexOf('trafficSwitch rbx'),
    );
    expect(report.steps.find((s) => s.id === 'apps.config.app-rbx-1')).toMatchObject({
      phase: 'warm-up',
      state: 'done',
      title: "point app-rbx-1's file /etc/app/db.env at db-rbx-2",
      compensation: 'put back what /etc/app/db.env held before',
      sentence: 'app-rbx-1 now points at db-rbx-2.',
    });
    expect(decisions(report)).toMatch(
      /app-rbx-1's file \/etc\/app\/db.env is pointed at db-rbx-2 in the warm-up, before the app starts: db-rbx-2 refuses writes until its promotion/,
    );
    expect(report.checks).toContainEqual({
      name: 'app-app-rbx-1.config',
      ok: true,
      sentence: 'app-rbx-1 points at db-rbx-1.',
    });
    // The old site's app is not touched by a failover.
    expect(configCalls().some((c) => c.includes('app-gra-1'))).toBe(false);
  });

  it('template: a fence that fails undoes the start, then puts the file back as it was', async () => {
    pairWith({ rbx: TEMPLATE });
    pair.fail('mysqlFence', { message: 'db-gra-1 refuses' });
    const report = await runFailover();
    expect(report.outcome).toBe('rolled-back');
    expect(configCalls()).toEqual([
      'appConfigRead app-rbx-1',
      'appConfigApply app-rbx-1 db-rbx-2',
      'appConfigRestore app-rbx-1',
    ]);
    expect(pair.calls.indexOf('appStop app-rbx-1')).toBeLessThan(
      pair.calls.indexOf('appConfigRestore app-rbx-1'),
    );
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-1');
    expect(report.steps.find((s) => s.id === 'apps.config.app-rbx-1')?.state).toBe('compensated');
  });

  it('template: a configuration that cannot be written stops the move before the fence and undoes what half happened', async () => {
    pairWith({ rbx: TEMPLATE });
    configs.failures.appConfigApply = 'mv: cannot move: Permission denied';
    const report = await runFailover();
    expect(report.outcome).toBe('rolled-back');
    expect(report.sentence).toMatch(/Permission denied/);
    expect(pair.calls).not.toContain('appStart app-rbx-1');
    expect(pair.calls).not.toContain('mysqlFence db-gra-1');
    expect(configCalls()).toContain('appConfigRestore app-rbx-1');
  });

  it('template: an SSH server that does not answer at first is retried, and the move completes', async () => {
    pairWith({ rbx: TEMPLATE });
    configs.retryableApplyFailures = 2;
    const report = await runFailover();
    expect(report.outcome).toBe('completed');
    expect(configCalls().filter((c) => c.startsWith('appConfigApply'))).toHaveLength(3);
    expect(report.steps.find((s) => s.id === 'apps.config.app-rbx-1')).toMatchObject({
      state: 'done',
      attempts: 1,
    });
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-2');
  });

  it('a configuration that cannot be read refuses the move at the assessment, changing nothing', async () => {
    pairWith({ rbx: TEMPLATE });
    configs.failures.appConfigRead = 'template names {{mysql.user}}, which has no value';
    const report = await runFailover();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(
      /the configuration of standby app app-rbx-1 \(file \/etc\/app\/db.env\) cannot be read: .*mysql.user/,
    );
    expect(pair.changes().filter((c) => !c.startsWith('appConfigRead'))).toEqual([]);
    expect(configCalls()).toEqual(['appConfigRead app-rbx-1']);
  });

  it('ovh-dns: the record is pointed at db-rbx-2; a rejected cut-over points it back at the server it named before', async () => {
    pairWith({ rbx: DNS });
    const handle = await ts.env.client.workflow.start(failover, {
      args: [
        {
          pair: 'fake',
          mode: 'planned',
          trigger: 'test',
          reason: 'test run',
          requestedBy: 'tester',
          holdBeforeFence: true,
        },
      ],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    const report = await handle.result();
    await recordHistory(handle, 'failover-app-config-dns-rolled-back');
    // The auto approval policy approves the plan; the cut-over's go is for humans only and times out (reject).
    expect(report.outcome).toBe('rolled-back');
    expect(configCalls()).toEqual([
      'appConfigRead app-rbx-1',
      'appConfigApply app-rbx-1 db-rbx-2',
      'appConfigRestore app-rbx-1 db-rbx-1',
    ]);
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-1');
    expect(report.steps.find((s) => s.id === 'apps.config.app-rbx-1')).toMatchObject({
      title: "point app-rbx-1's DNS record db-rbx.example.test A at db-rbx-2",
      compensation: 'point the record back at db-rbx-1',
      state: 'compensated',
    });
    expect(decisions(report)).toMatch(/Resolvers may give the previous server until the TTL passes/);
  });

  it('ovh-dns: a record that pointed at no server of the runbook has no compensation, and the plan says so by its absence', async () => {
    pairWith({ rbx: DNS });
    configs.pointsAt['app-rbx-1'] = undefined;
    const report = await runFailover();
    expect(report.outcome).toBe('completed');
    const step = report.steps.find((s) => s.id === 'apps.config.app-rbx-1')!;
    expect(step.compensation).toBeUndefined();
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-2');
  });

  it('fixed, known to reach db-rbx-1 while the plan promotes db-rbx-2: refused at the plan, nothing changed', async () => {
    pairWith({ rbx: { kind: 'fixed', database: 'db-rbx-1' } });
    const report = await runFailover();
    expect(report.outcome).toBe('refused');
    expect(report.sentence).toMatch(
      /no plan can be made: AppEndpointMismatch: app-rbx-1's fixed endpoint reaches db-rbx-1 \(its config.database\), but the plan promotes db-rbx-2: the app would write to a read-only replica\. List db-rbx-1 first/,
    );
    expect(pair.changes()).toEqual([]);
    expect(configCalls()).toEqual([]);
  });

  it('fixed, known to reach the promoted server: the move goes on and the plan says so', async () => {
    pairWith({ rbx: { kind: 'fixed', database: 'db-rbx-2' } });
    const report = await runFailover();
    expect(report.outcome).toBe('completed');
    expect(decisions(report)).toContain("app-rbx-1's fixed endpoint reaches db-rbx-2, the server promoted.");
  });

  it('fixed without a known server: the plan says what it assumes', async () => {
    pairWith({ rbx: { kind: 'fixed' } });
    const report = await runFailover({ mode: 'dry-run' });
    expect(report.outcome).toBe('dry-run');
    expect(decisions(report)).toContain(
      "app-rbx-1's endpoint is fixed and the runbook does not say which server it reaches: the plan assumes it reaches db-rbx-2, the server promoted.",
    );
  });

  it("failback: the primary site's app is brought back to the gra primary in the warm-up, before the promotion; the standby's is left as it is", async () => {
    pairWith({ gra: TEMPLATE, rbx: TEMPLATE });
    pair.state = failedOverState();
    // Failed over to db-rbx-1 (the state's primary); app-gra-1 was pointed elsewhere meanwhile.
    configs.pointsAt = { 'app-gra-1': undefined, 'app-rbx-1': 'db-rbx-1' };
    const input: FailbackInput = {
      pair: 'fake',
      mode: 'full',
      trigger: 'test',
      reason: 'gra is back',
      requestedBy: 'tester',
    };
    const handle = await ts.env.client.workflow.start(failback, {
      args: [input],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(configCalls()).toEqual(['appConfigRead app-gra-1', 'appConfigApply app-gra-1 db-gra-1']);
    expect(configs.pointsAt['app-gra-1']).toBe('db-gra-1');
    expect(pair.calls.indexOf('appConfigApply app-gra-1 db-gra-1')).toBeLessThan(
      pair.calls.indexOf('mysqlPromote db-gra-1'),
    );
  });

  it('readiness: a standby app whose configuration cannot be read makes the pair not ready; one that can is a passing check', async () => {
    pairWith({ rbx: TEMPLATE });
    const check = async () =>
      ts.env.client.workflow.execute(readinessCheck, {
        args: [{ pair: 'fake', trigger: 'test' }],
        taskQueue: ts.taskQueue,
        workflowId: `readiness-app-config-${Date.now()}`,
      });
    const ready = await check();
    expect(ready.checks).toContainEqual({
      name: 'app-app-rbx-1.config',
      ok: true,
      sentence: 'app-rbx-1 points at db-rbx-1.',
    });
    configs.failures.appConfigRead = 'cannot read /etc/app/db.env.tmpl (ENOENT)';
    const notReady = await check();
    expect(notReady.ready).toBe(false);
    expect(notReady.verdict).toMatch(/the configuration of standby app app-rbx-1 cannot be read: .*ENOENT/);
    expect(pair.changes().filter((c) => !c.startsWith('appConfigRead'))).toEqual([]);
  });

  // Last: an unplanned run leaves its old site's watcher running (see failover.workflow.test.ts).
  it('unplanned: the standby app is pointed at the promoted server before it starts, as in a planned move', async () => {
    pairWith({ rbx: TEMPLATE });
    pair.mysqlDown();
    pair.esDown();
    pair.state.apps['app-gra-1'] = false;
    const handle = await ts.env.client.workflow.start(failover, {
      args: [
        { pair: 'fake', mode: 'unplanned', trigger: 'test', reason: 'gra is gone', requestedBy: 'tester' },
      ],
      taskQueue: ts.taskQueue,
      workflowId: pairMoveWorkflowId('fake'),
    });
    // Going on without each fence of the dead site is a human's decision (MySQL's, then Elasticsearch's).
    const answered = new Set<string>();
    for (let i = 0; i < 800 && answered.size < 2; i++) {
      const { pending } = await handle.query(statusQuery);
      if (pending?.kind === 'approval' && !answered.has(pending.id!)) {
        answered.add(pending.id!);
        await answer(handle, approveUpdate, 'oncall', 'gra is powered off');
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    const report = await handle.result();
    expect(report.outcome).toBe('completed');
    expect(pair.calls.indexOf('appConfigApply app-rbx-1 db-rbx-2')).toBeLessThan(
      pair.calls.indexOf('appStart app-rbx-1'),
    );
    expect(pair.calls).toContain('mysqlPromote db-rbx-2');
    expect(configs.pointsAt['app-rbx-1']).toBe('db-rbx-2');
  });
});
