import type { LoadedRunbook } from '../config/load';
import { createAppActivities } from './apps';
import { createAppConfigActivities } from './apps/config';
import { SshClient } from './apps/ssh';
import { createDrillActivities } from './drills';
import { createElasticsearchActivities } from './elasticsearch';
import { EsClients } from './elasticsearch/clients';
import { MysqlConnections } from './mysql/connections';
import { createNotificationActivities } from './notifications';
import { temporalSettings, temporalUiUrl } from '../common/temporal-connection';
import { createMysqlActivities } from './mysql';
import { createOvhDatabaseActivities } from './ovh-database';
import { OvhDatabaseClients } from './ovh-database/client';
import { createPairSettingsActivities } from './pair-settings';
import { createRedisActivities, RedisClients } from './redis';
import { createPostgresqlActivities } from './postgresql';
import { PgConnections } from './postgresql/connections';
import { RunbookRegistry } from './runbooks';
import { createTrafficActivities } from './traffic';
import { TrafficProviders } from './traffic/providers';

/** Clients shared by all activities of one worker; created once, closed at shutdown. */
export interface ActivityClients {
  runbooks: RunbookRegistry;
  mysql: MysqlConnections;
  traffic: TrafficProviders;
  ssh: SshClient;
  es: EsClients;
  ovhDatabases: OvhDatabaseClients;
  redis: RedisClients;
  postgresql: PgConnections;
  close(): Promise<void>;
}

export function createClients(runbooks: Map<string, LoadedRunbook>): ActivityClients {
  const registry = new RunbookRegistry(runbooks);
  const mysql = new MysqlConnections(registry);
  const traffic = new TrafficProviders(registry);
  const es = new EsClients(registry);
  return {
    runbooks: registry,
    mysql,
    traffic,
    ssh: new SshClient(),
    es,
    ovhDatabases: new OvhDatabaseClients(registry),
    redis: new RedisClients(registry),
    postgresql: new PgConnections(registry),
    close: async () => {
      await Promise.all([mysql.close(), traffic.close(), es.close()]);
    },
  };
}

export function createActivities(clients: ActivityClients) {
  return {
    ...createPairSettingsActivities({ runbooks: clients.runbooks }),
    ...createMysqlActivities({ runbooks: clients.runbooks, connections: clients.mysql, ssh: clients.ssh }),
    ...createTrafficActivities({ runbooks: clients.runbooks, providers: clients.traffic }),
    ...createAppActivities({ runbooks: clients.runbooks, ssh: clients.ssh }),
    ...createAppConfigActivities({ runbooks: clients.runbooks, ssh: clients.ssh }),
    ...createElasticsearchActivities({ es: clients.es }),
    ...createOvhDatabaseActivities({ clients: clients.ovhDatabases }),
    ...createRedisActivities({ clients: clients.redis }),
    ...createPostgresqlActivities({
      runbooks: clients.runbooks,
      connections: clients.postgresql,
      ssh: clients.ssh,
    }),
    ...createNotificationActivities({
      runbooks: clients.runbooks,
      fetch: globalThis.fetch,
      uiUrl: temporalUiUrl({ address: temporalSettings().address }),
    }),
    ...createDrillActivities({
      runbooks: clients.runbooks,
      mysql: clients.mysql,
      es: clients.es,
      traffic: clients.traffic,
      ssh: clients.ssh,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
