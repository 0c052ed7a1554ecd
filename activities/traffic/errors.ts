import { ApplicationFailure } from '@temporalio/common';
import { typedFailure } from '../failure';

/**
 * Failure types of the traffic activities (match them in nonRetryableErrorTypes and reports).
 * - TrafficNotConfigured (non-retryable): the runbook has no `traffic` section.
 * - TrafficProviderNotImplemented (non-retryable): the runbook names a provider this worker cannot drive yet.
 * - UnknownSite (non-retryable): the site is not one of the pair's traffic sites.
 * - TrafficProviderUnreachable (retryable): the switch's API or socket does not answer.
 * - TrafficMisconfigured (non-retryable): the provider does not know a backend/server/farm the runbook names.
 * - TrafficCommandRejected (retryable): the provider refused an operation.
 * - TrafficTargetUnhealthy (retryable): the provider's own health check says the target is down; not switching.
 * - TrafficSwitchIncomplete (retryable): after the operations, the target still is not the only site with traffic
 *   (or, for OVH DNS, the zone was not deployed within the runbook's refreshTimeout).
 * - IplbRefreshFailed (retryable): an OVH IP Load Balancer refresh task ended in `error`; the change is still
 *   pending, and a retry asks for a new refresh.
 * - IplbRefreshTimeout (retryable): the refresh (waiting for running tasks, then ours) outlasted `refreshTimeout`.
 * - SecretUnavailable (non-retryable): a secret reference of the runbook cannot be read.
 * OVH API failures (./ovh-client.ts): OvhInvalidCredentials (non-retryable), OvhUnavailable (retryable),
 * OvhApiError (non-retryable for 400/404/405, retryable otherwise).
 */
export type TrafficFailureType =
  | 'TrafficNotConfigured'
  | 'TrafficProviderNotImplemented'
  | 'UnknownSite'
  | 'TrafficProviderUnreachable'
  | 'TrafficMisconfigured'
  | 'TrafficCommandRejected'
  | 'TrafficTargetUnhealthy'
  | 'TrafficSwitchIncomplete'
  | 'IplbRefreshFailed'
  | 'IplbRefreshTimeout'
  | 'SecretUnavailable';

const NON_RETRYABLE = new Set<TrafficFailureType>([
  'TrafficNotConfigured',
  'TrafficProviderNotImplemented',
  'UnknownSite',
  'TrafficMisconfigured',
  'SecretUnavailable',
]);

export function trafficFailure(
  type: TrafficFailureType,
  message: string,
  details?: unknown,
): ApplicationFailure {
  return typedFailure(type, message, NON_RETRYABLE.has(type), details);
}
