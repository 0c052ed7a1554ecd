import { rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { currentBuild } from '../dev/stack/daemon';
import { stackDir } from '../dev/stack/settings';
import { formatStatus, stackStatus, stackUp } from '../dev/stack/stack';
import { DEFAULT_WORKFLOW_BUNDLE } from '../common/package-root';
import { bundleWorkflows } from '../worker/bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workflows bundled once per run from the current sources (see `testWorkflowBundle`). */
    workflowBundle: string;
  }
}

/**
 * The tests run against the real local stack: the Temporal dev server and the MariaDB pair.
 * `npm test` brings it up (and down) around vitest; this makes a bare `npx vitest` work too.
 * The workflows are bundled once per run: every worker of the run loads that bundle (as production workers load
 * the one `npm run build` makes) instead of spending seconds of CPU bundling again. `npm test` builds before the
 * tests, so that is the build's bundle; when the build is missing or older than a source, it is bundled here.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const before = await stackStatus(() => undefined);
  const statuses = before.every((s) => s.running)
    ? before
    : await stackUp((line) => console.log(`[stack] ${line}`));
  console.log(`[stack] tests run against:\n${formatStatus(statuses)}`);
  if (currentBuild()) {
    console.log(`[bundle] the workers load the current build's ${DEFAULT_WORKFLOW_BUNDLE}`);
    project.provide('workflowBundle', DEFAULT_WORKFLOW_BUNDLE);
    return () => undefined;
  }
  const bundle = path.join(stackDir(), 'test', `workflow-bundle-${process.pid}.js`);
  project.provide('workflowBundle', await bundleWorkflows(bundle));
  return () => rmSync(bundle, { force: true });
}
