/**
 * The stack's ES emulator service, run as a second instance on free ports in a scratch stack folder (the shared
 * stack keeps running): it seeds the DR pair, a second `up` changes nothing, `down` leaves no process or port.
 */
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, portOpen, processAlive } from '../dev/stack/daemon';
import { withEnv } from './helpers/env';
import { esEmulator, esSeedWithFollowers } from '../dev/stack/services/es-emulator';

describe('stack service es-emulator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('starts, seeds the DR pair idempotently, and stops without leaving a process', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-es-'));
    const ports = { gra: await freePort(), rbx: await freePort() };
    await withEnv(
      { DR_STACK_DIR: dir, DR_STACK_PORT_ES_GRA: String(ports.gra), DR_STACK_PORT_ES_RBX: String(ports.rbx) },
      async () => {
        const lines: string[] = [];
        const service = esEmulator((line) => lines.push(line));
        cleanups.push(() => service.down());
        await service.up();
        expect(lines.join('\n')).toMatch(/seeded rbx remote gra .*rbx\/orders following gra\/orders/);
        const status = await service.status();
        expect(status.running).toBe(true);
        expect(status.detail).toBe(
          'gra green, rbx green; rbx remote gra connected; 3/3 followers active, lag 0 operations',
        );
        const rbx = new Client({ node: `http://127.0.0.1:${ports.rbx}` });
        cleanups.push(() => rbx.close());
        const followers = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices;
        expect(followers.map((f) => f.follower_index).sort()).toEqual([
          'customers',
          'logs-app-000001',
          'orders',
        ]);
        await waitForCount(rbx, 'orders', 3);
        // The seeded indices have several shards, and so do their followers.
        for (const index of ['orders', 'customers', 'logs-app-000001']) {
          const settings = await rbx.indices.getSettings({ index });
          expect(settings[index]?.settings?.index?.number_of_shards, index).toBe('3');
        }

        // A promoted index is left alone by the next `up`, which finds everything else in place.
        await rbx.ccr.pauseFollow({ index: 'orders' });
        await rbx.indices.close({ index: 'orders' });
        await rbx.ccr.unfollow({ index: 'orders' });
        await rbx.indices.open({ index: 'orders' });
        const [pid] = status.pids;
        await service.up();
        expect(lines.at(-1)).toBe('es-emulator: already running, left as it is');
        expect((await service.status()).pids).toEqual([pid]);
        expect((await rbx.ccr.followInfo({ index: 'orders' })).follower_indices).toEqual([]);

        await service.down();
        expect((await service.status()).running).toBe(false);
        expect(processAlive(pid!)).toBe(false);
        expect(await portOpen(ports.gra)).toBe(false);
        expect(await portOpen(ports.rbx)).toBe(false);
      },
    );
  });

  it.each([
    [1, ['orders']],
    [2, ['customers', 'orders']],
    [5, ['customers', 'logs-app-000001', 'orders', 'scale-0001', 'scale-0002']],
  ])('seeds a pair scaled to %i follower indices, every one active', async (count, expected) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-es-'));
    const ports = { gra: await freePort(), rbx: await freePort() };
    await withEnv(
      { DR_STACK_DIR: dir, DR_STACK_PORT_ES_GRA: String(ports.gra), DR_STACK_PORT_ES_RBX: String(ports.rbx) },
      async () => {
        const service = esEmulator(() => undefined, esSeedWithFollowers(count));
        cleanups.push(() => service.down());
        await service.up();
        const rbx = new Client({ node: `http://127.0.0.1:${ports.rbx}` });
        cleanups.push(() => rbx.close());
        const followers = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices;
        expect(followers.map((f) => f.follower_index).sort()).toEqual(expected);
        expect(followers.every((f) => f.status === 'active')).toBe(true);
        const patterns = await rbx.ccr.getAutoFollowPattern().catch(() => ({ patterns: [] }));
        expect(patterns.patterns.map((p) => p.name)).toEqual(count >= 3 ? ['logs-from-gra'] : []);
      },
    );
  });

  it('refuses a scaled seed of no follower index, naming the count', () => {
    expect(() => esSeedWithFollowers(0)).toThrow('follower indices: expected a whole number ≥ 1, got 0');
  });

  it('refuses a port held by a process it did not start, naming the variable', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(() => resolve())));
    const port = (squatter.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-es-'));
    await withEnv(
      {
        DR_STACK_DIR: dir,
        DR_STACK_PORT_ES_GRA: String(await freePort()),
        DR_STACK_PORT_ES_RBX: String(port),
      },
      async () => {
        await expect(esEmulator(() => undefined).up()).rejects.toThrow(
          `es-emulator: port ${port} (ES_RBX) is already in use by a process this stack did not start; stop it or choose another port with DR_STACK_PORT_ES_RBX`,
        );
      },
    );
  });
});

async function waitForCount(client: Client, index: string, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await client.indices.refresh({ index });
    const { count } = await client.count({ index });
    if (count === expected || Date.now() > deadline) {
      expect(count).toBe(expected);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
