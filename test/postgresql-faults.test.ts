import path from 'node:path';
import type { Proxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../dev/stack/daemon';
import { failureOf } from './helpers/failures';
import { pgActivities, startScratchPgPair, type ScratchPgPair } from './helpers/scratch-postgresql';
import { startToxiproxy, type RunningToxiproxy } from './helpers/toxiproxy';

const GRA = 'pg-gra';
const RBX = 'pg-rbx';

/**
 * The PostgreSQL activities when the path to the primary fails, on a real scratch pair: the worker reaches pg-gra
 * through Toxiproxy (replication goes direct), so a cut path is the worker's alone. Unreachable (the proxy refuses
 * connections), silent (a blackhole: bounded by the runbook's connectTimeout), slow (latency: still read), and an
 * SSH host that refuses connections (the fence fails retryably, changing nothing).
 */
describe('PostgreSQL activities under faults (Toxiproxy between the worker and pg-gra)', () => {
  let s: ScratchPgPair;
  let toxiproxy: RunningToxiproxy;
  let proxy: Proxy;
  let a: ReturnType<typeof pgActivities>;
  let noSsh: ReturnType<typeof pgActivities>;

  beforeAll(async () => {
    s = await startScratchPgPair();
    toxiproxy = await startToxiproxy(path.join(s.dir, 'toxiproxy'), () => undefined);
    const port = await freePort();
    proxy = await toxiproxy.proxy('pg-gra', `127.0.0.1:${port}`, `127.0.0.1:${s.nodes.gra.port}`);
    a = pgActivities(s, { servers: { [GRA]: { port } } });
    // An SSH port nothing listens on: the host refuses connections.
    noSsh = pgActivities(s, {
      name: 'pg-no-ssh',
      servers: {
        [GRA]: { ssh: { ...(s.section.servers as { ssh: object }[])[0]!.ssh, port: await freePort() } },
      },
    });
  });
  afterAll(async () => {
    await a?.clients.close();
    await noSsh?.clients.close();
    await toxiproxy?.stop();
    await s?.destroy();
  });

  it('refused: pg-gra is reported unreachable at once, and pg-rbx, which streams from it directly, still says it is up', async () => {
    await toxiproxy.cut(proxy, 'refuse');
    try {
      const started = Date.now();
      const [gra, rbx] = await a.act('pgServerStatuses', { pair: a.pair });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(gra).toMatchObject({ reachable: false, error: { type: 'PostgresUnreachable' } });
      expect(gra!.error!.message).toMatch(/ECONNREFUSED/);
      expect(rbx).toMatchObject({ reachable: true, inRecovery: true, walReceiver: { status: 'streaming' } });
    } finally {
      await toxiproxy.restore();
    }
  });

  it('unreachable (a blackhole): the read gives up at the runbook connectTimeout and says so, instead of hanging', async () => {
    await toxiproxy.cut(proxy, 'blackhole');
    try {
      const started = Date.now();
      const gra = await a.act('pgServerStatus', { pair: a.pair, server: GRA });
      const took = Date.now() - started;
      expect(gra).toMatchObject({ reachable: false, error: { type: 'PostgresTimeout' } });
      expect(took).toBeGreaterThanOrEqual(1900);
      expect(took).toBeLessThan(10_000);
      // A change that needs pg-gra fails typed, retryable, and changes nothing.
      const promote = await failureOf(a.act('pgPromote', { pair: a.pair, server: GRA }));
      expect(promote).toMatchObject({ type: 'PostgresTimeout', nonRetryable: false });
    } finally {
      await toxiproxy.restore();
    }
  });

  it('slow (300 ms added to every answer): pg-gra is still read as the primary with its standby', async () => {
    await proxy.addToxic({
      name: 'slow',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 300, jitter: 0 },
    });
    try {
      const gra = await a.act('pgServerStatus', { pair: a.pair, server: GRA });
      expect(gra).toMatchObject({ reachable: true, inRecovery: false });
      expect(gra.standbys).toEqual([expect.objectContaining({ applicationName: RBX, state: 'streaming' })]);
    } finally {
      await toxiproxy.restore();
    }
  });

  it("the fence when pg-gra's host refuses SSH: SshUnreachable (retryable), and pg-gra keeps running", async () => {
    const fence = await failureOf(noSsh.act('pgStopServer', { pair: noSsh.pair, server: GRA }));
    expect(fence).toMatchObject({ type: 'SshUnreachable', nonRetryable: false });
    expect(fence.message).toMatch(/ECONNREFUSED/);
    expect(await s.sql('gra', 'SELECT pg_is_in_recovery() AS r')).toEqual([{ r: false }]);
  });
});
