import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HaproxySocketClient, showServersState } from '../../activities/traffic/haproxy-runtime';
import { freePort, processAlive, waitFor } from '../../dev/stack/daemon';

/** A site's backend: an HTTP server on a free port that answers its site name and keeps connections alive. */
async function siteServer(site: string): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ site }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export interface OwnHaproxy {
  dir: string;
  socket: string;
  /** Where its `server-state-file` points (absent in the configuration unless `stateFile` was asked for). */
  stateFile: string;
  frontendUrl: string;
  backend: string;
  runtime(): HaproxySocketClient;
  /** Stops a site's HTTP server (its port then refuses connections), or starts it again on the same port. */
  stopSite(site: string): Promise<void>;
  startSite(site: string): Promise<void>;
  /**
   * A master-worker reload (SIGUSR2 to the master, HAProxy 2.6 management guide, section 4: "The master process reacts
   * to the SIGUSR2 signal by reexecuting itself with the -sf parameter followed by the PIDs of the workers"); resolves
   * once the runtime API answers from the new worker.
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real HAProxy of the test's own, in a temporary folder, on free ports, in front of one HTTP server per site
 * (servers named after their sites in backend `app`; the first site ready, the others in maintenance).
 * `mode tcp` or `mode http`; `cookie` adds cookie persistence (HAProxy's `cookie SRV insert`).
 */
export async function startOwnHaproxy(options: {
  mode: 'http' | 'tcp';
  cookie?: boolean;
  sites?: string[];
  /** The runtime API socket's level (default admin, which `set server` needs). */
  socketLevel?: 'admin' | 'operator';
  /** HTTP health checks of the servers' `/` every 200 ms (one failure marks a server down, one pass up). */
  checks?: boolean;
  /**
   * `server-state-file` (global) and `load-server-state-from-file global` (defaults): a reload applies the states
   * saved in `stateFile` (HAProxy 2.6 configuration manual, "load-server-state-from-file").
   */
  stateFile?: boolean;
}): Promise<OwnHaproxy> {
  const sites = options.sites ?? ['gra', 'rbx'];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'own-haproxy-'));
  const socket = path.join(dir, 'admin.sock');
  const stateFile = path.join(dir, 'server-state');
  const servers = await Promise.all(sites.map(siteServer));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  const frontend = await freePort();
  const config = [
    'global',
    `  stats socket ${socket} mode 600 level ${options.socketLevel ?? 'admin'}`,
    ...(options.stateFile ? [`  server-state-file ${stateFile}`] : []),
    'defaults',
    `  mode ${options.mode}`,
    ...(options.stateFile ? ['  load-server-state-from-file global'] : []),
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend app',
    `  bind 127.0.0.1:${frontend}`,
    '  default_backend app',
    'backend app',
    ...(options.cookie ? ['  cookie SRV insert indirect nocache'] : []),
    ...(options.checks ? ['  option httpchk', '  default-server inter 200ms fall 1 rise 1'] : []),
    ...sites.map((site, i) => {
      const port = ports[i];
      const cookie = options.cookie ? ` cookie ${site}` : '';
      return `  server ${site} 127.0.0.1:${port}${cookie}${options.checks ? ' check' : ''}${i === 0 ? '' : ' disabled'}`;
    }),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'haproxy.cfg'), config);
  // Master-worker (-W) in the foreground (-db), so that reload() can signal the master.
  const child: ChildProcess = spawn('haproxy', ['-W', '-f', path.join(dir, 'haproxy.cfg'), '-db'], {
    stdio: 'ignore',
  });
  const runtime = () => new HaproxySocketClient(socket, 3000);
  await waitFor(
    'own HAProxy',
    () =>
      showServersState(runtime(), 'app').then(
        () => true,
        () => false,
      ),
    10_000,
  );
  const workerPid = async () => /^Pid: (\d+)$/m.exec(await runtime().command('show info'))?.[1];
  return {
    dir,
    socket,
    stateFile,
    frontendUrl: `http://127.0.0.1:${frontend}/`,
    backend: 'app',
    runtime,
    stopSite: async (site) => {
      const server = servers[sites.indexOf(site)]!;
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
    },
    startSite: async (site) => {
      const i = sites.indexOf(site);
      await new Promise<void>((resolve) => servers[i]!.listen(ports[i], '127.0.0.1', resolve));
    },
    reload: async () => {
      const before = await workerPid();
      child.kill('SIGUSR2');
      await waitFor(
        'own HAProxy to reload',
        () =>
          workerPid().then(
            (pid) => pid !== undefined && pid !== before,
            () => false,
          ),
        10_000,
      );
    },
    stop: async () => {
      const pid = child.pid;
      child.kill('SIGTERM');
      if (pid !== undefined) await waitFor('own HAProxy to exit', async () => !processAlive(pid), 10_000);
      for (const s of servers) {
        s.close();
        s.closeAllConnections();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One HTTP client on one kept-alive connection (as a browser holds one), which also plays back the persistence
 * cookie HAProxy gives it. `get()` answers the site that served the request, or rejects with the HTTP status.
 */
export function keepAliveClient(url: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let cookie: string | undefined;
  return {
    get(): Promise<string> {
      return new Promise((resolve, reject) => {
        const req = http.get(url, { agent, headers: cookie ? { cookie } : {} }, (res) => {
          const set = res.headers['set-cookie']?.[0];
          if (set) cookie = set.split(';')[0];
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          res.on('end', () => {
            if (res.statusCode === 200) resolve((JSON.parse(body) as { site: string }).site);
            else reject(new Error(`HTTP ${res.statusCode}`));
          });
        });
        req.on('error', reject);
      });
    },
    get cookie() {
      return cookie;
    },
    close: () => agent.destroy(),
  };
}
