import type { MetricMeter } from '@temporalio/common';
import type { InjectedSinks } from '@temporalio/worker';
import type { DrillFacts, DrMetricsSinks, MoveFacts, ReadinessFacts } from '../workflows/metrics';

/**
 * The DR metrics of the worker's /metrics (the Temporal runtime's Prometheus exporter), labelled by pair; see
 * docs/metrics.md for each one's meaning. Workflows hand their figures over through the `drMetrics` sink.
 */
export function drMetrics(meter: MetricMeter, pairs: string[]) {
  const gauge = (name: string, unit: string, description: string) =>
    meter.createGauge(name, 'float', unit, description);
  const g = {
    pair: gauge(
      'dr_pair_info',
      '',
      'A DR pair this worker serves (always 1): what the no-drill and no-check alerts count',
    ),
    ready: gauge(
      'dr_standby_ready',
      '',
      'Whether the last readiness check found the standby ready to take over (1) or not (0)',
    ),
    checkedAt: gauge(
      'dr_readiness_last_check_timestamp_seconds',
      's',
      'When the last readiness check ended (Unix time)',
    ),
    readyAt: gauge(
      'dr_readiness_last_ready_timestamp_seconds',
      's',
      'When the last readiness check that found the standby ready ended (Unix time)',
    ),
    failing: gauge('dr_readiness_failing_checks', '', 'How many checks the last readiness check failed'),
    maxLag: gauge(
      'dr_mysql_max_lag_seconds',
      's',
      "The runbook's mysql.maxLagSeconds: the replica lag readiness accepts",
    ),
    replicating: gauge(
      'dr_mysql_replica_replicating',
      '',
      'Whether the replica runs both replication threads (1) or not (0), at the last readiness check',
    ),
    lag: gauge(
      'dr_mysql_replica_lag_seconds',
      's',
      'The replica lag (Seconds_Behind_Master) at the last readiness check; NaN when unknown (replication stopped, server down)',
    ),
    esLag: gauge(
      'dr_es_follower_lag_operations',
      '',
      'The follower index lag behind its leader in operations at the last readiness check; NaN when unknown',
    ),
    traffic: gauge(
      'dr_traffic_target',
      '',
      'Whether the site received the traffic (1) or not (0) at the last readiness check',
    ),
    rto: gauge(
      'dr_last_move_rto_seconds',
      's',
      'The measured RTO of the last completed move (from the start of the run)',
    ),
    outage: gauge(
      'dr_last_move_write_outage_seconds',
      's',
      'The write outage of the last completed move (from the fence to the end of the traffic switch)',
    ),
    moveEnded: gauge('dr_last_move_timestamp_seconds', 's', 'When the last move ended (Unix time)'),
    drillAt: gauge('dr_last_drill_timestamp_seconds', 's', 'When the last drill ended (Unix time)'),
    drillOk: gauge('dr_last_drill_success', '', 'Whether the last drill succeeded (1) or not (0)'),
  };
  const moves = meter.createCounter(
    'dr_moves_total',
    '',
    'Moves (failovers, failbacks) that ended, by type, mode and outcome',
  );
  const drills = meter.createCounter('dr_drills_total', '', 'Drills that ended, by mode and outcome');
  const bit = (b: boolean) => (b ? 1 : 0);
  const known = (n: number | null) => (n === null ? Number.NaN : n);
  for (const pair of pairs) g.pair.set(1, { pair });

  return {
    readiness(f: ReadinessFacts): void {
      const pair = { pair: f.pair };
      g.ready.set(bit(f.ready), pair);
      g.checkedAt.set(f.checkedAt, pair);
      if (f.ready) g.readyAt.set(f.checkedAt, pair);
      g.failing.set(f.failingChecks, pair);
      g.maxLag.set(f.maxLagSeconds, pair);
      for (const r of f.replicas) {
        const labels = { ...pair, server: r.server, site: r.site };
        g.replicating.set(bit(r.replicating), labels);
        g.lag.set(known(r.lagSeconds), labels);
      }
      for (const i of f.followers ?? []) g.esLag.set(known(i.lagOperations), { ...pair, index: i.index });
      for (const t of f.traffic ?? []) g.traffic.set(bit(t.serving), { ...pair, site: t.site });
    },
    move(f: MoveFacts): void {
      const labels = { pair: f.pair, type: f.type };
      moves.add(1, { ...labels, mode: f.mode, outcome: f.outcome });
      g.moveEnded.set(f.endedAt, labels);
      if (f.rtoSeconds !== undefined) g.rto.set(f.rtoSeconds, labels);
      if (f.writeOutageSeconds !== undefined) g.outage.set(f.writeOutageSeconds, labels);
    },
    drill(f: DrillFacts): void {
      drills.add(1, { pair: f.pair, mode: f.mode, outcome: f.outcome });
      g.drillAt.set(f.endedAt, { pair: f.pair });
      g.drillOk.set(bit(f.succeeded), { pair: f.pair });
    },
  };
}

/** The `drMetrics` sink of a worker serving `pairs`, recording on `meter` (the runtime's). */
export function drMetricsSinks(meter: MetricMeter, pairs: string[]): InjectedSinks<DrMetricsSinks> {
  const metrics = drMetrics(meter, pairs);
  return {
    drMetrics: {
      readiness: { fn: (_info, facts) => metrics.readiness(facts) },
      move: { fn: (_info, facts) => metrics.move(facts) },
      drill: { fn: (_info, facts) => metrics.drill(facts) },
    },
  };
}
