import path from 'node:path';
import { Connection } from '@temporalio/client';
import mysql from 'mysql2/promise';
import type { LoadedRunbook } from '../config/load';
import { resolveSecret } from '../config/secrets';
import { durationMs } from '../config/duration';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/definitions';

export interface DoctorResult {
  name: string;
  ok: boolean;
  detail: string;
}

async function attempt(name: string, fn: () => Promise<string>): Promise<DoctorResult> {
  try {
    return { name, ok: true, detail: await fn() };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Checks, without changing anything, that the orchestrator could run: Temporal, then every configured endpoint. */
export async function runDoctor(
  temporal: { address: string; namespace: string; connect: () => Promise<Connection> },
  runbooks: Map<string, LoadedRunbook>,
): Promise<DoctorResult[]> {
  const results: DoctorResult[] = [];
  let connection: Connection | undefined;
  results.push(
    await attempt(`temporal ${temporal.address}`, async () => {
      connection = await temporal.connect();
      const info = await connection.workflowService.getSystemInfo({});
      return `reachable (server ${info.serverVersion || 'version not reported'})`;
    }),
  );
  if (connection) {
    const conn = connection;
    results.push(
      await attempt(`namespace ${temporal.namespace}`, async () => {
        const ns = await conn.workflowService.describeNamespace({ namespace: temporal.namespace });
        return `registered (retention ${Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0) / 86400} days)`;
      }),
    );
    results.push(
      await attempt('search attributes', async () => {
        const { customAttributes } = await conn.operatorService.listSearchAttributes({
          namespace: temporal.namespace,
        });
        const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(customAttributes && n in customAttributes));
        if (missing.length > 0) {
          throw new Error(
            `missing ${missing.join(', ')}: temporal operator search-attribute create --name <NAME> --type Keyword`,
          );
        }
        return SEARCH_ATTRIBUTE_NAMES.join(', ');
      }),
    );
    await conn.close();
  }
  for (const { runbook, file } of runbooks.values()) {
    for (const server of runbook.mysql.servers) {
      results.push(
        await attempt(`${runbook.pair}: mysql ${server.name} ${server.host}:${server.port}`, async () => {
          const connection = await mysql.createConnection({
            host: server.host,
            port: server.port,
            user: runbook.mysql.user,
            password: resolveSecret(runbook.mysql.password, path.dirname(file)),
            connectTimeout: durationMs(runbook.mysql.connectTimeout),
          });
          try {
            const [rows] = await connection.query('SELECT VERSION() AS v');
            return `connected as ${runbook.mysql.user} (${(rows as { v: string }[])[0]?.v})`;
          } finally {
            await connection.end();
          }
        }),
      );
    }
  }
  return results;
}
