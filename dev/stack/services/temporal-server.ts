import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ensureTemporalCli } from '../../tools/temporal-cli';
import { assertPortsFree, logFile, portOpen, runningPid, startDaemon, stopDaemon, waitFor } from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { StackService } from '../service';
import { SEARCH_ATTRIBUTE_NAMES } from '../../../workflows/definitions';

/** `temporal server start-dev` with a SQLite file, so runs survive a restart of the server. */
export function temporalServer(log: (line: string) => void): StackService {
  const runDir = path.join(stackDir(), 'temporal');
  const spec = { name: 'temporal', runDir };
  const port = stackPort('TEMPORAL');
  const uiPort = stackPort('TEMPORAL_UI');
  const metricsPort = stackPort('TEMPORAL_METRICS');

  /** The server's version and the search attributes it still lacks. */
  const serverState = async (): Promise<{ version: string; missing: string[] }> => {
    const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 2000 });
    try {
      const { serverVersion } = await connection.workflowService.getSystemInfo({});
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: 'default',
      });
      const missing = SEARCH_ATTRIBUTE_NAMES.filter(
        (name) => !(customAttributes && name in customAttributes),
      );
      return { version: serverVersion || 'unknown', missing };
    } finally {
      await connection.close();
    }
  };

  return {
    name: 'temporal',
    async up() {
      if (runningPid(spec) !== undefined) return;
      await assertPortsFree('temporal', [
        { name: 'TEMPORAL', port },
        { name: 'TEMPORAL_UI', port: uiPort },
        { name: 'TEMPORAL_METRICS', port: metricsPort },
      ]);
      const cli = await ensureTemporalCli(log);
      log(`temporal: using ${cli.path} (from ${cli.source})`);
      mkdirSync(runDir, { recursive: true });
      startDaemon({
        ...spec,
        command: cli.path,
        args: [
          'server',
          'start-dev',
          '--db-filename',
          path.join(runDir, 'temporal.db'),
          '--ip',
          '127.0.0.1',
          '--port',
          String(port),
          '--ui-port',
          String(uiPort),
          '--metrics-port',
          String(metricsPort),
          ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
          '--log-format',
          'json',
          '--log-level',
          'warn',
        ],
      });
      await waitFor('temporal server', () => portOpen(port), 60_000, logFile(spec));
      await waitFor(
        'temporal search attributes',
        async () => {
          try {
            return (await serverState()).missing.length === 0;
          } catch {
            return false;
          }
        },
        30_000,
        logFile(spec),
      );
    },
    async status() {
      const pid = runningPid(spec);
      let detail: string | undefined;
      if (pid !== undefined) {
        try {
          const { version, missing } = await serverState();
          detail = `Temporal server ${version}; ${
            missing.length === 0
              ? 'search attributes registered'
              : `missing search attributes: ${missing.join(', ')}`
          }`;
        } catch (err) {
          detail = `not answering: ${(err as Error).message}`;
        }
      }
      return {
        name: 'temporal',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`grpc 127.0.0.1:${port}`, `ui http://localhost:${uiPort}`],
        detail,
      };
    },
    async down() {
      await stopDaemon(spec);
    },
  };
}
