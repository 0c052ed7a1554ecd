import type { PairSettings } from '../../activities/pair-settings';

export interface RtoPart {
  phase: 'detect' | 'approve' | 'fence' | 'catch-up' | 'promote' | 'apps' | 'traffic' | 'verify';
  ms: number;
  sentence: string;
}

export interface ExpectedRto {
  /** Unplanned (an alert: detection first) or planned (an operator's move). */
  kind: 'planned' | 'unplanned';
  /** The sum of the parts: the longest the runbook's probes and timeouts let the failover take. */
  boundMs: number;
  parts: RtoPart[];
  /** What the bound leaves out (a human's approval), in one sentence. */
  excluded?: string;
  sentence: string;
}

/**
 * The RTO a failover of the pair can be expected to stay under, from the runbook's probes and timeouts: detection
 * (unplanned: `probes.fall` rounds of `probes.interval` plus a probe timeout), the approval the policy waits for
 * without a human (`auto-after`'s delay; a human's answer is left out and said so), one activity timeout for the
 * fence and one for the promotion, the replicas' catch-up (the measured lag when known, never more than
 * `timeouts.replicaCatchUp`), the apps' start, the traffic switch, and verification (`probes.rise` rounds).
 */
export function expectedRto(
  settings: PairSettings,
  kind: 'planned' | 'unplanned',
  measuredLagSeconds?: number,
): ExpectedRto {
  const { probes, timeouts, approval } = settings;
  const parts: RtoPart[] = [];
  const part = (phase: RtoPart['phase'], ms: number, sentence: string) => parts.push({ phase, ms, sentence });
  if (kind === 'unplanned')
    part(
      'detect',
      probes.intervalMs * probes.fall + probes.timeoutMs,
      `${probes.fall} failed probes ${seconds(probes.intervalMs)} apart, the last one timing out after ${seconds(probes.timeoutMs)}`,
    );
  let excluded: string | undefined;
  if (approval.policy === 'auto-after')
    part(
      'approve',
      approval.delayMs ?? 0,
      `the approval proceeds after ${seconds(approval.delayMs ?? 0)} unless rejected`,
    );
  else if (approval.policy === 'required')
    excluded = `an approver's answer (up to ${seconds(approval.timeoutMs)}) is not counted`;
  part(
    'fence',
    timeouts.activityMs,
    `fencing the old primary, bounded by the activity timeout of ${seconds(timeouts.activityMs)}`,
  );
  const catchUpMs =
    measuredLagSeconds === undefined
      ? timeouts.replicaCatchUpMs
      : Math.min(timeouts.replicaCatchUpMs, Math.ceil(measuredLagSeconds * 1000));
  part(
    'catch-up',
    catchUpMs,
    measuredLagSeconds === undefined
      ? `the replicas catching up, at most ${seconds(timeouts.replicaCatchUpMs)} (no lag measured)`
      : `the replicas catching up from the measured lag of ${measuredLagSeconds} s (at most ${seconds(timeouts.replicaCatchUpMs)})`,
  );
  part(
    'promote',
    timeouts.activityMs,
    `promoting the standby, bounded by the activity timeout of ${seconds(timeouts.activityMs)}`,
  );
  if (settings.apps.length > 0)
    part('apps', timeouts.appStartMs, `starting the standby's apps, at most ${seconds(timeouts.appStartMs)}`);
  if (settings.traffic)
    part(
      'traffic',
      timeouts.trafficSwitchMs,
      `switching the traffic (${settings.traffic.provider}), at most ${seconds(timeouts.trafficSwitchMs)}`,
    );
  part(
    'verify',
    probes.intervalMs * probes.rise,
    `${probes.rise} good probes ${seconds(probes.intervalMs)} apart`,
  );
  const boundMs = parts.reduce((sum, p) => sum + p.ms, 0);
  return {
    kind,
    boundMs,
    parts,
    ...(excluded ? { excluded } : {}),
    sentence: `${kind === 'planned' ? 'a' : 'an'} ${kind} failover of ${settings.pair} should end within ${seconds(boundMs)} by its runbook's probes and timeouts${excluded ? `; ${excluded}` : ''}.`,
  };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
