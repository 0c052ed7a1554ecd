import { describe, expect, it } from 'vitest';
import {
  APP_FAILURE_TYPES,
  NON_RETRYABLE_APP_FAILURES,
  NON_RETRYABLE_TRAFFIC_FAILURES,
  TRAFFIC_FAILURE_TYPES,
} from '../common/traffic-app-failures';
import { trafficFailure } from '../activities/traffic/errors';

describe('failure types of the traffic and application activities', () => {
  it('lists what no retry can fix, for the workflows to put in nonRetryableErrorTypes', () => {
    expect(NON_RETRYABLE_TRAFFIC_FAILURES).toEqual(
      expect.arrayContaining(['TrafficTargetUnhealthy', 'TrafficCommandRejected', 'TrafficMisconfigured']),
    );
    // Retryable, or decided per failure (an OVH 409 is retryable, a 400 is not): never listed.
    for (const type of ['TrafficProviderUnreachable', 'OvhUnavailable', 'OvhApiError', 'IplbRefreshTimeout'])
      expect(NON_RETRYABLE_TRAFFIC_FAILURES).not.toContain(type);
    expect(NON_RETRYABLE_APP_FAILURES).toEqual(
      expect.arrayContaining(['HostKeyMismatch', 'AppNotHealthy', 'InvalidActivityInput']),
    );
    expect(NON_RETRYABLE_APP_FAILURES).not.toContain('SshUnreachable');
  });

  it('builds every traffic failure with the retryability the list gives', () => {
    for (const [type, info] of Object.entries(TRAFFIC_FAILURE_TYPES)) {
      if (info.retryable === 'per-failure') continue;
      const failure = trafficFailure(type as Parameters<typeof trafficFailure>[0], 'x');
      expect({ type: failure.type, nonRetryable: failure.nonRetryable }).toEqual({
        type,
        nonRetryable: !info.retryable,
      });
    }
    expect(Object.keys(APP_FAILURE_TYPES)).toContain('AppCommandFailed');
  });
});
