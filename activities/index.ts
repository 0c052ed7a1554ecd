import type { LoadedRunbook } from '../config/load';
import { MysqlConnections } from './mysql/connections';
import { createMysqlActivities } from './mysql';
import { createPairSettingsActivities } from './pair-settings';
import { RunbookRegistry } from './runbooks';

/** Clients shared by all activities of one worker; created once, closed at shutdown. */
export interface ActivityClients {
  runbooks: RunbookRegistry;
  mysql: MysqlConnections;
  close(): Promise<void>;
}

export function createClients(runbooks: Map<string, LoadedRunbook>): ActivityClients {
  const registry = new RunbookRegistry(runbooks);
  const mysql = new MysqlConnections(registry);
  return { runbooks: registry, mysql, close: () => mysql.close() };
}

export function createActivities(clients: ActivityClients) {
  return {
    ...createPairSettingsActivities({ runbooks: clients.runbooks }),
    ...createMysqlActivities({ runbooks: clients.runbooks, connections: clients.mysql }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
