/**
 * Every typed failure the activities raise, per system, and whether a retry can fix it. This table is the one
 * source of truth: each system's errors module takes its union type and its retryable set from here, and the
 * workflows' retry policies take their `nonRetryableErrorTypes` from here. Pure data: workflow code imports it.
 */
export const FAILURE_TYPES = {
  mysql: {
    MysqlUnreachable: 'retryable',
    MysqlTimeout: 'retryable',
    MysqlError: 'retryable',
    InvalidCredentials: 'non-retryable',
    SecretUnavailable: 'non-retryable',
    NoCandidate: 'non-retryable',
    CandidateTooFarBehind: 'non-retryable',
    ReplicaNotCaughtUp: 'non-retryable',
    ReplicationBroken: 'non-retryable',
    ReplicationNotRunning: 'non-retryable',
    ErrantTransactions: 'non-retryable',
    SplitBrainRisk: 'non-retryable',
    NotAReplica: 'non-retryable',
    UnknownServer: 'non-retryable',
  },
  elasticsearch: {
    EsUnreachable: 'retryable',
    EsTimeout: 'retryable',
    EsRemoteUnreachable: 'retryable',
    EsUnavailable: 'retryable',
    InvalidCredentials: 'non-retryable',
    EsForbidden: 'non-retryable',
    SecretUnavailable: 'non-retryable',
    EsIndexNotFound: 'non-retryable',
    IndexNotFollower: 'non-retryable',
    LeaderIndexMissing: 'non-retryable',
    FollowerIndexExists: 'non-retryable',
    IndexFollowsOtherLeader: 'non-retryable',
    RemoteClusterNotConfigured: 'non-retryable',
    AutoFollowPatternNotFound: 'non-retryable',
    IndexClosed: 'non-retryable',
    EsRequestRejected: 'non-retryable',
    EsNotElasticsearch: 'non-retryable',
    ElasticsearchNotConfigured: 'non-retryable',
    UnknownSite: 'non-retryable',
    PromotionIncomplete: 'non-retryable',
  },
  traffic: {
    TrafficNotConfigured: 'non-retryable',
    TrafficProviderNotImplemented: 'non-retryable',
    UnknownSite: 'non-retryable',
    TrafficProviderUnreachable: 'retryable',
    TrafficMisconfigured: 'non-retryable',
    TrafficCommandRejected: 'retryable',
    TrafficTargetUnhealthy: 'retryable',
    TrafficSwitchIncomplete: 'retryable',
    IplbRefreshFailed: 'retryable',
    IplbRefreshTimeout: 'retryable',
    SecretUnavailable: 'non-retryable',
    OvhInvalidCredentials: 'non-retryable',
    OvhUnavailable: 'retryable',
  },
  apps: {
    AppsNotConfigured: 'non-retryable',
    UnknownAppHost: 'non-retryable',
    SecretUnavailable: 'non-retryable',
    HostKeyMismatch: 'non-retryable',
    HostKeyInvalid: 'non-retryable',
    SshAuthenticationFailed: 'non-retryable',
    SshUnreachable: 'retryable',
    SshTimeout: 'retryable',
    SshError: 'retryable',
    AppCommandFailed: 'retryable',
    AppNotHealthy: 'non-retryable',
    AppStillHealthy: 'non-retryable',
  },
  pair: {
    UnknownPair: 'non-retryable',
  },
} as const satisfies Record<string, Record<string, 'retryable' | 'non-retryable'>>;

export type FailureSystem = keyof typeof FAILURE_TYPES;

/** The failure types of `system` that no retry can fix. */
export function nonRetryableTypes(system: FailureSystem): string[] {
  return Object.entries(FAILURE_TYPES[system])
    .filter(([, kind]) => kind === 'non-retryable')
    .map(([type]) => type);
}
