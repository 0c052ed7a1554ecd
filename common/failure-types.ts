import { ES_FAILURE_TYPES } from './es-failures';
import { MYSQL_FAILURE_TYPES } from './mysql-failures';

/**
 * Every typed failure the activities raise, per system, and whether a retry can fix it. This table is the one
 * source of truth: each system's errors module takes its union type and its retryable set from here, and the
 * workflows' retry policies take their `nonRetryableErrorTypes` from here. Pure data: workflow code imports it.
 */
export const FAILURE_TYPES = {
  mysql: MYSQL_FAILURE_TYPES,
  elasticsearch: ES_FAILURE_TYPES,
  traffic: {
    TrafficNotConfigured: { retryable: false },
    TrafficProviderNotImplemented: { retryable: false },
    UnknownSite: { retryable: false },
    TrafficProviderUnreachable: { retryable: true },
    TrafficMisconfigured: { retryable: false },
    TrafficCommandRejected: { retryable: true },
    TrafficTargetUnhealthy: { retryable: true },
    TrafficSwitchIncomplete: { retryable: true },
    IplbRefreshFailed: { retryable: true },
    IplbRefreshTimeout: { retryable: true },
    SecretUnavailable: { retryable: false },
    OvhInvalidCredentials: { retryable: false },
    OvhUnavailable: { retryable: true },
  },
  apps: {
    AppsNotConfigured: { retryable: false },
    UnknownAppHost: { retryable: false },
    SecretUnavailable: { retryable: false },
    HostKeyMismatch: { retryable: false },
    HostKeyInvalid: { retryable: false },
    SshAuthenticationFailed: { retryable: false },
    SshUnreachable: { retryable: true },
    SshTimeout: { retryable: true },
    SshError: { retryable: true },
    AppCommandFailed: { retryable: true },
    AppNotHealthy: { retryable: false },
    AppStillHealthy: { retryable: false },
  },
  pair: {
    UnknownPair: { retryable: false },
  },
} as const satisfies Record<string, Record<string, { retryable: boolean }>>;

export type FailureSystem = keyof typeof FAILURE_TYPES;

/** The failure types of `system` that no retry can fix. */
export function nonRetryableTypes(system: FailureSystem): string[] {
  return Object.entries(FAILURE_TYPES[system] as Record<string, { retryable: boolean }>)
    .filter(([, kind]) => !kind.retryable)
    .map(([type]) => type);
}
