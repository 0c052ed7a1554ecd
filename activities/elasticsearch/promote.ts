import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { EsClients, EsCluster, IndexState } from './clients';
import { redact } from '../../common/redact';
import { CLUSTER_LEVEL_FAILURES, describeEsError, esFailure } from './errors';
import { batchFailure, requireIndex } from './control';
import { forEachBounded } from './pool';

/** The documented promotion of a follower index, in order: pause → close → unfollow → open. */
export const PROMOTE_STEPS = ['pause', 'close', 'unfollow', 'open'] as const;
export type PromoteStep = (typeof PROMOTE_STEPS)[number];

export interface EsPromoteInput {
  pair: string;
  /** The cluster whose follower indices become regular writable indices; default the standby site. */
  site?: string;
  /** Default: the runbook's `followerIndices`. */
  indices?: string[];
  /** Indices promoted at the same time; default the runbook's `promoteConcurrency`. */
  concurrency?: number;
}

export interface PromotedIndex {
  index: string;
  /** Steps this attempt performed; the others were already done (state read before acting). */
  performed: PromoteStep[];
  /** Nothing was left to do: the index was already a regular open index. */
  alreadyPromoted: boolean;
  /** Finished by an earlier attempt of this activity (from its heartbeat details), not checked again. */
  fromEarlierAttempt: boolean;
  ms: number;
  warnings: string[];
}

export interface EsPromoteResult {
  site: string;
  total: number;
  /** Indices this attempt changed. */
  promoted: number;
  alreadyPromoted: number;
  fromEarlierAttempts: number;
  concurrency: number;
  wallMs: number;
  indices: PromotedIndex[];
}

/** What the promotion heartbeats: the indices finished so far, so a retry after a crash skips them. */
export interface PromoteProgress {
  done: string[];
  total: number;
}

function progressFromHeartbeat(details: unknown): Set<string> {
  const done = (details as Partial<PromoteProgress> | undefined)?.done;
  return new Set(Array.isArray(done) ? done.filter((d): d is string => typeof d === 'string') : []);
}

function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The next promotion step an index in this state needs, or undefined when it is a regular open index. */
export function nextPromoteStep(state: IndexState): PromoteStep | undefined {
  if (state.follower?.status === 'active') return 'pause';
  if (state.follower && state.open) return 'close';
  if (state.follower) return 'unfollow';
  if (!state.open) return 'open';
  return undefined;
}

/** Whether a state read after a failed step shows that step's goal reached (by this call or someone else). */
function stepReached(step: PromoteStep, after: IndexState): boolean {
  switch (step) {
    case 'pause':
      return after.follower?.status !== 'active';
    case 'close':
      return !after.open || !after.follower;
    case 'unfollow':
      return !after.follower;
    case 'open':
      return after.open && !after.follower;
  }
}

function runStep(cluster: EsCluster, step: PromoteStep, index: string): Promise<void> {
  switch (step) {
    case 'pause':
      return cluster.pauseFollow(index);
    case 'close':
      return cluster.closeIndex(index);
    case 'unfollow':
      return cluster.unfollow(index);
    case 'open':
      return cluster.openIndex(index);
  }
}

/**
 * Promotes one follower index. Its state (follower status, open/closed) is read first and only the steps not
 * done yet run, so calling this again after a crash at any point finishes the job. A step's success implies the
 * next state; when a step fails, the state is read again: if the step's goal holds anyway (the answer was lost;
 * another attempt did it; Elasticsearch unfollowed the index and then failed to remove the retention lease on
 * an unreachable leader), promotion goes on from the state read, otherwise the step's error is raised.
 */
