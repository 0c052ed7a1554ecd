/**
 * The one list of the failure types the traffic and application activities raise, and whether a retry can fix
 * each. The activities build their failures from it (so `nonRetryable` always agrees with it), and workflows derive
 * their retry policies' `nonRetryableErrorTypes` from it. Free of imports: workflow code can import it.
 *
 * `retryable`:
 * - `false`: a retry cannot change the answer; a human must act (the failure's message says on what).
 * - `true`: the next attempt may succeed (network, a provider busy or slow); the workflow's retry policy bounds it.
 * - `'per-failure'`: decided by each failure (its `nonRetryable` flag), e.g. an OVH API error is retryable only for
 *   409 and a stale timestamp. Never list these in `nonRetryableErrorTypes`.
 */
export interface FailureTypeInfo {
  retryable: boolean | 'per-failure';
  /** What it means, for humans and reports. */
  means: string;
}

const SHARED = {
  UnknownPair: { retryable: false, means: 'the worker serves no runbook for that DR pair' },
  InvalidActivityInput: {
    retryable: false,
    means:
      'the activity was called with an input that fails its schema (the message names the field); nothing was changed',
  },
  SecretUnavailable: {
    retryable: false,
    means: 'a secret reference of the runbook cannot be read, or its file is readable by group or others',
  },
} as const satisfies Record<string, FailureTypeInfo>;

export const TRAFFIC_FAILURE_TYPES = {
  ...SHARED,
  TrafficNotConfigured: { retryable: false, means: 'the runbook has no traffic section' },
  TrafficProviderNotImplemented: {
    retryable: false,
    means: 'the runbook names a traffic provider this worker cannot drive',
  },
  UnknownSite: { retryable: false, means: "the site is not one of the pair's traffic sites" },
  TrafficMisconfigured: {
    retryable: false,
    means: 'the provider does not know a backend, server, farm, frontend, zone or record the runbook names',
  },
  TrafficCommandRejected: {
    retryable: false,
    means: 'the provider refused an operation (e.g. an HAProxy runtime API socket below level admin)',
  },
  TrafficTargetUnhealthy: {
    retryable: false,
    means:
      "the provider's own health check still fails on the target after the switch waited for it; not switching",
  },
  TrafficProviderUnreachable: { retryable: true, means: "the switch's API or socket does not answer" },
  TrafficSwitchIncomplete: {
    retryable: true,
    means:
      'after the operations the target is not the only site with traffic, or the DNS zone was not deployed in time',
  },
  IplbRefreshFailed: {
    retryable: true,
    means:
      'an OVH IP Load Balancer refresh task ended in error; the change is still pending and a retry refreshes again',
  },
  IplbRefreshTimeout: { retryable: true, means: 'the IPLB refresh outlasted refreshTimeout' },
  CloudLbPendingTimeout: {
    retryable: true,
    means:
      'an OVH Public Cloud load balancer stayed busy (not active) past pendingTimeout; a retry goes on from what is done',
  },
  OvhInvalidCredentials: {
    retryable: false,
    means:
      'the OVH API refused the credentials (key, secret, consumer key or service account, or their rights)',
  },
  OvhUnavailable: {
    retryable: true,
    means: 'the OVH API did not answer usably (5xx, 408, 429, network, TLS)',
  },
  OvhApiError: {
    retryable: 'per-failure',
    means: 'any other OVH API refusal; retryable only for 409 and a stale timestamp',
  },
} as const satisfies Record<string, FailureTypeInfo>;

export const APP_FAILURE_TYPES = {
  ...SHARED,
  AppsNotConfigured: { retryable: false, means: 'the runbook has no apps section' },
  UnknownAppHost: { retryable: false, means: 'the runbook has no such application host' },
  HostKeyMismatch: {
    retryable: false,
    means: 'the SSH server presented another host key than the pinned one',
  },
  HostKeyInvalid: { retryable: false, means: "the runbook's pinned host key is not a usable public key" },
  SshAuthenticationFailed: { retryable: false, means: 'the SSH server refused the private key' },
  SshUnreachable: { retryable: true, means: 'the SSH server cannot be reached' },
  SshTimeout: { retryable: true, means: 'no SSH handshake, or the command outlasted its time' },
  SshError: { retryable: true, means: 'another SSH transport error' },
  AppCommandFailed: {
    retryable: true,
    means: 'the start or stop command exited non-zero (the workflow retry policy bounds the attempts)',
  },
  AppNotHealthy: {
    retryable: false,
    means: 'started, but the health check did not pass rise times in a row within timeouts.appStart',
  },
  AppStillHealthy: { retryable: false, means: 'stopped, but the health check still passes' },
  AppConfigNotDeclared: {
    retryable: false,
    means: "the host's config is not one the orchestrator writes (template or ovh-dns)",
  },
  AppConfigInvalid: {
    retryable: false,
    means:
      "the app's config cannot be rendered: its template cannot be read, names a placeholder it cannot fill, or the server has no target",
  },
  AppConfigWriteFailed: {
    retryable: true,
    means: "writing the app's config file on its host failed (the host's shell said why)",
  },
} as const satisfies Record<string, FailureTypeInfo>;

export type TrafficFailureType = keyof typeof TRAFFIC_FAILURE_TYPES;
export type AppFailureType = keyof typeof APP_FAILURE_TYPES;

/** The types of a table that no retry can fix: what a retry policy's `nonRetryableErrorTypes` should list. */
export function nonRetryableTypes(table: Record<string, FailureTypeInfo>): string[] {
  return Object.entries(table)
    .filter(([, info]) => info.retryable === false)
    .map(([type]) => type);
}

export const NON_RETRYABLE_TRAFFIC_FAILURES = nonRetryableTypes(TRAFFIC_FAILURE_TYPES);
export const NON_RETRYABLE_APP_FAILURES = nonRetryableTypes(APP_FAILURE_TYPES);
