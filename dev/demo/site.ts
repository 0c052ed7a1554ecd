import { readFileSync } from 'node:fs';
import path from 'node:path';
import { appctl } from '../stack/services/perl-app';
import { stackDir, stackPort } from '../stack/settings';

/**
 * Breaking and reviving the local stack's primary site (gra) as a disaster would: its MariaDB server killed
 * (SIGKILL: no clean shutdown, what it acknowledged and had not yet sent is only in its own binlog), its app stopped,
 * its Elasticsearch cluster refusing every connection (the emulator's fault switch).
 */
export async function breakPrimarySite(): Promise<string[]> {
  const pid = Number(
    readFileSync(path.join(stackDir(), 'mariadb', 'db-gra-1', 'mariadbd.pid'), 'utf8').trim(),
  );
  process.kill(pid, 'SIGKILL');
  await appctl('stop', 'gra');
  await esFault('gra', true);
  return [
    `db-gra-1's mariadbd (pid ${pid}) killed with SIGKILL`,
    "gra's app stopped",
    "gra's Elasticsearch cluster refuses every connection",
  ];
}

/** gra's Elasticsearch answers again; `drctl stack up` then starts db-gra-1 (read-only) and gra's app. */
export async function reviveElasticsearch(): Promise<void> {
  await esFault('gra', false);
}

/** The emulator's fault switch, through rbx's port: gra's own refuses connections while it is down. */
async function esFault(cluster: string, down: boolean): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${stackPort('ES_RBX')}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ cluster, down }),
  });
  if (!res.ok) throw new Error(`the ES emulator refused the fault switch: ${res.status} ${await res.text()}`);
}

/** Which site answers through HAProxy's frontend, as a client sees it. */
export async function siteThroughFrontend(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${stackPort('HAPROXY')}/health`, {
      signal: AbortSignal.timeout(2_000),
    });
    return res.ok ? ((await res.json()) as { site?: string }).site : undefined;
  } catch {
    return undefined;
  }
}
