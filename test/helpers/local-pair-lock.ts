/**
 * Setup file of the `local-pair` test project: the files that read or change the shared local stack's DR pair
 * (its MariaDB trio, apps, HAProxy, OVH emulator, stack worker) run one at a time, while the other files (own
 * systems on free ports) run alongside them. Each such file holds a lock, a folder created atomically, from its
 * first hook to its last; a lock whose holder process is gone is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { processAlive, sleep } from '../../dev/stack/daemon';
import { stackDir } from '../../dev/stack/settings';

const LOCK = path.join(stackDir(), 'local-pair.lock');
const OWNER = path.join(LOCK, 'owner');
/** Longer than the longest of these files takes alone, so that a lock never seen released is a clear error. */
const WAIT_MS = 10 * 60_000;

async function acquire(): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(OWNER, `${process.pid}\n`);
      return;
    } catch {
      if (abandoned()) rmSync(LOCK, { recursive: true, force: true });
    }
    if (Date.now() > deadline)
      throw new Error(
        `the shared local pair stayed locked by pid ${readOwner()} for ${WAIT_MS / 60_000} min (${LOCK})`,
      );
    await sleep(100);
  }
}

/** Held by a process that is gone, or created without an owner by one that died at once. */
function abandoned(): boolean {
  const owner = readOwner();
  if (owner !== undefined) return !processAlive(owner);
  try {
    return Date.now() - statSync(LOCK).mtimeMs > 10_000;
  } catch {
    return false; // released meanwhile
  }
}

/** The holder's pid; undefined while the holder has not written it yet. */
function readOwner(): number | undefined {
  try {
    const pid = Number(readFileSync(OWNER, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(acquire, WAIT_MS + 10_000);
afterAll(() => {
  if (readOwner() === process.pid) rmSync(LOCK, { recursive: true, force: true });
});
