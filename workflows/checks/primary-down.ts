import type { Observation } from '../systems/system';

export interface PrimaryDownVerdict {
  down: boolean;
  /** The primary is unreachable from the worker while the standby's systems still reach it: not a failover. */
  workerOnly: boolean;
  sentence: string;
}

/**
 * Holistic detection: the primary counts as down only when every vantage that could tell says so, the worker's
 * own view *and* at least one peer's (replica IO threads, the standby's remote connection), in each of the last
 * `fall` rounds. The worker's view alone never decides.
 */
export function judgePrimaryDown(rounds: Observation[][], fall: number): PrimaryDownVerdict {
  const recent = rounds.slice(-fall);
  const verdicts = recent.map(judgeRound);
  const last = verdicts.at(-1) ?? { down: false, workerOnly: false, sentence: 'no observation was made.' };
  if (recent.length < fall)
    return {
      ...last,
      down: false,
      sentence: `only ${recent.length} of ${fall} rounds observed; ${last.sentence}`,
    };
  if (verdicts.every((v) => v.down))
    return {
      down: true,
      workerOnly: false,
      sentence: `primary down in ${fall} rounds in a row: ${last.sentence}`,
    };
  return { ...last, down: false };
}

function judgeRound(observations: Observation[]): PrimaryDownVerdict {
  const told = observations.filter((o) => o.down !== undefined);
  const worker = told.filter((o) => o.kind === 'worker');
  const peers = told.filter((o) => o.kind === 'peer');
  const up = told.filter((o) => o.down === false);
  const list = (os: Observation[]) => os.map((o) => o.sentence).join(' ');
  if (worker.length === 0 || peers.length === 0)
    return {
      down: false,
      workerOnly: false,
      sentence:
        `cannot judge the primary: ${worker.length === 0 ? 'the worker' : 'no peer of the standby site'} could tell. ${list(told)}`.trim(),
    };
  if (up.length === 0) return { down: true, workerOnly: false, sentence: list(told) };
  const workerDown = worker.filter((o) => o.down);
  const peersUp = peers.filter((o) => o.down === false);
  if (workerDown.length > 0 && peersUp.length > 0)
    return {
      down: false,
      workerOnly: true,
      sentence: `the worker cannot reach the primary (${workerDown.map((o) => o.vantage).join(', ')}), but the standby still does (${peersUp.map((o) => o.vantage).join(', ')}): this is a problem of the worker's path, not a failover. ${list(told)}`,
    };
  return { down: false, workerOnly: false, sentence: `the primary is up: ${list(up)}` };
}
