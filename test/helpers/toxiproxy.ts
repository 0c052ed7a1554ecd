import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { freePort, runningPid, startDaemon, stopDaemon, waitForDaemon } from '../../dev/stack/daemon';
import { ensureToxiproxyServer } from '../../dev/tools/toxiproxy';

/**
 * How a cut path behaves (Toxiproxy README, "Toxics" and "HTTP API"; toxics/timeout.go):
 * - `blackhole`: a `timeout` toxic with timeout 0 on both directions: connections are accepted but no byte
 *   gets through either way, until the cut is lifted (then they are closed) — like a network partition;
 * - `refuse`: the proxy is disabled: it stops listening and drops its connections (connection refused).
 */
export type PathCut = 'blackhole' | 'refuse';

export interface RunningToxiproxy {
  pid: number;
  apiUrl: string;
  client: Toxiproxy;
  /** A TCP proxy from `listen` (host:port) to `upstream` (host:port). */
  proxy(name: string, listen: string, upstream: string): Promise<Proxy>;
  cut(proxy: Proxy, how?: PathCut): Promise<void>;
  /** Lifts every cut (Toxiproxy's reset: all proxies enabled, all toxics removed). */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a Toxiproxy server (building it first if needed) with its API on a free loopback port; pid and log in `runDir`. */
export async function startToxiproxy(runDir: string, log: (line: string) => void): Promise<RunningToxiproxy> {
  const server = ensureToxiproxyServer(log);
  const port = await freePort();
  const spec = { name: 'toxiproxy', runDir };
  const pid = startDaemon({
    ...spec,
    command: server,
    args: ['-host', '127.0.0.1', '-port', String(port)],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  const apiUrl = `http://127.0.0.1:${port}`;
  const client = new Toxiproxy(apiUrl);
  try {
    await waitForDaemon(
      spec,
      'toxiproxy',
      () =>
        client.getVersion().then(
          () => true,
          () => false,
        ),
      15_000,
    );
  } catch (err) {
    await stopDaemon(spec, 2_000);
    throw err;
  }
  return {
    pid,
    apiUrl,
    client,
    proxy: (name, listen, upstream) => client.createProxy({ name, listen, upstream }),
    async cut(proxy, how = 'blackhole') {
      if (how === 'refuse') {
        await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
        return;
      }
      for (const stream of ['upstream', 'downstream'] as const) {
        await proxy.addToxic({
          name: `cut-${stream}`,
          type: 'timeout',
          stream,
          toxicity: 1,
          attributes: { timeout: 0 },
        });
      }
    },
    restore: () => client.reset(),
    async stop() {
      if (runningPid(spec) !== undefined) await stopDaemon(spec, 5_000);
    },
  };
}
