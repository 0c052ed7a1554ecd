import { ApplicationFailure } from '@temporalio/common';
import { TRAFFIC_FAILURE_TYPES, type TrafficFailureType } from '../../common/traffic-app-failures';
import { typedFailure } from '../failure';

export type { TrafficFailureType } from '../../common/traffic-app-failures';

/**
 * A typed failure of the traffic activities; whether a retry can fix it comes from TRAFFIC_FAILURE_TYPES
 * (common/traffic-app-failures.ts), the one list the workflows' retry policies are derived from.
 */
export function trafficFailure(
  type: Exclude<TrafficFailureType, 'OvhApiError'>,
  message: string,
  details?: unknown,
): ApplicationFailure {
  return typedFailure(type, message, TRAFFIC_FAILURE_TYPES[type].retryable === false, details);
}
