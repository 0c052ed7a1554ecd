/**
 * `npm run emulator:ovh` (dev/ovh-emulator/main.ts) as the local stack runs it: a separate process that prints where
 * it is, writes credential files usable as `file:` secrets, and is reached by node-ovh in a process started with
 * NODE_EXTRA_CA_CERTS (the way the worker trusts it), and only so; stops cleanly on SIGTERM and keeps its CA and
 * credentials across restarts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSecret } from '../config/secrets';
import { DEFAULT_SEED_IDS } from '../dev/ovh-emulator/seed';

const REPO = path.resolve(__dirname, '..');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const stackDir = mkdtempSync(path.join(os.tmpdir(), 'ovh-emulator-cli-'));
const stateDir = path.join(stackDir, 'ovh-emulator');

interface ReadyInfo {
  url: string;
  host: string;
  port: number;
  caCertPath: string;
  credentials: { applicationKey: string; applicationSecret: string; consumerKey: string };
  serviceAccount: { clientId: string; clientSecret: string; tokenUrl: string };
  seed: typeof DEFAULT_SEED_IDS;
}

/** The environment without any CA trust inherited from the test process. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_TLS_REJECT_UNAUTHORIZED;
  return env;
}

const running: ChildProcess[] = [];

function startCli(): Promise<{ child: ChildProcess; info: ReadyInfo; exited: Promise<number | null> }> {
  const child = spawn(TSX, ['dev/ovh-emulator/main.ts'], {
    cwd: REPO,
    env: {
      ...baseEnv(),
      DR_STACK_DIR: stackDir,
      DR_STACK_PORT_OVH: '0',
      DR_OVH_EMULATOR_TASK_TODO_MS: '10',
      DR_OVH_EMULATOR_TASK_DOING_MS: '10',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not report ready:\n${output}`)), 20_000);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.includes('OVH API emulator ready')) continue;
        clearTimeout(timer);
        resolve({ child, info: JSON.parse(line) as ReadyInfo, exited });
        return;
      }
    });
    void exited.then((code) => reject(new Error(`emulator exited (${code}) before ready:\n${output}`)));
  });
}

const NODE_OVH_CALL = `
const ovh = require('@ovhcloud/node-ovh');
const [host, port, appKey, appSecret, consumerKey, path] = process.argv.slice(1);
ovh({ appKey, appSecret, consumerKey, host, port: Number(port) })
  .requestPromised('GET', path)
  .then(
    (result) => console.log(JSON.stringify({ result })),
    (e) => console.log(JSON.stringify({ error: e.error instanceof Error ? { code: e.error.code } : e.error, message: e.message })),
  );
`;

/** node-ovh in a fresh Node process, trusting the CA only if `caCertPath` is given. */
async function nodeOvhInChild(
  info: ReadyInfo,
  apiPath: string,
  caCertPath?: string,
): Promise<{ result?: unknown; error?: unknown }> {
  const secret = (ref: string) => resolveSecret(ref, REPO);
  const env = { ...baseEnv(), ...(caCertPath === undefined ? {} : { NODE_EXTRA_CA_CERTS: caCertPath }) };
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '-e',
      NODE_OVH_CALL,
      info.host,
      String(info.port),
      secret(info.credentials.applicationKey),
      secret(info.credentials.applicationSecret),
      secret(info.credentials.consumerKey),
      apiPath,
    ],
    { cwd: REPO, env, timeout: 15_000 },
  );
  return JSON.parse(stdout.trim()) as { result?: unknown; error?: unknown };
}

const NODE_OVH_OAUTH2_CALL = `
const ovh = require('@ovhcloud/node-ovh');
const [host, port, clientID, clientSecret, tokenURL, path] = process.argv.slice(1);
ovh({ clientID, clientSecret, tokenURL, host, port: Number(port) })
  .request('GET', path, {}, (error, result) => console.log(JSON.stringify(error ? { error } : { result })))
  .catch((e) => console.log(JSON.stringify({ thrown: String(e) })));
`;

afterAll(() => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(stackDir, { recursive: true, force: true });
});

