/**
 * Promotion of CCR follower indices (pause → close → unfollow → open) against the in-process ES emulator:
 * a crash right after each step took effect, then a retry that finishes the job; many indices with bounded
 * concurrency, heartbeated progress and a resume after a crash.
 */
import { errors } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it } from 'vitest';
import { EsCluster } from '../activities/elasticsearch/clients';
import { PROMOTE_STEPS, type PromoteProgress, type PromoteStep } from '../activities/elasticsearch/promote';
import {
  canWrite,
  ES_TEST_PAIR,
  esActivityEnv,
  failureOf,
  isFollower,
  runIn,
  startEsTestPair,
  type EsTestPair,
} from './helpers/es';

type CrashMode = 'hang' | 'disconnect' | 'lost-answer';

/**
 * Injects a crash right after a step took effect on Elasticsearch:
 * - `hang`: this call and every later one never answer — a killed worker, nothing more happens;
 * - `disconnect`: this call and every later one fail with a connection error — the network to the cluster
 *   is lost for the rest of the attempt;
 * - `lost-answer`: only this call's answer is lost (it fails), later calls work.
 */
class CrashingCluster extends EsCluster {
  crash: { step: PromoteStep; mode: CrashMode; afterCount: number } | undefined;
  dead = false;
  disconnected = false;
  readonly counts: Record<PromoteStep, number> = { pause: 0, close: 0, unfollow: 0, open: 0 };
  inFlightCloses = 0;
  maxInFlightCloses = 0;
  closeDelayMs = 0;
  /** Incremented by a hang: a call that began before it never answers, even once the test revives the cluster. */
  private epoch = 0;
  private crashed: (() => void) | undefined;
  readonly crashedPromise = new Promise<void>((resolve) => (this.crashed = resolve));

  private async after(step: PromoteStep): Promise<void> {
    this.counts[step]++;
    const crash = this.crash;
    if (!crash || crash.step !== step || this.counts[step] < crash.afterCount) return;
    this.crash = undefined;
    this.crashed?.();
    if (crash.mode === 'hang') {
      this.epoch++;
      this.dead = true;
      await new Promise(() => undefined);
    }
    if (crash.mode === 'disconnect') this.disconnected = true;
    throw new errors.ConnectionError(`simulated connection loss right after ${step}`);
  }

  private async alive(since = this.epoch): Promise<void> {
    if (this.dead || since !== this.epoch) await new Promise(() => undefined);
    if (this.disconnected) throw new errors.ConnectionError('simulated connection loss');
  }

  override async indexState(index: string) {
    await this.alive();
    return super.indexState(index);
  }
  override async pauseFollow(index: string) {
    await this.alive();
    await super.pauseFollow(index);
    await this.after('pause');
  }
  override async closeIndex(index: string) {
    const since = this.epoch;
    await this.alive();
    this.inFlightCloses++;
    this.maxInFlightCloses = Math.max(this.maxInFlightCloses, this.inFlightCloses);
    try {
      if (this.closeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.closeDelayMs));
      // A killed worker's close still waiting here never lands after the retry has reopened the index.
      await this.alive(since);
      await super.closeIndex(index);
    } finally {
      this.inFlightCloses--;
    }
    await this.after('close');
  }
  override async unfollow(index: string) {
    await this.alive();
    await super.unfollow(index);
    await this.after('unfollow');
  }
  override async openIndex(index: string) {
    await this.alive();
    await super.openIndex(index);
    await this.after('open');
  }
}

