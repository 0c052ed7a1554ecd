import type { System } from '../definitions';
import type { Observation } from '../systems/system';

/** How one system of the primary site looks in one round, from the worker and from that system's own witnesses. */
export type SystemState =
  /** The worker and the system's witnesses agree: it is down. */
  | 'down'
  /** The worker cannot reach it, but a witness of the same system still does: the worker's path, not the system. */
  | 'worker-only'
  /** Not down: the worker reaches it, or the vantages that could tell disagree. */
  | 'up'
  /** The worker, or every witness of the system, could not tell. */
  | 'unknown';

export interface SystemVerdict {
  system: System;
  state: SystemState;
  /** The runbook's `detection.critical` names it: its failure alone makes the site need a failover. */
  critical: boolean;
  /** E.g. "mysql down: the worker cannot reach db-gra-1 (MysqlUnreachable); db-rbx-1 has lost its source (…)." */
  sentence: string;
  /** worker-only: which vantages of the worker fail and which witnesses of the same system still reach it. */
  workerPath?: string;
}

export interface PrimaryDownVerdict {
  down: boolean;
  /** A system of the primary is unreachable from the worker while its own witnesses still reach it: not a failover. */
  workerOnly: boolean;
  /** The critical systems down in each round judged (absent from runs judged before per-system detection). */
  failed?: System[];
  /** Each system as the last round saw it (absent from runs judged before per-system detection). */
  systems?: SystemVerdict[];
  sentence: string;
}

/**
 * Per-system detection: a system of the primary site is down only when the worker's view *and* that system's own
 * witnesses (MySQL: the standby replicas' IO threads; Elasticsearch: the standby cluster's remote connection; apps
 * and traffic: the traffic switch's health check) say so: a witness of one system says nothing of another. The
 * site needs a failover when a `critical` system is down in each of the last `fall` rounds. The worker's view
 * alone never decides.
 */
export function judgePrimaryDown(
  rounds: Observation[][],
  fall: number,
  critical: readonly System[],
): PrimaryDownVerdict {
  const judged = rounds.slice(-fall).map((round) => judgeSystems(round, critical));
  const systems = judged.at(-1) ?? [];
  const failed = critical.filter(
    (s) => judged.length > 0 && judged.every((round) => stateOf(round, s) === 'down'),
  );
  // What decides first: the systems down, then those the worker alone cannot reach, those that cannot be judged.
  const details = [...systems]
    .sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state))
    .map((v) => v.sentence)
    .join(' ');
  const notDown = (workerOnly: boolean, why: string): PrimaryDownVerdict => ({
    down: false,
    workerOnly,
    failed: [],
    systems,
    sentence: `${why} ${details}`.trim(),
  });
  if (judged.length < fall) return notDown(false, `only ${judged.length} of ${fall} rounds observed.`);
  if (failed.length > 0)
    return {
      down: true,
      workerOnly: false,
      failed,
      systems,
      sentence: `primary site down: ${list(failed)} down for the worker and for ${failed.length === 1 ? 'its' : 'their'} own witnesses, ${inRounds(fall)}. ${details}`,
    };
  const workerOnly = systems.filter((v) => v.state === 'worker-only');
  if (workerOnly.length > 0)
    return notDown(
      true,
      `${workerOnly.map((v) => v.workerPath).join('; ')}: this is a problem of the worker's path, not a failover.`,
    );
  const criticalDown = systems.filter((v) => v.critical && v.state === 'down');
  if (criticalDown.length > 0)
    return notDown(
      false,
      `${list(criticalDown.map((v) => v.system))} down in the last round, but no critical system was down in each of the ${judged.length} rounds observed.`,
    );
  const otherDown = systems.filter((v) => !v.critical && v.state === 'down');
  if (otherDown.length > 0)
    return notDown(
      false,
      `${list(otherDown.map((v) => v.system))} down, but the runbook does not count ${otherDown.length === 1 ? 'it' : 'them'} as critical (detection.critical: ${critical.join(', ')}).`,
    );
  if (!systems.some((v) => v.critical && v.state !== 'unknown'))
    return notDown(false, 'cannot judge the primary site: no critical system could be judged.');
  return notDown(false, 'the primary site is up.');
}

/** "mysql down, elasticsearch up, apps (not critical) down": one round in a few words. */
export function roundSummary(systems: readonly SystemVerdict[]): string {
  return systems.map((v) => `${label(v.system, v.critical)} ${STATE_WORDS[v.state]}`).join(', ');
}

/** Each system seen in the round (the critical ones first, in the runbook's order), judged by its own vantages. */
function judgeSystems(round: Observation[], critical: readonly System[]): SystemVerdict[] {
  // Observations without a system come only from runs judged before per-system detection, never here.
  const seen = [...new Set(round.flatMap((o) => (o.system ? [o.system] : [])))];
  const order = [...critical, ...seen.filter((s) => !critical.includes(s))];
  return order.map((system) =>
    judgeSystem(
      system,
      round.filter((o) => o.system === system),
      critical.includes(system),
    ),
  );
}

function judgeSystem(system: System, observations: Observation[], critical: boolean): SystemVerdict {
  const told = observations.filter((o) => o.down !== undefined);
  const worker = told.filter((o) => o.kind === 'worker');
  const witnesses = told.filter((o) => o.kind === 'peer');
  const verdict = (state: SystemState, why: string, said: Observation[]): SystemVerdict => ({
    system,
    state,
    critical,
    sentence: `${label(system, critical)} ${STATE_WORDS[state]}${why}: ${clauses(said) || 'nothing observed it'}.`,
  });
  if (worker.length === 0) return verdict('unknown', ' (the worker could not tell)', observations);
  if (witnesses.length === 0) return verdict('unknown', ' (no witness of it could tell)', observations);
  if (told.every((o) => o.down)) return verdict('down', '', told);
  const workerDown = worker.filter((o) => o.down);
  const witnessesUp = witnesses.filter((o) => o.down === false);
  if (workerDown.length === 0 || witnessesUp.length === 0) return verdict('up', '', told);
  return {
    ...verdict('worker-only', '', told),
    workerPath: `the worker cannot reach ${system} of the primary site (${vantages(workerDown)}), but its own witnesses still do (${vantages(witnessesUp)})`,
  };
}

const STATE_ORDER: SystemState[] = ['down', 'worker-only', 'unknown', 'up'];

const STATE_WORDS: Record<SystemState, string> = {
  down: 'down',
  'worker-only': 'unreachable from the worker only',
  up: 'up',
  unknown: 'cannot be judged',
};

const label = (system: System, critical: boolean) => (critical ? system : `${system} (not critical)`);
const stateOf = (round: SystemVerdict[], system: System) => round.find((v) => v.system === system)?.state;
const vantages = (os: Observation[]) => os.map((o) => o.vantage).join(', ');
const clauses = (os: Observation[]) => os.map((o) => o.sentence.replace(/\.$/, '')).join('; ');
const inRounds = (n: number) => (n === 1 ? 'in 1 round' : `in ${n} rounds in a row`);
const list = (items: readonly string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/**
 * The judgement of runs started before per-system detection (patch `per-system-detection`), kept as it was so
 * that they replay: any witness of any system counted for the whole site.
 */
export function legacyJudgePrimaryDown(rounds: Observation[][], fall: number): PrimaryDownVerdict {
  const recent = rounds.slice(-fall);
  const verdicts = recent.map(legacyJudgeRound);
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

function legacyJudgeRound(observations: Observation[]): PrimaryDownVerdict {
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
