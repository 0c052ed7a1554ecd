import { ES_FAILURE_TYPES } from './es-failures';
import { MYSQL_FAILURE_TYPES } from './mysql-failures';
import { OVH_DATABASE_FAILURE_TYPES } from './ovh-database-failures';
import { REDIS_FAILURE_TYPES } from './redis-failures';
import { APP_FAILURE_TYPES, TRAFFIC_FAILURE_TYPES } from './traffic-app-failures';

/** The failures of reading a pair's settings for a run (the pairSettings activity). */
export const SETTINGS_FAILURE_TYPES = {
  ApproversUnavailable: {
    retryable: false,
    means:
      "an allowed_signers file named in the runbook's approval.approvers cannot be read, does not parse or lists no signer",
  },
} as const satisfies Record<string, { retryable: boolean; means: string }>;

/**
 * Every typed failure the activities raise, per system, and whether a retry can fix it: each system's catalog
 * (which its errors module builds its failures from), gathered for the workflows' retry policies, which take their
 * `nonRetryableErrorTypes` from here. Pure data: workflow code imports it.
 */
export const FAILURE_TYPES = {
  mysql: MYSQL_FAILURE_TYPES,
  elasticsearch: ES_FAILURE_TYPES,
  traffic: TRAFFIC_FAILURE_TYPES,
  apps: APP_FAILURE_TYPES,
  'ovh-database': OVH_DATABASE_FAILURE_TYPES,
  redis: REDIS_FAILURE_TYPES,
  settings: SETTINGS_FAILURE_TYPES,
} as const satisfies Record<string, Record<string, { retryable: boolean | 'per-failure' }>>;

export type FailureSystem = keyof typeof FAILURE_TYPES;

/** The failure types of `system` that no retry can fix. */
export function nonRetryableTypes(system: FailureSystem): string[] {
  return Object.entries(FAILURE_TYPES[system] as Record<string, { retryable: boolean | 'per-failure' }>)
    .filter(([, kind]) => kind.retryable === false)
    .map(([type]) => type);
}
