import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTlsMaterial, type TlsMaterial } from '../dev/ovh-emulator/tls';
import { MARIADB_ACCOUNTS } from '../dev/stack/services/mariadb';
import { startScratchPair, type ScratchPair } from './helpers/scratch-cluster';

const GRA = 'db-gra-1';
const RBX2 = 'db-rbx-2';

/**
 * TLS required by the runbook, on a scratch MariaDB cluster whose servers refuse unencrypted TCP connections
 * (require_secure_transport=ON): the orchestrator's connections verify the servers' certificate against the
 * runbook's CA, and a repointed replica replicates over TLS (MASTER_SSL=1, MASTER_SSL_VERIFY_SERVER_CERT=1).
 */
describe('MySQL TLS from the runbook, on a scratch MariaDB cluster that requires it', () => {
  let s: ScratchPair;
  let dir: string;
  let tls: TlsMaterial;
  let otherCa: TlsMaterial;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mysql-tls-'));
    tls = ensureTlsMaterial(path.join(dir, 'servers'));
    otherCa = ensureTlsMaterial(path.join(dir, 'other'));
    s = await startScratchPair({
      extraConfig: [`ssl_ca=${tls.caCertPath}`, `ssl_cert=${tls.certPath}`, `ssl_key=${tls.keyPath}`],
      mysql: { tls: { ca: `file:${tls.caCertPath}` }, replicationTls: { ca: tls.caCertPath } },
    });
    // Set once the cluster is up: its replicas were set up without TLS and stay connected.
    for (const name of s.cluster.names) await s.cluster.sql(name, 'SET GLOBAL require_secure_transport=ON');
  });
  afterAll(async () => {
    await s?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads every server over TLS; a plain connection is refused; a certificate from another CA is refused', async () => {
    const account = {
      host: '127.0.0.1',
      port: s.cluster.instance(GRA).port,
      user: MARIADB_ACCOUNTS.orchestrator.user,
      password: s.cluster.secret(MARIADB_ACCOUNTS.orchestrator.secretFile),
    };
    // MariaDB 10.11 answers a plain connection with "Access denied"; the same account over TLS gets in.
    await expect(mysql.createConnection(account)).rejects.toMatchObject({ errno: 1045 });
    const encrypted = await mysql.createConnection({ ...account, ssl: { ca: tls.caPem } });
    await encrypted.end();

    const all = await s.act('mysqlServerStatuses', { pair: s.pair });
    expect(all.map((x) => [x.server, x.reachable])).toEqual(s.cluster.names.map((n) => [n, true]));

    const wrongCa = await s.variant({ tls: { ca: `file:${otherCa.caCertPath}` } });
    try {
      const refused = await wrongCa.act('mysqlServerStatus', { pair: s.pair, server: GRA });
      expect(refused.reachable).toBe(false);
      expect(refused.error?.message).toMatch(/certificate/i);
    } finally {
      await wrongCa.close();
    }
  });

  it('repoints a replica over TLS with the runbook CA; asking again changes nothing', async () => {
    const before = await s.act('mysqlServerStatus', { pair: s.pair, server: RBX2 });
    expect(before.replication).toMatchObject({ sourcePort: s.cluster.instance(GRA).port, tls: false });

    const repointed = await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: GRA });
    expect(repointed).toMatchObject({ alreadyReplicating: false, ioRunning: 'Yes', sqlRunning: 'Yes' });
    expect(repointed.steps.find((x) => x.startsWith('CHANGE MASTER'))).toContain(
      `MASTER_SSL=1, MASTER_SSL_CA='${tls.caCertPath}', MASTER_SSL_VERIFY_SERVER_CERT=1`,
    );
    const after = await s.act('mysqlServerStatus', { pair: s.pair, server: RBX2 });
    expect(after.replication).toMatchObject({ ioRunning: 'Yes', sqlRunning: 'Yes', tls: true });
    expect(await s.cluster.checkReplication()).toMatch(/read on .*db-rbx-2/);

    expect(await s.act('mysqlRepoint', { pair: s.pair, server: RBX2, source: GRA })).toMatchObject({
      alreadyReplicating: true,
      steps: [],
    });
  });
});