export async function promoteIndex(cluster: EsCluster, index: string): Promise<PromotedIndex> {
  const started = Date.now();
  const performed: PromoteStep[] = [];
  const warnings: string[] = [];
  let state: IndexState = await requireIndex(cluster, index, 'promote');
  for (let step = nextPromoteStep(state); step !== undefined; step = nextPromoteStep(state)) {
    try {
      await runStep(cluster, step, index);
      performed.push(step);
      state = afterStep(state, step);
    } catch (err) {
      const stepFailure = esFailure(cluster.site, `promote ${index}: ${step}`, err, cluster.secrets);
      let after: IndexState;
      try {
        after = await cluster.indexState(index);
      } catch {
        throw stepFailure; // the cluster cannot even be read: the step's own error says why
      }
      if (!after.exists || !stepReached(step, after)) throw stepFailure;
      const byOther = /is not a follower index|no shard follow tasks/.test(describeEsError(err));
      if (!byOther) performed.push(step);
      if (step === 'unfollow' && !byOther) {
        const warning = redact(
          `${cluster.site}: ${index} is unfollowed, but Elasticsearch reported ${describeEsError(err)}; ` +
            `the leader may keep a stale retention lease (drop it later with forget_follower on the leader)`,
          cluster.secrets,
        );
        warnings.push(warning);
        log.warn(warning, { site: cluster.site, index });
      }
      state = after;
    }
  }
  return {
    index,
    performed,
    alreadyPromoted: performed.length === 0,
    fromEarlierAttempt: false,
    ms: Date.now() - started,
    warnings,
  };
}

function afterStep(state: IndexState, step: PromoteStep): IndexState {
  switch (step) {
    case 'pause':
      return { ...state, follower: state.follower && { ...state.follower, status: 'paused' } };
    case 'close':
      return { ...state, open: false };
    case 'unfollow':
      return { ...state, follower: undefined };
    case 'open':
      return { ...state, open: true };
  }
}

/**
 * Promotes many follower indices with bounded concurrency. Progress is heartbeated (the indices done); a retry
 * (after a worker crash or a failed attempt) reads the last heartbeat and skips the indices already finished,
 * and every other index's own state check makes redoing it safe.
 */
export async function promoteFollowers(es: EsClients, input: EsPromoteInput): Promise<EsPromoteResult> {
  const cluster = es.cluster(input.pair, input.site);
  const settings = es.settings(input.pair);
  const indices = [...new Set(input.indices ?? settings.followerIndices)];
  const concurrency = input.concurrency ?? settings.promoteConcurrency;
  let previous = new Set<string>();
  try {
    previous = progressFromHeartbeat(activityInfo().heartbeatDetails);
  } catch {
    /* not in an activity */
  }
  const started = Date.now();
  const done = indices.filter((i) => previous.has(i));
  const todo = indices.filter((i) => !previous.has(i));
  if (done.length > 0) {
    log.info(
      `${cluster.site}: resuming promotion, ${done.length} of ${indices.length} indices done by an earlier attempt`,
      {
        site: cluster.site,
      },
    );
  }
  const results = new Map<string, PromotedIndex>(
    done.map((index) => [
      index,
      { index, performed: [], alreadyPromoted: true, fromEarlierAttempt: true, ms: 0, warnings: [] },
    ]),
  );
  const failures: { index: string; failure: ApplicationFailure }[] = [];
  const beat = () => heartbeat({ done: [...done], total: indices.length } satisfies PromoteProgress);
  beat();
  const signal = cancellationSignal();
  let stop = false;
  await forEachBounded(
    todo,
    concurrency,
    async (index) => {
      try {
        const result = await promoteIndex(cluster, index);
        results.set(index, result);
        done.push(index);
        log.info(
          result.alreadyPromoted
            ? `${cluster.site}: ${index} was already a regular open index`
            : `${cluster.site}: promoted ${index} (${result.performed.join(' → ')})`,
          { site: cluster.site, index, performed: result.performed },
        );
      } catch (err) {
        const failure =
          err instanceof ApplicationFailure ? err : esFailure(cluster.site, `promote ${index}`, err);
        failures.push({ index, failure });
        if (CLUSTER_LEVEL_FAILURES.has(failure.type ?? '')) stop = true;
      }
      beat();
    },
    () => stop || signal?.aborted === true,
  );
  if (signal?.aborted)
    throw new CancelledFailure(`promotion cancelled after ${done.length} of ${indices.length} indices`);
  if (failures.length > 0) throw batchFailure(cluster.site, 'promote', indices.length, done.length, failures);
  const list = indices.map((i) => results.get(i) as PromotedIndex);
  return {
    site: cluster.site,
    total: indices.length,
    promoted: list.filter((r) => !r.fromEarlierAttempt && !r.alreadyPromoted).length,
    alreadyPromoted: list.filter((r) => !r.fromEarlierAttempt && r.alreadyPromoted).length,
    fromEarlierAttempts: list.filter((r) => r.fromEarlierAttempt).length,
    concurrency,
    wallMs: Date.now() - started,
    indices: list,
  };
}
