import path from 'node:path';
import type { AllowedSigner } from '../common/approval-signature';
import { SETTINGS_FAILURE_TYPES } from '../common/failure-types';
import { webhookName } from '../common/notifications';
import { approverNames, ApproversUnavailableError, resolveApprovers } from '../config/approvers';
import { durationMs } from '../config/duration';
import type { LoadedRunbook } from '../config/load';
import { detectedSystems, type AppEndpointConfig, type SystemName } from '../config/schema';
import { typedFailure } from './failure';
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
    /** The runbook delegates the switch itself to MHA (absent: the run's own steps; and from older workers). */
    delegate?: 'mha';
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
  /**
   * The runbook's OVH managed databases, restored from backup into `drRegion` at failover (no credentials). Absent
   * when the runbook has no ovhDatabases section.
   */
  ovhDatabases?: {
    name: string;
    engine: 'mysql' | 'postgresql';
    clusterId: string;
    drRegion: string;
    users: string[];
    ipRestrictions: string[];
    readyTimeoutMs: number;
  }[];
  /** Present when the runbook has a postgresql section: one server per site (no addresses of secrets). */
  postgresql?: {
    servers: { name: string; site: string; role: 'primary' | 'standby'; host: string; port: number }[];
    maxLagBytes: number;
  };
  /** Present when the runbook has a redis section: its servers (no password) and the planned move's limits. */
  redis?: {
    servers: { name: string; site: string; role: 'master' | 'replica'; host: string; port: number }[];
    pauseMs: number;
    catchUpMs: number;
  };
  /**
   * The runbook's application hosts (no SSH settings). `config`: how the app finds its database, when the runbook
   * says (absent: a fixed endpoint nothing checks, as before that setting existed).
   */
  apps: { name: string; site: string; config?: AppConfigSettings }[];
  /** What a failback does with the apps of the site it leaves (absent from older workers: keep them running). */
  appsAfterFailback?: 'keep-running' | 'stop';
  /**
   * Who may answer the run's questions, and how. The fields after `delayMs` are absent from the results of older
   * workers, which knew approvers by name only.
   */
  approval: {
    policy: 'required' | 'auto' | 'auto-after';
    /** The approvers' names: the principal patterns of the signers, then the names that answer unsigned. */
    approvers: string[];
    timeoutMs: number;
    onTimeout: 'reject' | 'approve';
    /** auto-after: how long a run waits for a rejection before it proceeds. */
    delayMs?: number;
    /** The keys that may sign answers (allowed_signers entries, files read), each with the principals it signs as. */
    signers?: AllowedSigner[];
    /** `allow`: the names in `unsignedApprovers` answer without a signature; `refuse`: every answer is signed. */
    unsigned?: 'allow' | 'refuse';
    /** The approvers given by bare name, who answer unsigned (only with `unsigned: 'allow'`). */
    unsignedApprovers?: string[];
    /** A signed answer signed longer ago than this is refused. */
    signatureMaxAgeMs?: number;
    /** The run's requester may not answer its approvals. */
    fourEyes?: boolean;
  };
  probes: { intervalMs: number; timeoutMs: number; fall: number; rise: number };
  /**
   * The systems whose failure alone makes the primary site need a failover (the runbook's `detection.critical`,
   * by default every system it declares). Absent from the results of older workers: every declared system.
   */
  detection?: { critical: SystemName[] };
  /**
   * How long the watcher of an unplanned failover's unfenced old site tries to fence it (the runbook's
   * `fencing.watchFor`). Absent from the results of older workers: 24 hours.
   */
  fencing?: { watchForMs: number };
  /** The runbook's `notifications.webhooks` by name (never their URLs). Absent from the results of older workers. */
  notifications?: { webhooks: string[] };
  /**
   * The runbook's drills section, as a game-day drill's moves read it: whether the drill approves its own failover and
   * failback, and whether it has a writer. Absent when the runbook has no drills section (and from older workers).
   */
  drills?: { gameDayApproval: 'required' | 'auto'; writer: boolean };
  timeouts: {
    activityMs: number;
    replicaCatchUpMs: number;
    appStartMs: number;
    trafficSwitchMs: number;
    /** Salvaging a dead primary's binlog; absent from the results of older workers. */
    salvageMs?: number;
    /** Rebuilding an old primary; absent from the results of older workers. */
    rebuildMs?: number;
    /** A switch delegated to MHA (the runbook's `mysql.delegate.timeout`); absent without a delegate. */
    delegateMs?: number;
    /** The runbook's `timeouts.heartbeat`, when it sets one. */
    heartbeatMs?: number;
    /** The removed `timeouts.run` (histories recorded by older workers carry it; nothing reads it). */
    runMs?: number;
  };
}

/** An app's `config` as a workflow knows it: its kind, and what a step names (never credentials). */
export type AppConfigSettings =
  | { kind: 'fixed'; database?: string }
  | { kind: 'template'; path: string; reload: boolean }
  | { kind: 'ovh-dns'; record: string };

