import { durationMs } from '../config/duration';
import { declaredSystems, type SystemName } from '../config/schema';
import type { RunbookRegistry } from './runbooks';

/** What a workflow may know of a pair: names, roles and thresholds, never addresses of secrets or secrets. */
export interface PairSettings {
  pair: string;
  sites: { primary: string; standby: string };
  mysql: {
    servers: {
      name: string;
      site: string;
      role: 'primary' | 'replica';
      host: string;
      port: number;
      /** The runbook has an `ssh` section for this server's host: its binlog can be salvaged when mysqld dies. */
      salvage?: boolean;
    }[];
    maxLagSeconds: number;
  };
  /** Present when the runbook has an elasticsearch section. */
  elasticsearch?: {
    followerIndices: string[];
    autoFollowPatterns: string[];
    maxLagOperations: number;
    /**
     * By site: the name under which that site's cluster knows the other one (the `remote_cluster` of its
     * followers). Absent from the results of older workers.
     */
    remoteAliases?: Record<string, string>;
  };
  /** Present when the runbook has a traffic section. */
  traffic?: { provider: string };
  /** The runbook's application hosts (no SSH settings). */
  apps: { name: string; site: string }[];
  /** What a failback does with the apps of the site it leaves (absent from older workers: keep them running). */
  appsAfterFailback?: 'keep-running' | 'stop';
  approval: {
    policy: 'required' | 'auto' | 'auto-after';
    approvers: string[];
    timeoutMs: number;
    onTimeout: 'reject' | 'approve';
    /** auto-after: how long a run waits for a rejection before it proceeds. */
    delayMs?: number;
  };
  probes: { intervalMs: number; timeoutMs: number; fall: number; rise: number };
  /**
   * The systems whose failure alone makes the primary site need a failover (the runbook's `detection.critical`,
   * by default every system it declares). Absent from the results of older workers: every declared system.
   */
  detection?: { critical: SystemName[] };
  timeouts: {
    activityMs: number;
    replicaCatchUpMs: number;
    appStartMs: number;
    trafficSwitchMs: number;
    /** Salvaging a dead primary's binlog; absent from the results of older workers. */
    salvageMs?: number;
    /** The runbook's `timeouts.heartbeat`, when it sets one. */
    heartbeatMs?: number;
    runMs: number;
  };
}

export function createPairSettingsActivities({ runbooks }: { runbooks: RunbookRegistry }) {
  return {
    async pairSettings(input: { pair: string }): Promise<PairSettings> {
      const { runbook } = runbooks.get(input.pair);
      return {
        pair: runbook.pair,
        sites: { primary: runbook.sites.primary.name, standby: runbook.sites.standby.name },
        mysql: {
          servers: runbook.mysql.servers.map(({ name, site, role, host, port, ssh }) => ({
            name,
            site,
            role,
            host,
            port,
            ...(ssh ? { salvage: true } : {}),
          })),
          maxLagSeconds: runbook.mysql.maxLagSeconds,
        },
        elasticsearch: runbook.elasticsearch && {
          followerIndices: runbook.elasticsearch.followerIndices,
          autoFollowPatterns: runbook.elasticsearch.autoFollowPatterns,
          maxLagOperations: runbook.elasticsearch.maxLagOperations,
          remoteAliases: Object.fromEntries(
            runbook.elasticsearch.clusters.map((c) => [c.site, c.remoteAlias]),
          ),
        },
        traffic: runbook.traffic && { provider: runbook.traffic.provider },
        apps: (runbook.apps?.hosts ?? []).map(({ name, site }) => ({ name, site })),
        appsAfterFailback: runbook.apps?.afterFailback ?? 'keep-running',
        approval: {
          policy: runbook.approval.policy,
          approvers: runbook.approval.approvers,
          timeoutMs: durationMs(runbook.approval.timeout),
          onTimeout: runbook.approval.onTimeout,
          ...(runbook.approval.delay ? { delayMs: durationMs(runbook.approval.delay) } : {}),
        },
        probes: {
          intervalMs: durationMs(runbook.probes.interval),
          timeoutMs: durationMs(runbook.probes.timeout),
          fall: runbook.probes.fall,
          rise: runbook.probes.rise,
        },
        detection: { critical: runbook.detection?.critical ?? declaredSystems(runbook) },
        timeouts: {
          activityMs: durationMs(runbook.timeouts.activity),
          replicaCatchUpMs: durationMs(runbook.timeouts.replicaCatchUp),
          appStartMs: durationMs(runbook.timeouts.appStart),
          trafficSwitchMs: durationMs(runbook.timeouts.trafficSwitch),
          salvageMs: durationMs(runbook.timeouts.salvage),
          ...(runbook.timeouts.heartbeat ? { heartbeatMs: durationMs(runbook.timeouts.heartbeat) } : {}),
          runMs: durationMs(runbook.timeouts.run),
        },
      };
    },
  };
}
