import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../common/package-root';

/**
 * Workflow histories kept per release: `test/histories/<version>/<name>.json`, recorded by the workflow tests of
 * that release (DR_RECORD_HISTORIES=1) and never recorded again. The replay test replays every one of them against
 * today's code, so a change that would break a run started on any kept release fails there. Each release folder
 * also names the commit it was recorded at (`RELEASE`), which the deploy-while-waiting test runs as the old worker.
 */
export const HISTORIES_DIR = path.join(packageRoot(), 'test', 'histories');

export interface KeptHistory {
  release: string;
  /** `<release>/<name>`: which kept history this is. */
  name: string;
  /**
   * The workflow ID the run had (`<name>.workflow-id` beside the history, written by recordHistory since 0.3.0), which
   * a workflow deriving IDs from its own (the drill's child readiness check) needs in replay; else the name.
   */
  workflowId: string;
  history: unknown;
}

export function keptReleases(): string[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort(compareVersions);
}

export function keptHistories(): KeptHistory[] {
  return keptReleases().flatMap((release) =>
    readdirSync(path.join(HISTORIES_DIR, release))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const name = `${release}/${f.replace(/\.json$/, '')}`;
        const idFile = path.join(HISTORIES_DIR, `${name}.workflow-id`);
        return {
          release,
          name,
          workflowId: existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : name,
          history: JSON.parse(readFileSync(path.join(HISTORIES_DIR, release, f), 'utf8')),
        };
      }),
  );
}

/** The commit a kept release was recorded at. */
export function releaseCommit(release: string): string {
  return readFileSync(path.join(HISTORIES_DIR, release, 'RELEASE'), 'utf8').trim();
}

/** The release being built: package.json's version. */
export function currentRelease(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * With DR_RECORD_HISTORIES=1, keeps the history of a run under the current release. A history already kept is
 * never written again: a release's histories are what runs of that release really did.
 */
export async function recordHistory(
  handle: { workflowId: string; fetchHistory(): Promise<unknown> },
  name: string,
): Promise<void> {
  if (process.env.DR_RECORD_HISTORIES !== '1') return;
  const folder = path.join(HISTORIES_DIR, currentRelease());
  const file = path.join(folder, `${name}.json`);
  if (existsSync(file))
    throw new Error(`${file} is kept history of release ${currentRelease()}: it is never recorded again`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(file, historyToJSON((await handle.fetchHistory()) as never) + '\n');
  writeFileSync(path.join(folder, `${name}.workflow-id`), `${handle.workflowId}\n`);
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
