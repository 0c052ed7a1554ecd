import {
  ActivityCancellationType,
  patched,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE_TYPES, nonRetryableTypes, type FailureSystem } from '../common/failure-types';
import type { PairSettings } from '../activities/pair-settings';

/** Every failure type a retry cannot fix, of every system: no retry policy of any workflow retries them. */
export const NON_RETRYABLE = [
  ...new Set((Object.keys(FAILURE_TYPES) as FailureSystem[]).flatMap((s) => nonRetryableTypes(s))),
  'AbortedByOperator',
];

const seconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

/**
 * The named sets of activity options of the failover and failback workflows. Every activity has a
 * start-to-close timeout and a bounded retry policy; the ones that wait heartbeat. Only idempotent
 * activities are retried (every activity of this project reads the state first and does what is left).
 */
export function activityPresets(
  timeouts: PairSettings['timeouts'],
  quickHeartbeats = false,
): Record<Preset, ActivityOptions> {
  const retry = (maximumAttempts: number) => ({
    // With quick heartbeats, the next attempt after a dead worker's heartbeat timeout starts half a second later.
    initialInterval: quickHeartbeats ? QUICK_FIRST_RETRY : '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE,
  });
  /** The runbook's heartbeat timeout, else the preset's own (with quick heartbeats, the same default for all). */
  const heartbeat = (fallback: string) =>
    timeouts.heartbeatMs ? seconds(timeouts.heartbeatMs) : quickHeartbeats ? DEFAULT_HEARTBEAT : fallback;
  const presets = {
    /** Reads: a few quick tries; what does not answer is reported, not waited for. */
    read: { startToCloseTimeout: seconds(timeouts.activityMs), retry: retry(3) },
    /** Changes of one system: idempotent, retried with backoff a bounded number of times. */
    change: { startToCloseTimeout: seconds(timeouts.activityMs), retry: retry(5) },
    /** A replica applying its relay log: bounded by the runbook's catch-up timeout, heartbeating. */
    catchUp: {
      startToCloseTimeout: seconds(timeouts.replicaCatchUpMs + 60_000),
      heartbeatTimeout: heartbeat('30s'),
      retry: retry(3),
    },
    /** Application start/stop over SSH with health polling, heartbeating at each probe. */
    apps: {
      startToCloseTimeout: seconds(timeouts.appStartMs + 30_000),
      heartbeatTimeout: heartbeat('60s'),
      retry: retry(3),
    },
    /**
     * Salvaging a dead primary's binlog: bounded by the runbook's salvage timeout (the activity stops itself at
     * it), heartbeating; a retry after a lost worker applies only what is left.
     */
    salvage: {
      startToCloseTimeout: seconds((timeouts.salvageMs ?? 120_000) + timeouts.activityMs + 30_000),
      heartbeatTimeout: heartbeat('30s'),
      retry: retry(5),
    },
    /**
     * Rebuilding an old primary from the new one: as long as the runbook's rebuild timeout (the copy of the whole
     * data), heartbeating every 2 s on a timer, so a dead worker is noticed within seconds, not at the timeout.
     */
    rebuild: {
      startToCloseTimeout: seconds((timeouts.rebuildMs ?? 7_200_000) + timeouts.activityMs),
      heartbeatTimeout: heartbeat('20s'),
      retry: retry(3),
    },
    /** A switch delegated to another tool (MHA): bounded by the runbook's delegate timeout, heartbeating. */
    delegated: {
      startToCloseTimeout: seconds((timeouts.delegateMs ?? 300_000) + timeouts.activityMs),
      heartbeatTimeout: heartbeat('30s'),
      retry: retry(3),
    },
    /** Follower promotion and traffic switches: long, heartbeating, resumable from their heartbeat details. */
    long: {
      startToCloseTimeout: seconds(Math.max(timeouts.trafficSwitchMs, timeouts.activityMs) + 60_000),
      heartbeatTimeout: heartbeat('60s'),
      retry: retry(5),
    },
    /** One try of a read or a fence, for a workflow whose own rounds try again (the old site's watcher). */
    once: { startToCloseTimeout: seconds(timeouts.activityMs), retry: retry(1) },
    /** One try of a traffic change, as long as `long` allows one. */
    longOnce: {
      startToCloseTimeout: seconds(Math.max(timeouts.trafficSwitchMs, timeouts.activityMs) + 60_000),
      heartbeatTimeout: heartbeat('60s'),
      retry: retry(1),
    },
  };
  if (!quickHeartbeats) return presets;
  // Every activity heartbeats (the worker's heartbeat interceptor), so a dead worker's step moves on within seconds.
  const beating = (options: ActivityOptions): ActivityOptions => ({
    ...options,
    heartbeatTimeout: heartbeat(''),
  });
  return Object.fromEntries(Object.entries(presets).map(([name, o]) => [name, beating(o)])) as Record<
    Preset,
    ActivityOptions
  >;
}

