import { ApplicationFailure } from '@temporalio/common';

/**
 * Failure types of the traffic activities (match them in nonRetryableErrorTypes and reports).
 * - TrafficNotConfigured (non-retryable): the runbook has no `traffic` section.
 * - TrafficProviderNotImplemented (non-retryable): the runbook names a provider this worker cannot drive yet.
 * - UnknownSite (non-retryable): the site is not one of the pair's traffic sites.
 * - TrafficProviderUnreachable (retryable): the switch's API or socket does not answer.
 * - TrafficMisconfigured (non-retryable): the provider does not know a backend/server/farm the runbook names.
 * - TrafficCommandRejected (retryable): the provider refused an operation.
 * - TrafficTargetUnhealthy (retryable): the provider's own health check says the target is down; not switching.
 * - TrafficSwitchIncomplete (retryable): after the operations, the target still is not the only site with traffic.
 */
export type TrafficFailureType =
  | 'TrafficNotConfigured'
  | 'TrafficProviderNotImplemented'
  | 'UnknownSite'
  | 'TrafficProviderUnreachable'
  | 'TrafficMisconfigured'
  | 'TrafficCommandRejected'
  | 'TrafficTargetUnhealthy'
  | 'TrafficSwitchIncomplete';

const NON_RETRYABLE = new Set<TrafficFailureType>([
  'TrafficNotConfigured',
  'TrafficProviderNotImplemented',
  'UnknownSite',
  'TrafficMisconfigured',
]);

export function trafficFailure(
  type: TrafficFailureType,
  message: string,
  details?: unknown,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: NON_RETRYABLE.has(type),
    details: details === undefined ? undefined : [details],
  });
}
