import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/settings';
import { releaseCommit } from './histories';

/**
 * The source tree of a kept release (the commit its histories were recorded at, test/histories/<version>/RELEASE),
 * taken from this clone's git history into a folder of its own, with this checkout's node_modules: what a worker of
 * that release ran. Made once per checkout and commit; a clone without that commit fails here, saying so.
 */
export function releaseTree(release: string): string {
  const commit = releaseCommit(release);
  // One per checkout too: the tree links this checkout's node_modules, which goes with it (a soak's clone).
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 8);
  const tree = path.join(os.tmpdir(), `dr-release-${release}-${commit.slice(0, 12)}-${checkout}`);
  if (existsSync(path.join(tree, 'worker', 'main.ts'))) return tree;
  const partial = `${tree}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    const archive = execFileSync('git', ['-C', REPO_ROOT, 'archive', '--format=tar', commit], {
      maxBuffer: 512 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', partial], { input: archive });
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(
      `release ${release} (commit ${commit}) cannot be taken from this clone's history: ${(err as Error).message}`,
      { cause: err },
    );
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(partial, 'node_modules'));
  if (existsSync(path.join(tree, 'worker', 'main.ts'))) rmSync(partial, { recursive: true, force: true });
  else {
    rmSync(tree, { recursive: true, force: true });
    renameSync(partial, tree);
  }
  return tree;
}