/** The heartbeat timeout of every activity when the runbook sets none (runs with quick heartbeats). */
export const DEFAULT_HEARTBEAT = '2s';

/** The first retry interval of every activity in runs with quick heartbeats (doubling from there up to 30 s). */
export const QUICK_FIRST_RETRY = '500ms';

/**
 * Runs whose every activity has a heartbeat timeout of seconds (the runbook's `timeouts.heartbeat`, 2s by default)
 * and a first retry after half a second:
 * a worker that dies while writes are refused costs that, not the activity's start-to-close timeout.
 */
export const QUICK_HEARTBEATS_PATCH = 'quick-heartbeats';

export type Preset =
  'read' | 'change' | 'catchUp' | 'apps' | 'salvage' | 'rebuild' | 'delegated' | 'long' | 'once' | 'longOnce';

/**
 * Calls activities by name with one of the presets and a one-line summary, so the Temporal UI's timeline reads
 * as the runbook ("fence db-gra-1", "promote db-rbx-1").
 */
export function activityCaller(timeouts: PairSettings['timeouts'], local: () => boolean = () => false) {
  const presets = activityPresets(timeouts, patched(QUICK_HEARTBEATS_PATCH));
  const proxy = proxyActivities<Activities>(presets.read);
  const localProxy = proxyLocalActivities<Activities>({
    startToCloseTimeout: presets.read.startToCloseTimeout,
  });
  return function call<K extends keyof Activities>(
    preset: Preset,
    name: K,
    input: Parameters<Activities[K]>[0],
    summary: string,
  ): Promise<Awaited<ReturnType<Activities[K]>>> {
    const fn = proxy[name] as unknown as {
      executeWithOptions(
        options: ActivityOptions,
        args: unknown[],
      ): Promise<Awaited<ReturnType<Activities[K]>>>;
    };
    if (local()) {
      const { startToCloseTimeout, retry } = presets[preset];
      const localFn = localProxy[name] as unknown as {
        executeWithOptions(
          options: LocalActivityOptions,
          args: unknown[],
        ): Promise<Awaited<ReturnType<Activities[K]>>>;
      };
      return localFn.executeWithOptions(
        { startToCloseTimeout, ...(retry ? { retry } : {}), ...cancellation(), summary },
        [input],
      );
    }
    return fn.executeWithOptions({ ...presets[preset], ...cancellation(), summary }, [input]);
  };
}

/**
 * Runs whose steps inside the fence window run as local activities: in the worker that runs the workflow, their
 * results recorded with its workflow task, so that no step waits for a round trip through the server to be
 * scheduled and another to be reported. A worker that dies meanwhile costs the move's workflow task timeout; the
 * next worker runs the step again (every step is idempotent).
 */
export const LOCAL_WINDOW_PATCH = 'fence-window-local';

export type ActivityCall = ReturnType<typeof activityCaller>;

/**
 * A cancelled run waits for its running activities to end before it goes on (and, before the point of no return,
 * undoes them): the SDK's effective default, TRY_CANCEL, goes on at once, so an unfence could run while the fence
 * still runs. Activities that change something heartbeat, so they learn of the cancel. Runs started before this
 * rule keep the default.
 */
function cancellation(): Pick<ActivityOptions, 'cancellationType'> {
  return patched('wait-for-cancelled-activities')
    ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED }
    : {};
}
