import { Client, Connection } from '@temporalio/client';
import { createJsonLogger } from '../../common/logger';
import { temporalSettings } from '../../common/temporal-connection';
import { loadRunbooks, runbookFilesFromEnv } from '../../config/load';
import { TASK_QUEUE } from '../../workflows/definitions';
import { bearerAuth } from './auth';
import { alertRules } from './routing';
import { startReceiver } from './server';
import { readReceiverSecrets, receiverSettings } from './settings';

/**
 * The Alertmanager receiver, as a process: reads the runbooks (DR_RUNBOOKS), listens where their alerts.receiver
 * section says, and starts moves on DR_TASK_QUEUE through Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, …). It
 * connects to Temporal lazily, so that it answers 503 (Alertmanager retries) rather than not starting while
 * Temporal is down.
 */
async function main(): Promise<void> {
  const log = createJsonLogger('alert-receiver');
  const runbooks = loadRunbooks(runbookFilesFromEnv());
  const settings = receiverSettings(runbooks.values());
  const { token, tls } = readReceiverSecrets(settings);
  const temporal = temporalSettings();
  const connection = Connection.lazy(temporal.connectionOptions as Parameters<typeof Connection.lazy>[0]);
  const client = new Client({ connection, namespace: temporal.namespace });
  const rules = alertRules([...runbooks.values()].map((r) => r.runbook));
  const receiver = await startReceiver(
    {
      client,
      taskQueue: process.env.DR_TASK_QUEUE ?? TASK_QUEUE,
      temporalTimeoutMs: Number(process.env.DR_ALERTS_TEMPORAL_TIMEOUT_MS ?? 10_000),
      rules,
      auth: bearerAuth(token, tls !== undefined),
      maxBodyBytes: settings.config.maxBodyBytes,
      log,
      ...(tls ? { tls } : {}),
    },
    settings.config.listen,
    settings.config.port,
  );
  log.info('alert receiver listening', {
    url: receiver.url,
    temporal: temporal.address,
    namespace: temporal.namespace,
    pairs: [...new Set(rules.map((r) => r.pair))],
    rules: rules.length,
    mutualTls: tls !== undefined,
  });
  const stop = (signal: string) => {
    log.info(`stopping on ${signal}`);
    void receiver.close().then(() => connection.close().finally(() => process.exit(0)));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`alert receiver: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
