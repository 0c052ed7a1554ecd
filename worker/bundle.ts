import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { DEFAULT_WORKFLOW_BUNDLE, RUNNING_CODE_EXTENSION } from '../common/package-root';

/** The bundler's own progress lines are dropped; its errors still reject. */
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Bundles the orchestrator's workflows into `outFile`, for workers started with DR_WORKFLOW_BUNDLE: they load it
 * instead of bundling at start. Build it from the code the workers run (e.g. at release), never reuse an old one.
 */
export async function bundleWorkflows(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '..', 'workflows', `index${RUNNING_CODE_EXTENSION}`),
    logger: quiet,
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return outFile;
}

if (require.main === module) {
  const outFile = path.resolve(process.argv[2] ?? DEFAULT_WORKFLOW_BUNDLE);
  bundleWorkflows(outFile).then(
    (file) => console.log(`workflow bundle written to ${file}`),
    (err: unknown) => {
      console.error(`bundle-workflows: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