describe('OVH emulator CLI', () => {
  const frontendPath = `/ipLoadbalancing/${DEFAULT_SEED_IDS.iplb.serviceName}/http/frontend/${DEFAULT_SEED_IDS.iplb.frontendId}`;
  let firstCa = '';
  let firstConsumerKey = '';

  it('starts, prints URL, CA and seed IDs, and writes 0600 credential files usable as file: secrets', async () => {
    const { child, info, exited } = await startCli();
    expect(info.url).toMatch(/^https:\/\/localhost:\d+$/);
    expect(info.caCertPath).toBe(path.join(stateDir, 'ca.crt'));
    expect(info.seed).toEqual(DEFAULT_SEED_IDS);
    for (const ref of Object.values(info.credentials)) {
      expect(ref).toMatch(/^file:\//);
      const file = ref.slice('file:'.length);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(resolveSecret(ref, REPO)).toMatch(/^[A-Za-z0-9]{16,32}$/);
    }
    expect(existsSync(path.join(stateDir, 'emulator.json'))).toBe(true);

    const trusted = await nodeOvhInChild(info, frontendPath, info.caCertPath);
    expect(trusted).toEqual({
      result: expect.objectContaining({ frontendId: 4001, defaultFarmId: DEFAULT_SEED_IDS.iplb.farms.gra }),
    });
    // Without the CA: node-ovh's first step, GET /auth/time, fails verification, and node-ovh reports only that.
    expect(await nodeOvhInChild(info, frontendPath)).toEqual({
      error: '[OVH] Unable to fetch OVH API time',
      message: undefined,
    });
    const untrusted = await nodeOvhInChild(info, '/auth/time');
    expect(untrusted.error).toEqual({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/) });

    firstCa = readFileSync(info.caCertPath, 'utf8');
    firstConsumerKey = resolveSecret(info.credentials.consumerKey, REPO);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(path.join(stateDir, 'emulator.json'))).toBe(false);
  });

  it('serves an OAuth2 service account: node-ovh (trusting the CA by NODE_EXTRA_CA_CERTS) gets a token and calls with it', async () => {
    const { child, info, exited } = await startCli();
    const { clientId, clientSecret, tokenUrl } = info.serviceAccount;
    expect(tokenUrl).toBe(`${info.url}/auth/`);
    for (const ref of [clientId, clientSecret]) {
      expect(statSync(ref.slice('file:'.length)).mode & 0o777).toBe(0o600);
    }
    const call = (caCertPath?: string) =>
      promisify(execFile)(
        process.execPath,
        [
          '-e',
          NODE_OVH_OAUTH2_CALL,
          info.host,
          String(info.port),
          resolveSecret(clientId, REPO),
          resolveSecret(clientSecret, REPO),
          tokenUrl,
          frontendPath,
        ],
        {
          cwd: REPO,
          env: { ...baseEnv(), ...(caCertPath ? { NODE_EXTRA_CA_CERTS: caCertPath } : {}) },
          timeout: 15_000,
        },
      ).then(({ stdout }) => JSON.parse(stdout.trim()) as Record<string, unknown>);
    expect(await call(info.caCertPath)).toEqual({
      result: expect.objectContaining({ frontendId: 4001, defaultFarmId: DEFAULT_SEED_IDS.iplb.farms.gra }),
    });
    // Without the CA the token request fails TLS verification, which node-ovh 3.0.0 cannot report: it throws.
    expect(await call()).toEqual({
      thrown: expect.stringMatching(/TypeError: Cannot read properties of null/),
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('keeps its CA and credentials across restarts', async () => {
    expect(firstCa).not.toBe('');
    const { child, info, exited } = await startCli();
    expect(readFileSync(info.caCertPath, 'utf8')).toBe(firstCa);
    expect(resolveSecret(info.credentials.consumerKey, REPO)).toBe(firstConsumerKey);
    expect(await nodeOvhInChild(info, frontendPath, info.caCertPath)).toMatchObject({
      result: { frontendId: 4001 },
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
