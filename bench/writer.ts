/**
 * The one writer every contender of a move is measured with: `dev/write-load.ts`'s FrontendWriteLoad through the
 * scratch pair's public entry point (HAProxy → Perl app → its site's database), lost writes counted by id.
 */
import { waitFor } from '../dev/stack/daemon';
import type { FrontendWriteLoad } from '../dev/write-load';
import type { ScratchDrPair } from '../test/helpers/scratch-dr-pair';

export const WRITES_PER_SECOND = 200;

export interface WritesDuringMove {
  /** The longest stretch without an acknowledged write (the write outage as the client saw it). */
  outageMs: number;
  acknowledged: number;
  ratePerSecond: number;
  /** Acknowledged writes missing on the promoted server; undefined when nothing was promoted. */
  lost?: number;
}

const acknowledgedBy = (load: FrontendWriteLoad, site: string, since = 0) =>
  load.records.filter((r) => r.outcome === 'acknowledged' && r.server === site && r.at >= since).length;

/**
 * Runs `move` (gra → rbx) under the writer: starts once gra has acknowledged 100 writes, and after the move waits
 * until rbx has acknowledged 50 (when the move promoted a server), then counts the lost writes on that server.
 */
export async function underWrites<T>(
  pair: ScratchDrPair,
  move: () => Promise<{ result: T; promoted?: string }>,
): Promise<{ result: T; writes: WritesDuringMove }> {
  const load = pair.writeLoad({
    ratePerSecond: WRITES_PER_SECOND,
    maxInFlight: 1000,
    requestTimeoutMs: 10_000,
  });
  load.start();
  try {
    await waitFor('gra acknowledges 100 writes', async () => acknowledgedBy(load, 'gra') >= 100, 30_000);
    const { result, promoted } = await move();
    const movedAt = Date.now();
    if (promoted)
      await waitFor(
        'rbx acknowledges 50 writes',
        async () => acknowledgedBy(load, 'rbx', movedAt) >= 50,
        30_000,
      );
    const summary = await load.stop();
    const lost = promoted ? (await load.verify(promoted)).lost.length : undefined;
    return {
      result,
      writes: {
        outageMs: summary.longestGapMs,
        acknowledged: summary.acknowledged,
        ratePerSecond: summary.achievedRatePerSecond,
        ...(lost !== undefined ? { lost } : {}),
      },
    };
  } finally {
    await load.stop();
  }
}
