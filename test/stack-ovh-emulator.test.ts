/**
 * The stack's OVH API emulator service, run a second time in a scratch stack folder on a free port (the shared stack
 * keeps running): idempotent up, status, a refused foreign port, clean down; the worker's environment trusts its CA
 * (a child node-ovh reaches it with that environment, and not without). Then the shipped local OVH runbooks drive
 * the shared stack's emulator.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { loadRunbooks } from '../config/load';
import { trustCaInProcess } from '../dev/ovh-emulator/test-support';
import { freePort, portOpen } from '../dev/stack/daemon';
import { ovhEmulator, ovhEmulatorPaths } from '../dev/stack/services/ovh-emulator';
import { orchestratorWorkerEnv, STACK_RUNBOOKS } from '../dev/stack/services/worker';
import { withEnv } from './helpers/env';
import { activityEnvironment, runActivity } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Changes the shared local pair: alone while it runs.
takeTurns('local-pair', 'exclusive');

const REPO = path.resolve(__dirname, '..');

/** node-ovh in a child process: GET one path with the credential files of `dir`; prints the result or the error. */
const CHILD = `
const ovh = require('@ovhcloud/node-ovh');
const fs = require('fs');
const [dir, port, path] = process.argv.slice(1);
const read = (f) => fs.readFileSync(dir + '/' + f, 'utf8').trim();
ovh({ appKey: read('application-key'), appSecret: read('application-secret'), consumerKey: read('consumer-key'),
      host: 'localhost', port: Number(port) })
  .requestPromised('GET', path)
  .then((r) => console.log(JSON.stringify({ result: r })), (e) => console.log(JSON.stringify({ error: String(e.error) })));
`;

async function childGet(env: NodeJS.ProcessEnv, port: number, apiPath: string): Promise<unknown> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-e', CHILD, path.dirname(ovhEmulatorPaths().credentials.applicationKey), String(port), apiPath],
    { cwd: REPO, env },
  );
  return JSON.parse(stdout.trim());
}

describe('stack service ovh-emulator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  it('starts idempotently, reports its objects, is trusted by the worker environment, and stops cleanly', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-ovh-'));
    const port = await freePort();
    await withEnv(
      {
        DR_STACK_DIR: dir,
        DR_STACK_PORT_OVH: String(port),
        NODE_EXTRA_CA_CERTS: undefined,
        DR_RUNBOOKS: undefined,
      },
      async () => {
        const lines: string[] = [];
        const service = ovhEmulator((line) => lines.push(line));
        cleanups.push(() => service.down());
        await service.up();
        const paths = ovhEmulatorPaths();
        expect(lines).toEqual([`ovh-emulator: https://localhost:${port}/1.0 (CA ${paths.caCert})`]);
        const status = await service.status();
        expect(status).toMatchObject({
          name: 'ovh-emulator',
          running: true,
          endpoints: [`https://localhost:${port}/1.0`, `admin https://localhost:${port}/_emulator/state`],
        });
        expect(status.detail).toBe(
          'IPLB loadbalancer-local http frontend 4001 → farm 5001, 0 pending changes; ' +
            `DNS app.dr.example.test A 127.0.0.1 (deployed); CA ${paths.caCert}`,
        );
        expect(JSON.parse(readFileSync(paths.info, 'utf8'))).toMatchObject({
          port,
          caCertPath: paths.caCert,
        });
        await service.up();
        expect((await service.status()).pids).toEqual(status.pids);

        // The worker's environment: the stack runbooks and the emulator's CA.
        const workerEnv = orchestratorWorkerEnv();
        expect(workerEnv).toEqual({
          DR_RUNBOOKS: STACK_RUNBOOKS.join(','),
          NODE_EXTRA_CA_CERTS: paths.caCert,
        });
        const base = { ...process.env };
        delete base.NODE_EXTRA_CA_CERTS;
        const lb = '/ipLoadbalancing/loadbalancer-local/http/frontend';
        expect(await childGet({ ...base, ...workerEnv }, port, lb)).toEqual({ result: [4001] });
        expect(await childGet(base, port, lb)).toEqual({ error: '[OVH] Unable to fetch OVH API time' });

        // An inherited NODE_EXTRA_CA_CERTS is kept, bundled with the emulator's CA.
        const other = path.join(dir, 'corporate-ca.pem');
        writeFileSync(other, '# another CA\n');
        await withEnv({ NODE_EXTRA_CA_CERTS: other }, async () => {
          const bundled = orchestratorWorkerEnv().NODE_EXTRA_CA_CERTS!;
          expect(bundled).toBe(path.join(dir, 'worker', 'extra-ca.pem'));
          expect(readFileSync(bundled, 'utf8')).toBe(`# another CA\n${readFileSync(paths.caCert, 'utf8')}`);
        });

        await service.down();
        expect((await service.status()).running).toBe(false);
        expect(await portOpen(port)).toBe(false);
        expect(existsSync(paths.info)).toBe(false);
        expect(existsSync(paths.caCert)).toBe(true); // kept: trusted clients need not change
        await service.down(); // harmless when stopped
      },
    );
  });

  it('refuses a port held by a process it did not start, naming the variable', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(() => resolve())));
    const port = (holder.address() as net.AddressInfo).port;
    await withEnv(
      { DR_STACK_DIR: mkdtempSync(path.join(os.tmpdir(), 'stack-ovh-')), DR_STACK_PORT_OVH: String(port) },
      async () => {
        await expect(ovhEmulator(() => undefined).up()).rejects.toThrow(
          `ovh-emulator: port ${port} (OVH) is already in use by a process this stack did not start; stop it or choose another port with DR_STACK_PORT_OVH`,
        );
      },
    );
  });
});

describe("the shipped local OVH runbooks drive the stack's emulator", () => {
  let clients: ActivityClients;
  let restore: () => void = () => undefined;

  beforeAll(() => {
    restore = trustCaInProcess(readFileSync(ovhEmulatorPaths().caCert, 'utf8'));
    clients = createClients(
      loadRunbooks(STACK_RUNBOOKS.filter((f) => path.basename(f).startsWith('local-ovh-'))),
    );
  });
  afterAll(async () => {
    await clients?.close();
    restore();
  });

  it.each(['local-iplb', 'local-dns'])('%s: current target read and verified live', async (pair) => {
    const activities = createActivities(clients);
    const env = activityEnvironment();
    const state = await runActivity(env, activities.trafficCurrentTarget, { pair });
    expect(state.live).toBe(true);
    expect(['gra', 'rbx']).toContain(state.site);
    const verified = await runActivity(env, activities.trafficVerify, { pair, site: state.site! });
    expect(verified.ok).toBe(true);
  });
});
