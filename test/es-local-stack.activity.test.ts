/**
 * The Elasticsearch activities through the worker's own wiring (createClients/createActivities) on the local
 * stack's ES emulator and config/runbooks/local.yaml: read-only checks that the runbook and the seeded DR
 * pair agree. (Destructive scenarios run on their own in-process emulators, see es-*.activity.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { esActivityEnv, runIn } from './helpers/es';
import { LOCAL_PAIR, localRunbooks } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

describe('Elasticsearch activities on the local stack', () => {
  let clients: ActivityClients;
  let activities: ReturnType<typeof createActivities>;
  const env = esActivityEnv();

  beforeAll(() => {
    clients = createClients(localRunbooks());
    activities = createActivities(clients);
  });
  afterAll(async () => {
    await clients.close();
  });

  it('sees both clusters healthy', async () => {
    for (const site of ['gra', 'rbx']) {
      const health = await runIn(env, activities.esClusterHealth, {
        pair: LOCAL_PAIR,
        site,
        waitForStatus: 'green',
        timeout: '5s',
      });
      expect(health, site).toMatchObject({ site, reachable: true, status: 'green', satisfied: true });
    }
  });

  it('finds rbx following gra as the runbook says: remote configured and connected, followers active', async () => {
    const remote = await runIn(env, activities.esRemoteClusterStatus, { pair: LOCAL_PAIR, site: 'rbx' });
    expect(remote).toMatchObject({ alias: 'gra', remoteSite: 'gra', configured: true, connected: true });
    const status = await runIn(env, activities.esFollowerStatus, { pair: LOCAL_PAIR });
    expect(status.indices.map((i) => [i.index, i.state, i.leaderIndex])).toEqual([
      ['orders', 'active', 'orders'],
      ['customers', 'active', 'customers'],
    ]);
    expect(status.summary.healthy).toBe(true);
    const all = await runIn(env, activities.esFollowerStatus, { pair: LOCAL_PAIR, indices: 'all' });
    expect(all.indices.map((i) => i.index)).toContain('logs-app-000001');
  });

  it('finds the auto-follow pattern active (resume is a no-op)', async () => {
    const resumed = await runIn(env, activities.esResumeAutoFollow, { pair: LOCAL_PAIR });
    expect(resumed.patterns).toEqual([{ name: 'logs-from-gra', outcome: 'already-active' }]);
  });
});