function appConfigSettings(config: AppEndpointConfig | undefined): AppConfigSettings | undefined {
  switch (config?.kind) {
    case undefined:
      return undefined;
    case 'fixed':
      return { kind: 'fixed', ...(config.database ? { database: config.database } : {}) };
    case 'template':
      return { kind: 'template', path: config.path, reload: config.reload !== undefined };
    case 'ovh-dns':
      return {
        kind: 'ovh-dns',
        record: `${config.subDomain ? `${config.subDomain}.` : ''}${config.zone} ${config.fieldType}`,
      };
  }
}

export function createPairSettingsActivities({ runbooks }: { runbooks: RunbookRegistry }) {
  return {
    async pairSettings(input: { pair: string }): Promise<PairSettings> {
      const loaded = runbooks.get(input.pair);
      const { runbook } = loaded;
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
          ...(runbook.mysql.delegate ? { delegate: runbook.mysql.delegate.tool } : {}),
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
        ...(runbook.ovhDatabases
          ? {
              ovhDatabases: runbook.ovhDatabases.services.map((db) => ({
                name: db.name,
                engine: db.engine,
                clusterId: db.clusterId,
                drRegion: db.drRegion,
                users: db.users,
                ipRestrictions: db.ipRestrictions.map((r) => r.ip),
                readyTimeoutMs: durationMs(db.readyTimeout),
              })),
            }
          : {}),
        ...(runbook.postgresql
          ? {
              postgresql: {
                servers: runbook.postgresql.servers.map(({ name, site, role, host, port }) => ({
                  name,
                  site,
                  role,
                  host,
                  port,
                })),
                maxLagBytes: runbook.postgresql.maxLagBytes,
              },
            }
          : {}),
        ...(runbook.redis
          ? {
              redis: {
                servers: runbook.redis.servers.map(({ name, site, role, host, port }) => ({
                  name,
                  site,
                  role,
                  host,
                  port,
                })),
                pauseMs: durationMs(runbook.redis.pauseTimeout),
                catchUpMs: durationMs(runbook.redis.catchUpTimeout),
              },
            }
          : {}),
        apps: (runbook.apps?.hosts ?? []).map(({ name, site, config }) => {
          const settings = appConfigSettings(config);
          return { name, site, ...(settings ? { config: settings } : {}) };
        }),
        appsAfterFailback: runbook.apps?.afterFailback ?? 'keep-running',
        approval: approvalSettings(loaded),
        probes: {
          intervalMs: durationMs(runbook.probes.interval),
          timeoutMs: durationMs(runbook.probes.timeout),
          fall: runbook.probes.fall,
          rise: runbook.probes.rise,
        },
        detection: { critical: runbook.detection?.critical ?? detectedSystems(runbook) },
        fencing: { watchForMs: durationMs(runbook.fencing.watchFor) },
        notifications: { webhooks: runbook.notifications.webhooks.map(webhookName) },
        ...(runbook.drills
          ? {
              drills: {
                gameDayApproval: runbook.drills.gameDay.approval,
                writer: runbook.drills.gameDay.writer !== undefined,
              },
            }
          : {}),
        timeouts: {
          activityMs: durationMs(runbook.timeouts.activity),
          replicaCatchUpMs: durationMs(runbook.timeouts.replicaCatchUp),
          appStartMs: durationMs(runbook.timeouts.appStart),
          trafficSwitchMs: durationMs(runbook.timeouts.trafficSwitch),
          salvageMs: durationMs(runbook.timeouts.salvage),
          rebuildMs: durationMs(runbook.timeouts.rebuild),
          ...(runbook.mysql.delegate ? { delegateMs: durationMs(runbook.mysql.delegate.timeout) } : {}),
          ...(runbook.timeouts.heartbeat ? { heartbeatMs: durationMs(runbook.timeouts.heartbeat) } : {}),
        },
      };
    },
  };
}

/**
 * The runbook's approval section for the workflow, its allowed_signers files read now (so that a key added or removed
 * takes effect at the next run). A file that cannot be read or parsed fails the activity: non-retryable
 * ApproversUnavailable, naming the field and the file.
 */
function approvalSettings({ runbook, file }: LoadedRunbook): PairSettings['approval'] {
  const { approval } = runbook;
  let approvers;
  try {
    approvers = resolveApprovers(approval.approvers, path.dirname(file));
  } catch (err) {
    if (!(err instanceof ApproversUnavailableError)) throw err;
    throw typedFailure(
      'ApproversUnavailable',
      `the approvers of pair ${runbook.pair} cannot be read: ${err.message}`,
      !SETTINGS_FAILURE_TYPES.ApproversUnavailable.retryable,
      { field: err.field },
    );
  }
  return {
    policy: approval.policy,
    approvers: approverNames(approvers),
    timeoutMs: durationMs(approval.timeout),
    onTimeout: approval.onTimeout,
    ...(approval.delay ? { delayMs: durationMs(approval.delay) } : {}),
    signers: approvers.signers,
    unsigned: approval.unsigned,
    unsignedApprovers: approval.unsigned === 'allow' ? approvers.unsignedNames : [],
    signatureMaxAgeMs: durationMs(approval.signatureMaxAge),
    fourEyes: approval.fourEyes,
  };
}
