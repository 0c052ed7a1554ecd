import type { Command } from 'commander';
import { loadRunbooks, runbookFilesFromEnv } from '../../config/load';
import { emit } from './context';

/** `drctl pairs`: the DR pairs of the runbooks drctl reads (DR_RUNBOOKS, else the local stack's). */
export function register(program: Command): void {
  program
    .command('pairs')
    .description('List the DR pairs of the runbooks (DR_RUNBOOKS, else the local stack runbook)')
    .action((_options: unknown, command: Command) => {
      const pairs = [...loadRunbooks(runbookFilesFromEnv()).values()].map(({ runbook, file }) => ({
        pair: runbook.pair,
        primary: runbook.sites.primary.name,
        standby: runbook.sites.standby.name,
        mysqlServers: runbook.mysql.servers.map((s) => `${s.name} (${s.site})`),
        elasticsearch: (runbook.elasticsearch?.clusters ?? []).map((c) => c.site),
        traffic: runbook.traffic?.provider,
        apps: (runbook.apps?.hosts ?? []).map((h) => `${h.name} (${h.site})`),
        file,
      }));
      emit(command, pairs, (all) =>
        all
          .map((p) =>
            [
              `${p.pair}: primary site ${p.primary}, standby ${p.standby} (${p.file})`,
              `  mysql: ${p.mysqlServers.join(', ')}`,
              ...(p.elasticsearch.length > 0 ? [`  elasticsearch: ${p.elasticsearch.join(', ')}`] : []),
              ...(p.traffic ? [`  traffic: ${p.traffic}`] : []),
              ...(p.apps.length > 0 ? [`  apps: ${p.apps.join(', ')}`] : []),
            ].join('\n'),
          )
          .join('\n'),
      );
    });
}
