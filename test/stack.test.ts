import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, portOpen, processAlive } from '../dev/stack/daemon';
import { withEnv } from './helpers/env';
import { temporalServer } from '../dev/stack/services/temporal-server';
import { stackStatus, stackUp } from '../dev/stack/stack';
import { takeTurns } from './helpers/turns';

// Needs the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

const quiet = () => undefined;

describe('local stack manager', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('is idempotent: up on a running stack keeps the same processes', async () => {
    const before = await stackStatus(quiet);
    expect(before.every((s) => s.running)).toBe(true);
    const after = await stackUp(quiet);
    expect(after.map((s) => [s.name, s.pids])).toEqual(before.map((s) => [s.name, s.pids]));
  });

  it('refuses a port held by a process it did not start, names it, and starts nothing', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(() => resolve())));
    const port = (squatter.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-'));
    await withEnv(
      {
        DR_STACK_DIR: dir,
        DR_STACK_PORT_TEMPORAL: String(port),
        DR_STACK_PORT_TEMPORAL_UI: String(await freePort()),
      },
      async () => {
        await expect(temporalServer(quiet).up()).rejects.toThrow(
          `temporal: port ${port} (TEMPORAL) is already in use by a process this stack did not start; stop it or choose another port with DR_STACK_PORT_TEMPORAL`,
        );
      },
    );
    expect(existsSync(path.join(dir, 'temporal', 'temporal.pid'))).toBe(false);
  });

  it('starts a second Temporal server on other ports and stops it without leaving a process', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-'));
    const ports = { grpc: await freePort(), ui: await freePort(), metrics: await freePort() };
    await withEnv(
      {
        DR_STACK_DIR: dir,
        DR_STACK_PORT_TEMPORAL: String(ports.grpc),
        DR_STACK_PORT_TEMPORAL_UI: String(ports.ui),
        DR_STACK_PORT_TEMPORAL_METRICS: String(ports.metrics),
      },
      async () => {
        const service = temporalServer(quiet);
        cleanups.push(() => service.down());
        await service.up();
        const status = await service.status();
        expect(status.running).toBe(true);
        expect(status.detail).toMatch(/^Temporal server \d+\.\d+\.\d+; search attributes registered$/);
        const [pid] = status.pids;
        await service.up(); // a second up is harmless
        expect((await service.status()).pids).toEqual([pid]);
        await service.down();
        expect((await service.status()).running).toBe(false);
        expect(processAlive(pid!)).toBe(false);
        expect(await portOpen(ports.grpc)).toBe(false);
      },
    );
  });
});
