/**
 * The planned failover (gra → rbx) of a scratch pair without Temporal, calling the project's activity functions
 * directly with the inputs the workflow gives them: `sequential` as a hand-written script runs the seed's steps one
 * after the other; `parallel` runs them in the orchestrator's order, warm-up first, independent ones side by side
 * (the critical path the workflow could reach).
 */
import { Client as EsClient } from '@elastic/elasticsearch';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities, createClients, type Activities } from '../activities';
import type { DrillStep } from '../common/drill-report';
import type { ScratchDrPair } from '../test/helpers/scratch-dr-pair';

const PRIMARY = 'db-gra-1';
const CANDIDATE = 'db-rbx-1';
const STANDBY_APP = 'app-rbx-1';

export interface DirectRun {
  ms: number;
  steps: DrillStep[];
  fenceWindow: { from: string; to: string };
  promoted: string;
}

type StepFn = () => Promise<unknown>;
interface Step {
  id: string;
  phase: string;
  title: string;
  run: StepFn;
}

/** The follower indices on rbx (the runbook's and the auto-followed), as a script would list them beforehand. */
async function followerIndices(pair: ScratchDrPair): Promise<string[]> {
  const es = new EsClient({ node: pair.esUrl('rbx'), maxRetries: 0 });
  try {
    return (await es.ccr.followInfo({ index: '_all' })).follower_indices.map((f) => f.follower_index).sort();
  } finally {
    await es.close();
  }
}

function planSteps(activities: Activities, name: string, indices: string[], otherReplicas: string[]) {
  const call = <I>(fn: (input: I) => Promise<unknown>, input: I): StepFn => {
    return () =>
      new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn, input);
  };
  const pair = name;
  const a = activities;
  const step = (id: string, phase: string, title: string, run: StepFn): Step => ({ id, phase, title, run });
  return {
    warmCatchUp: step(
      'mysql.warm-up',
      'warm-up',
      `let ${CANDIDATE} apply what ${PRIMARY} has written so far`,
      call(a.mysqlCatchUp, { pair, server: CANDIDATE, untilServer: PRIMARY }),
    ),
    drain: step(
      'traffic.drain',
      'fence',
      'drain traffic from gra',
      call(a.trafficDrain, { pair, site: 'gra' }),
    ),
    fenceMysql: step(
      'mysql.fence',
      'fence',
      `fence ${PRIMARY}`,
      call(a.mysqlFence, { pair, server: PRIMARY }),
    ),
    fenceEs: step('es.fence', 'fence', 'write block on gra', call(a.esFenceWrites, { pair, site: 'gra' })),
    catchUp: step(
      'mysql.catch-up',
      'prepare',
      `catch up ${CANDIDATE}`,
      call(a.mysqlCatchUp, { pair, server: CANDIDATE, untilServer: PRIMARY }),
    ),
    pauseFollow: step(
      'es.pause',
      'prepare',
      'pause followers',
      call(a.esPauseFollow, { pair, site: 'rbx', indices }),
    ),
    pauseAutoFollow: step(
      'es.auto-follow',
      'prepare',
      'pause auto-follow',
      call(a.esPauseAutoFollow, { pair, site: 'rbx' }),
    ),
    appStart: step(
      'apps.start',
      'prepare',
      `start ${STANDBY_APP}`,
      call(a.appStart, { pair, host: STANDBY_APP }),
    ),
    promote: step(
      'mysql.promote',
      'promote',
      `promote ${CANDIDATE}`,
      call(a.mysqlPromote, { pair, server: CANDIDATE }),
    ),
    promoteEs: step(
      'es.promote',
      'promote',
      'promote followers',
      call(a.esPromoteFollowers, { pair, site: 'rbx', indices }),
    ),
    switch: step(
      'traffic.switch',
      'switch',
      'switch traffic to rbx',
      call(a.trafficSwitch, { pair, site: 'rbx' }),
    ),
    verify: step(
      'traffic.verify',
      'verify',
      'verify traffic on rbx',
      call(a.trafficVerify, { pair, site: 'rbx' }),
    ),
    // The old primary and every other standby replica, to the promoted server.
    repoints: [PRIMARY, ...otherReplicas].map((server) =>
      step(
        `mysql.repoint.${server}`,
        'verify',
        `repoint ${server}`,
        call(a.mysqlRepoint, { pair, server, source: CANDIDATE }),
      ),
    ),
  };
}

/** Runs the planned failover of `pair` directly; `parallel` runs independent steps side by side. */
export async function directFailover(pair: ScratchDrPair, parallel: boolean): Promise<DirectRun> {
  const clients = createClients(pair.runbooks);
  try {
    const otherReplicas = pair.cluster.spec.instances
      .map((i) => i.name)
      .filter((name) => name !== PRIMARY && name !== CANDIDATE);
    const s = planSteps(createActivities(clients), pair.pair, await followerIndices(pair), otherReplicas);
    const records: DrillStep[] = [];
    const timed = async (step: Step) => {
      const startedAt = new Date().toISOString();
      await step.run();
      const endedAt = new Date().toISOString();
      records.push({
        move: 'failover',
        id: step.id,
        title: step.title,
        phase: step.phase,
        state: 'done',
        startedAt,
        endedAt,
      });
    };
    const started = Date.now();
    if (parallel) {
      // The orchestrator's order: what needs nothing fenced before the drain (warm-up), then the drain and the fences
      // together, what must wait for the fence, the promotions, the switch.
      await Promise.all([timed(s.warmCatchUp), timed(s.appStart)]);
      await Promise.all([timed(s.drain), timed(s.fenceMysql), timed(s.fenceEs)]);
      await Promise.all([timed(s.catchUp), timed(s.pauseFollow), timed(s.pauseAutoFollow)]);
      await Promise.all([timed(s.promote), timed(s.promoteEs)]);
      await timed(s.switch);
      await Promise.all([timed(s.verify), ...s.repoints.map(timed)]);
    } else {
      // A hand script of the seed's steps, one after the other: no warm-up.
      for (const step of Object.values(s).flat()) if (step.phase !== 'warm-up') await timed(step);
    }
    const ms = Date.now() - started;
    const at = (id: string, end: 'startedAt' | 'endedAt') => records.find((r) => r.id === id)![end]!;
    return {
      ms,
      steps: records,
      fenceWindow: { from: at('traffic.drain', 'startedAt'), to: at('traffic.switch', 'endedAt') },
      promoted: CANDIDATE,
    };
  } finally {
    await clients.close();
  }
}
