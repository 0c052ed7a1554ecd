import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { SecretUnavailableError } from '../../config/secrets';
import type { OvhDatabaseConfig, OvhDatabasesConfig } from '../../config/schema';
import { OVH_DATABASE_FAILURE_TYPES, type OvhDatabaseFailureType } from '../../common/ovh-database-failures';
import { typedFailure } from '../failure';
import type { RunbookRegistry } from '../runbooks';
import {
  OvhApiError,
  OvhClient,
  OvhClientMisconfigured,
  ovhFailure,
  type OvhClientOptions,
} from '../traffic/ovh-client';

/** A typed failure of the managed-database activities; retryable or not as OVH_DATABASE_FAILURE_TYPES says. */
export function dbFailure(
  type: OvhDatabaseFailureType,
  message: string,
  details?: unknown,
): ApplicationFailure {
  return typedFailure(type, message, OVH_DATABASE_FAILURE_TYPES[type].retryable === false, details);
}

/** One declared managed database with what its activities need: the section, the API client, the base path. */
export interface ManagedDatabase {
  pair: string;
  config: OvhDatabaseConfig;
  section: OvhDatabasesConfig;
  /** The runbook's folder: relative `passwordsDir` and `file:` references resolve against it. */
  runbookDir: string;
  client: OvhClient;
  /** `/cloud/project/{serviceName}/database/mysql`, encoded. */
  base: string;
  /** "app-db (mysql service 1f2e… of project abc…)", for sentences. */
  label: string;
}

/** The OVH API clients of the managed-database activities, one per pair, created at first use. */
export class OvhDatabaseClients {
  private readonly clients = new Map<string, OvhClient>();

  constructor(
    private readonly runbooks: RunbookRegistry,
    private readonly options: OvhClientOptions = {},
  ) {}

  /** The declared database `name` of `pair`; OvhDatabaseNotConfigured when there is none. */
  get(pair: string, name: string): ManagedDatabase {
    const loaded = this.runbooks.get(pair);
    const section = loaded.runbook.ovhDatabases;
    const config = section?.services.find((s) => s.name === name);
    if (!section || !config) {
      const known = section?.services.map((s) => s.name).join(', ');
      throw dbFailure(
        'OvhDatabaseNotConfigured',
        section
          ? `pair ${pair} declares no managed database "${name}" (its ovhDatabases.services: ${known})`
          : `pair ${pair} has no ovhDatabases section`,
      );
    }
    const runbookDir = path.dirname(loaded.file);
    let client = this.clients.get(pair);
    if (!client) {
      client = new OvhClient(section.ovh, runbookDir, this.options);
      this.clients.set(pair, client);
    }
    const base = `/cloud/project/${encodeURIComponent(config.serviceName)}/database/${config.engine}`;
    return {
      pair,
      config,
      section,
      runbookDir,
      client,
      base,
      label: `${config.name} (${config.engine} service ${config.clusterId} of project ${config.serviceName})`,
    };
  }
}

/**
 * Runs an operation with typed failures for what the OVH API throws: a 404 means the runbook names something that is
 * not there; a client that cannot be built is a misconfiguration; anything else goes through ovhFailure.
 */
export async function guardDb<T>(db: ManagedDatabase, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (err instanceof SecretUnavailableError) throw ovhFailure(err);
    if (err instanceof OvhClientMisconfigured) throw dbFailure('OvhDatabaseMisconfigured', err.message);
    if (err instanceof OvhApiError && (err.status === 404 || err.status === 400))
      throw dbFailure(
        'OvhDatabaseMisconfigured',
        `${db.label}: ${err.message}; check ovhDatabases.services (serviceName, clusterId, drRegion, plan, flavor) against the OVH project`,
        { status: err.status },
      );
    throw ovhFailure(err);
  }
}
