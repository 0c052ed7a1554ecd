/**
 * The planned failover at scale, each move on a fresh scratch pair under the one writer, taking turns inside each
 * run: the orchestrator with 50 and 200 follower indices (2 standby MySQL replicas), the hand script with 200
 * (its outage and total against the orchestrator's at that size), and the orchestrator with 1 and with 3 standby
 * MySQL replicas (2 follower indices). The 2-index figures are planned-failover's (failover_ms, outage_ms).
 */
import { direct, orchestrator, takingTurns, workerRssNotMeasured, type Contender } from './planned-failover';
import type { Scenario } from './scenario';
import type { BenchTemporal, PairShape } from './temporal';
import { WRITES_PER_SECOND } from './writer';

interface Turn {
  contender: Contender;
  shape: PairShape;
  suffix: string;
}

/** The moves of one run; smoke (CI): 20 indices instead of 50 and 200, and 3 replicas only (1 is the same code). */
function turns(temporal: BenchTemporal, smoke: boolean): Turn[] {
  const ours = orchestrator(temporal);
  const script = direct('hand script', 'script_', false);
  const largest = smoke ? 20 : 200;
  return [
    ...(smoke ? [] : [{ contender: ours, shape: { followerIndices: 50 }, suffix: '_50' }]),
    { contender: ours, shape: { followerIndices: largest }, suffix: `_${largest}` },
    { contender: script, shape: { followerIndices: largest }, suffix: `_${largest}` },
    ...(smoke
      ? []
      : [{ contender: ours, shape: { followerIndices: 2, standbyReplicas: 1 }, suffix: '_replicas_1' }]),
    { contender: ours, shape: { followerIndices: 2, standbyReplicas: 3 }, suffix: '_replicas_3' },
  ];
}

export function plannedFailoverScaleScenario(temporal: BenchTemporal): Scenario {
  return {
    name: 'planned-failover-scale',
    description: `planned failover at ${WRITES_PER_SECOND} writes/s with 50 and 200 follower indices (orchestrator and hand script at 200) and with 1 and 3 standby MySQL replicas`,
    notMeasured: Object.fromEntries(
      Object.entries(workerRssNotMeasured()).map(([name, why]) => [`${name}_200`, why]),
    ),
    setup: (ctx) => temporal.setup(ctx.log),
    run: (ctx) => takingTurns(ctx, turns(temporal, ctx.smoke)),
  };
}
