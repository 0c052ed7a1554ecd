/**
 * Turns between test files running in parallel processes over one resource, e.g. the shared local stack's DR pair:
 * files that change it hold it alone ("exclusive"), files that only need it in its normal state share it
 * ("shared"). A lock is a folder under the stack folder: `exclusive/` created atomically by its holder, and one
 * `shared-<pid>` file per sharing process. A holder whose process is gone no longer counts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { processAlive, sleep } from '../../dev/stack/daemon';
import { stackDir } from '../../dev/stack/settings';

export type TurnMode = 'exclusive' | 'shared';

/** Longer than any file holding a turn takes, so that a turn never released is a clear error, not a hang. */
const WAIT_MS = 10 * 60_000;

/** Holds the turn on `resource` from the file's first hook to its last. */
export function takeTurns(resource: string, mode: TurnMode): void {
  const dir = path.join(stackDir(), 'turns', resource);
  const exclusive = path.join(dir, 'exclusive');
  const shared = path.join(dir, `shared-${process.pid}`);
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const deadline = Date.now() + WAIT_MS;
    while (!(mode === 'exclusive' ? tryExclusive(dir, exclusive) : tryShared(dir, exclusive, shared))) {
      if (Date.now() > deadline)
        throw new Error(`no ${mode} turn on ${resource} within ${WAIT_MS / 60_000} min (see ${dir})`);
      await sleep(100);
    }
  }, WAIT_MS + 10_000);
  afterAll(() => {
    if (mode === 'shared') rmSync(shared, { force: true });
    else if (ownerOf(exclusive) === process.pid) rmSync(exclusive, { recursive: true, force: true });
  });
}

/** Exclusive: the folder first (new sharers then wait), then no live sharer left. */
function tryExclusive(dir: string, exclusive: string): boolean {
  if (ownerOf(exclusive) !== process.pid) {
    clearAbandoned(exclusive);
    try {
      mkdirSync(exclusive);
      writeFileSync(path.join(exclusive, 'owner'), `${process.pid}\n`);
    } catch {
      return false;
    }
  }
  return liveSharers(dir).length === 0;
}

/** Shared: announce, then check that no exclusive holder came first; withdraw if one did. */
function tryShared(dir: string, exclusive: string, shared: string): boolean {
  clearAbandoned(exclusive);
  if (existsSync(exclusive)) return false;
  writeFileSync(shared, `${process.pid}\n`);
  if (!existsSync(exclusive)) return true;
  rmSync(shared, { force: true });
  return false;
}

function liveSharers(dir: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('shared-'))
    .map((f) => Number(f.slice('shared-'.length)))
    .filter((pid) => {
      if (processAlive(pid)) return true;
      rmSync(path.join(dir, `shared-${pid}`), { force: true });
      return false;
    });
}

/** Removes an exclusive turn held by a process that is gone (or created without an owner by one that died). */
function clearAbandoned(exclusive: string): void {
  const owner = ownerOf(exclusive);
  let abandoned = owner !== undefined && !processAlive(owner);
  if (owner === undefined) {
    try {
      abandoned = Date.now() - statSync(exclusive).mtimeMs > 10_000;
    } catch {
      abandoned = false; // not held
    }
  }
  if (abandoned) rmSync(exclusive, { recursive: true, force: true });
}

function ownerOf(exclusive: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(exclusive, 'owner'), 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
