import { renameSync } from 'node:fs';
import path from 'node:path';
import { toolsDir } from '../stack/settings';
import { isExecutable, onPath } from './executable';
import { goInstall } from './go-install';

/** Toxiproxy's server (Shopify/toxiproxy), pinned; built from the Go module proxy (~20 s with a warm Go cache). */
export const TOXIPROXY_VERSION = '2.5.0';
export const TOXIPROXY_GO_MODULE = `github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}`;

export const toxiproxyServerPath = () =>
  path.join(toolsDir(), `toxiproxy-${TOXIPROXY_VERSION}`, 'toxiproxy-server');

/** Finds Toxiproxy's server without installing anything: TOXIPROXY_SERVER, the tools folder, then PATH. */
export function findToxiproxyServer(): string | undefined {
  const fromEnv = process.env.TOXIPROXY_SERVER;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TOXIPROXY_SERVER=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (isExecutable(toxiproxyServerPath())) return toxiproxyServerPath();
  return onPath('toxiproxy-server');
}

/** Finds Toxiproxy's server, building the pinned version into the tools folder (needs Go) if there is none. */
export function ensureToxiproxyServer(log: (line: string) => void = console.log): string {
  const found = findToxiproxyServer();
  if (found) return found;
  const target = toxiproxyServerPath();
  // `go install` names the binary after the package folder (cmd/server).
  const built = goInstall(TOXIPROXY_GO_MODULE, path.join(path.dirname(target), 'server'), log);
  renameSync(built, target);
  return target;
}