describe.each([8, 9] as const)('esPromoteFollowers against Elasticsearch %i', (esVersion) => {
  let pair: EsTestPair;
  afterEach(async () => {
    await pair?.stop();
  });

  async function start(followerIndices: string[], concurrency = 4): Promise<CrashingCluster> {
    pair = await startEsTestPair({
      esVersion,
      followerIndices,
      promoteConcurrency: concurrency,
      clusterFactory: (args) => new CrashingCluster(...args),
    });
    await pair.followed(followerIndices, 3);
    return pair.clients.cluster(ES_TEST_PAIR, 'rbx') as CrashingCluster;
  }

  async function expectPromoted(indices: string[]): Promise<void> {
    for (const index of indices) {
      expect(await isFollower(pair.rbx, index), `${index} is no longer a follower`).toBe(false);
      expect(await canWrite(pair.rbx, index), `${index} accepts writes`).toBe(true);
      expect((await pair.rbx.count({ index })).count, `${index} kept the leader's documents`).toBe(4);
    }
  }

  for (const step of PROMOTE_STEPS) {
    it(`finishes after the worker is killed right after "${step}" took effect, resuming from the heartbeat`, async () => {
      const cluster = await start(['orders']);
      cluster.crash = { step, mode: 'hang', afterCount: 1 };
      const first = esActivityEnv();
      let lastBeat: unknown;
      first.on('heartbeat', (details: unknown) => (lastBeat = details));
      void runIn(first, pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
      await cluster.crashedPromise;
      // The follower is now half-promoted and the first attempt will never answer: a retry on another worker.
      expect((lastBeat as PromoteProgress).done).toEqual([]);
      cluster.dead = false;
      const retry = esActivityEnv({ attempt: 2, heartbeatDetails: lastBeat });
      const result = await runIn(retry, pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
      const remaining = PROMOTE_STEPS.slice(PROMOTE_STEPS.indexOf(step) + 1);
      expect(result.indices[0]?.performed).toEqual(remaining);
      expect(result.indices[0]?.alreadyPromoted).toBe(remaining.length === 0);
      await expectPromoted(['orders']);
    });

    it(`fails the attempt (retryable EsUnreachable) when the connection drops right after "${step}" took effect; a retry completes it`, async () => {
      const cluster = await start(['orders']);
      cluster.crash = { step, mode: 'disconnect', afterCount: 1 };
      const failure = await failureOf(
        runIn(esActivityEnv(), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR }),
      );
      expect(failure.type).toBe('EsUnreachable');
      expect(failure.nonRetryable).toBe(false);
      expect(failure.message).toContain(`simulated connection loss right after ${step}`);
      cluster.disconnected = false;
      const retry = await runIn(esActivityEnv({ attempt: 2 }), pair.activities.esPromoteFollowers, {
        pair: ES_TEST_PAIR,
      });
      expect(retry.indices[0]?.performed).toEqual(PROMOTE_STEPS.slice(PROMOTE_STEPS.indexOf(step) + 1));
      await expectPromoted(['orders']);
    });

    it(`recovers within the attempt when only the answer to "${step}" is lost, by reading the state again`, async () => {
      const cluster = await start(['orders']);
      cluster.crash = { step, mode: 'lost-answer', afterCount: 1 };
      const result = await runIn(esActivityEnv(), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
      expect(result.indices[0]?.performed).toEqual([...PROMOTE_STEPS]);
      expect(cluster.counts[step]).toBe(1);
      // Only a failed unfollow deserves a warning: ES may have kept the leader's retention lease.
      expect(result.indices[0]?.warnings.length).toBe(step === 'unfollow' ? 1 : 0);
      await expectPromoted(['orders']);
    });
  }

  it('survives two attempts running at once on the same indices (a retry while the first still runs)', async () => {
    const indices = Array.from({ length: 12 }, (_, i) => `dup-${i}`);
    await start(indices, 4);
    const [a, b] = await Promise.all([
      runIn(esActivityEnv(), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR }),
      runIn(esActivityEnv({ attempt: 2 }), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR }),
    ]);
    expect(a.total + b.total).toBe(24);
    for (const index of indices) {
      const steps = [...(a.indices.find((i) => i.index === index)?.performed ?? [])];
      steps.push(...(b.indices.find((i) => i.index === index)?.performed ?? []));
      // Between them, each step ran at least once; no attempt failed.
      expect(new Set(steps), index).toEqual(new Set(PROMOTE_STEPS));
      expect(await isFollower(pair.rbx, index)).toBe(false);
    }
    expect(await canWrite(pair.rbx, 'dup-0')).toBe(true);
  });

  it('is a no-op on indices already promoted', async () => {
    await start(['orders', 'customers']);
    const first = await runIn(esActivityEnv(), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
    expect(first.promoted).toBe(2);
    const again = await runIn(esActivityEnv(), pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
    expect(again.promoted).toBe(0);
    expect(again.alreadyPromoted).toBe(2);
    expect(again.indices.every((i) => i.performed.length === 0)).toBe(true);
  });

  it('promotes many indices with bounded concurrency and resumes from its heartbeat after a crash', async () => {
    const indices = Array.from({ length: 24 }, (_, i) => `idx-${String(i).padStart(2, '0')}`);
    const cluster = await start(indices, 3);
    // Long enough that three closes overlap however busy the machine is (at 15 ms a loaded runner missed it).
    cluster.closeDelayMs = 150;
    cluster.crash = { step: 'open', mode: 'hang', afterCount: 10 };
    const first = esActivityEnv();
    const beats: PromoteProgress[] = [];
    first.on('heartbeat', (details: PromoteProgress) => beats.push(details));
    void runIn(first, pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
    await cluster.crashedPromise;
    expect(cluster.maxInFlightCloses).toBe(3);
    const last = beats.at(-1) as PromoteProgress;
    expect(last.total).toBe(24);
    // 9 indices finished before the 10th open; one in flight on another runner may have finished too.
    expect(last.done.length).toBeGreaterThanOrEqual(9);
    expect(last.done.length).toBeLessThanOrEqual(11);
    // Progress only grows, one index at a time.
    expect(beats.map((b) => b.done.length)).toEqual(
      [...beats.map((b) => b.done.length)].sort((a, b) => a - b),
    );

    cluster.dead = false;
    const retry = esActivityEnv({ attempt: 2, heartbeatDetails: last });
    const retryBeats: PromoteProgress[] = [];
    retry.on('heartbeat', (details: PromoteProgress) => retryBeats.push(details));
    const result = await runIn(retry, pair.activities.esPromoteFollowers, { pair: ES_TEST_PAIR });
    expect(result.fromEarlierAttempts).toBe(last.done.length);
    expect(
      result.indices
        .filter((i) => i.fromEarlierAttempt)
        .map((i) => i.index)
        .sort(),
    ).toEqual([...last.done].sort());
    expect(result.promoted + result.alreadyPromoted + result.fromEarlierAttempts).toBe(24);
    // The indices caught mid-flight by the crash finish with only their remaining steps.
    expect(result.alreadyPromoted).toBeGreaterThanOrEqual(1);
    expect(retryBeats.at(-1)?.done.length).toBe(24);
    for (const index of indices) expect(await isFollower(pair.rbx, index)).toBe(false);
    expect(await canWrite(pair.rbx, 'idx-00')).toBe(true);
    expect(await canWrite(pair.rbx, 'idx-23')).toBe(true);
  });

  it('reports a missing follower index as non-retryable EsIndexNotFound after promoting the others', async () => {
    await start(['orders', 'customers']);
    const failure = await failureOf(
      runIn(esActivityEnv(), pair.activities.esPromoteFollowers, {
        pair: ES_TEST_PAIR,
        indices: ['orders', 'nope', 'customers'],
      }),
    );
    expect(failure.type).toBe('EsIndexNotFound');
    expect(failure.nonRetryable).toBe(true);
    expect(await isFollower(pair.rbx, 'orders')).toBe(false);
    expect(await isFollower(pair.rbx, 'customers')).toBe(false);
  });
});
