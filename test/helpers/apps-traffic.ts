import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { DEFAULT_LOCAL_RUNBOOK, loadRunbooks, type LoadedRunbook } from '../../config/load';
import {
  HaproxySocketClient,
  setServerState,
  showServersState,
} from '../../activities/traffic/haproxy-runtime';
import { freePort } from '../../dev/stack/daemon';
import {
  HAPROXY_BACKEND,
  HAPROXY_SERVERS,
  haproxyPaths,
  saveServerStates,
} from '../../dev/stack/services/haproxy';
import { APPCTL, appctl, writeAppEnv } from '../../dev/stack/services/perl-app';
import { stackDir, stackPort } from '../../dev/stack/settings';
import { waitUntil } from './wait';

export const frontendUrl = (p = '/health') => `http://127.0.0.1:${stackPort('HAPROXY')}${p}`;
export const appUrl = (site: 'gra' | 'rbx', p = '/health') =>
  `http://127.0.0.1:${stackPort(site === 'gra' ? 'APP_GRA' : 'APP_RBX')}${p}`;

export const haproxyRuntime = () => new HaproxySocketClient(haproxyPaths().socket);

export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...init?.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The sites that answered n requests through HAProxy's frontend, in order. */
export async function sitesThroughFrontend(n: number): Promise<string[]> {
  const sites: string[] = [];
  for (let i = 0; i < n; i++) sites.push(String((await getJson(frontendUrl())).body.site));
  return sites;
}

/** HAProxy admin and operational state of the backend's servers, e.g. { 'app-gra': 'ready/up', … }. */
export async function backendState(): Promise<Record<string, string>> {
  const states = await showServersState(haproxyRuntime(), HAPROXY_BACKEND);
  return Object.fromEntries(states.map((s) => [s.server, `${s.admin}/${s.op}`]));
}

export { waitUntil };

export async function appHealthy(site: 'gra' | 'rbx'): Promise<boolean> {
  try {
    return (await fetch(appUrl(site), { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/**
 * Puts the stack's apps and HAProxy back in their initial state (both apps running, gra ready, rbx drain), waits
 * until HAProxy's health checks see both servers up, and saves those states to its state file as a switch does.
 */
export async function restoreAppsAndTraffic(): Promise<void> {
  for (const site of ['gra', 'rbx'] as const) if (!(await appHealthy(site))) await appctl('start', site);
  const [primary, standby] = HAPROXY_SERVERS;
  await setServerState(haproxyRuntime(), HAPROXY_BACKEND, primary!.server, 'ready');
  await setServerState(haproxyRuntime(), HAPROXY_BACKEND, standby!.server, 'drain');
  await waitUntil('HAProxy sees both servers up', async () => {
    const s = await backendState();
    return s[primary!.server] === 'ready/up' && s[standby!.server] === 'drain/up';
  });
  await saveServerStates();
}

/**
 * A copy of the local runbook in a temporary folder, changed by `edit`. Relative `file:` references and the
 * HAProxy socket and state file are made absolute first, so they still point into this checkout's `.stack/`.
 */
export function localRunbookCopy(edit: (doc: ReturnType<typeof parse>) => void): Map<string, LoadedRunbook> {
  const base = path.dirname(DEFAULT_LOCAL_RUNBOOK);
  const text = readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8').replace(
    /file:(\.\.?\/[^\s'"]+)/g,
    (_m, rel: string) => `file:${path.resolve(base, rel)}`,
  );
  const doc = parse(text);
  for (const node of doc.traffic.sockets as { socket: string; stateFile: string }[]) {
    node.socket = path.resolve(base, node.socket);
    node.stateFile = path.resolve(base, node.stateFile);
  }
  edit(doc);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-'));
  const file = path.join(dir, 'local.yaml');
  writeFileSync(file, stringify(doc));
  return loadRunbooks([file]);
}

/**
 * A throw-away instance of the sample app, in a stack folder of its own (`dir`) on a free port, so a test
 * can stop it without touching the shared stack's instances. Its database defaults to db-gra-1.
 */
export async function scratchApp(site: string, dbPort = stackPort('MYSQL_GRA')) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perl-app-'));
  const port = await freePort();
  writeAppEnv(dir, {
    site,
    listenPort: port,
    dbPort,
    passwordFile: path.join(stackDir(), 'secrets', 'mysql-app.password'),
  });
  const run = promisify(execFile);
  return {
    dir,
    port,
    url: `http://127.0.0.1:${port}/health`,
    appctl: async (action: 'start' | 'stop' | 'status') =>
      (await run(APPCTL, [action, site], { env: { ...process.env, DR_STACK_DIR: dir } })).stdout.trim(),
  };
}
