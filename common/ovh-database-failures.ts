import type { FailureTypeInfo } from './traffic-app-failures';

/**
 * The failure types the OVH managed-database activities raise (activities/ovh-database), and whether a retry can fix
 * each. The OVH client's own types (OvhApiError, OvhInvalidCredentials, OvhUnavailable) and the shared ones
 * (UnknownPair, InvalidActivityInput, SecretUnavailable) are listed with the traffic failures. Free of imports that
 * workflow code could not load.
 */
export const OVH_DATABASE_FAILURE_TYPES = {
  OvhDatabaseNotConfigured: {
    retryable: false,
    means: 'the runbook has no ovhDatabases section, or none of its services has that name',
  },
  OvhDatabaseMisconfigured: {
    retryable: false,
    means:
      'the OVH API does not know the project, service or backup the runbook names, or refuses the fork it describes',
  },
  OvhDatabaseNoBackupInRegion: {
    retryable: false,
    means: "no backup of the service is stored in the runbook's drRegion: there is nothing to restore there",
  },
  OvhDatabaseForkFailed: {
    retryable: false,
    means: 'the service forked from the backup ended in an error status instead of READY',
  },
  OvhDatabaseNotReady: {
    retryable: false,
    means: "the forked service was not READY within the runbook's readyTimeout; it may still become ready",
  },
  OvhDatabasePasswordSinkFailed: {
    retryable: false,
    means: "a new user's password could not be written to the runbook's passwordsDir",
  },
} as const satisfies Record<string, FailureTypeInfo>;

export type OvhDatabaseFailureType = keyof typeof OVH_DATABASE_FAILURE_TYPES;
