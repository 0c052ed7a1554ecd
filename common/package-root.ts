import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The folder holding the package's package.json: the checkout itself whether the code runs from its TypeScript
 * sources or compiled under dist/, so files outside the compiled tree (runbooks, the stack's folder) are found
 * the same way in both.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The file extension of the code now running: ".ts" from the sources (tsx, vitest), ".js" once compiled. */
export const RUNNING_CODE_EXTENSION = path.extname(__filename);

/** Where `npm run build` writes the workflow bundle, and where the systemd unit and the compose worker load it from. */
export const DEFAULT_WORKFLOW_BUNDLE = path.join(packageRoot(), 'dist', 'workflow-bundle.js');
