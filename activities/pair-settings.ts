import type { RunbookRegistry } from './runbooks';

/** What a workflow may know of a pair: names, roles and thresholds, never addresses of secrets or secrets. */
export interface PairSettings {
  pair: string;
  sites: { primary: string; standby: string };
  mysql: {
    servers: { name: string; site: string; role: 'primary' | 'replica'; host: string; port: number }[];
    maxLagSeconds: number;
  };
  /** Present when the runbook has an elasticsearch section. */
  elasticsearch?: { followerIndices: string[]; autoFollowPatterns: string[]; maxLagOperations: number };
  /** Present when the runbook has a traffic section. */
  traffic?: { provider: string };
}

export function createPairSettingsActivities({ runbooks }: { runbooks: RunbookRegistry }) {
  return {
    async pairSettings(input: { pair: string }): Promise<PairSettings> {
      const { runbook } = runbooks.get(input.pair);
      return {
        pair: runbook.pair,
        sites: { primary: runbook.sites.primary.name, standby: runbook.sites.standby.name },
        mysql: {
          servers: runbook.mysql.servers.map(({ name, site, role, host, port }) => ({
            name,
            site,
            role,
            host,
            port,
          })),
          maxLagSeconds: runbook.mysql.maxLagSeconds,
        },
        elasticsearch: runbook.elasticsearch && {
          followerIndices: runbook.elasticsearch.followerIndices,
          autoFollowPatterns: runbook.elasticsearch.autoFollowPatterns,
          maxLagOperations: runbook.elasticsearch.maxLagOperations,
        },
        traffic: runbook.traffic && { provider: runbook.traffic.provider },
      };
    },
  };
}
