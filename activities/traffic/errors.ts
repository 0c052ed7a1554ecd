import { ApplicationFailure } from '@temporalio/common';
import { TRAFFIC_FAILURE_TYPES, type TrafficFailureType } from '../failure-types';
import { typedFailure } from '../failure';

export type { TrafficFailureType } from '../failure-types';

/**
 * A typed failure of the traffic activities; whether a retry can fix it comes from TRAFFIC_FAILURE_TYPES
 * (../failure-types.ts), the one list the workflows' retry policies are derived from.
 */
export function trafficFailure(
  type: Exclude<TrafficFailureType, 'OvhApiError'>,
  message: string,
  details?: unknown,
): ApplicationFailure {
  return typedFailure(type, message, TRAFFIC_FAILURE_TYPES[type].retryable === false, details);
}
