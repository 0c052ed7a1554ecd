import type pg from 'pg';
import { PG_APP, PG_SITES, type PgSite, type ScratchPgPair } from './scratch-postgresql';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each writer's ids start a range of their own, so a second writer on the same table never meets the first's rows. */
const IDS_PER_WRITER = 10_000_000;
let writers = 0;

/**
 * Inserts numbered rows into `writes`, one at a time, on whichever server is out of recovery; an id counts as
 * acknowledged once its INSERT returned. A failed INSERT is not retried under the same id.
 */
export class PgWriter {
  readonly acknowledged: { id: number; site: PgSite; at: number }[] = [];
  private next = ++writers * IDS_PER_WRITER + 1;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly pair: ScratchPgPair) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  ackedOn(site: PgSite, since = 0): number {
    return this.acknowledged.filter((a) => a.site === site && a.at >= since).length;
  }

  private async primary(): Promise<{ site: PgSite; client: pg.Client } | undefined> {
    for (const site of PG_SITES) {
      const client = await this.pair.client(site, PG_APP).catch(() => undefined);
      if (!client) continue;
      const standby = await client
        .query('SELECT pg_is_in_recovery() AS r')
        .then((r) => r.rows[0]!.r === true)
        .catch(() => true);
      if (!standby) return { site, client };
      await client.end().catch(() => undefined);
    }
    return undefined;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const target = await this.primary();
      if (!target) {
        await sleep(50);
        continue;
      }
      try {
        while (!this.stopped) {
          const id = this.next++;
          await target.client.query('INSERT INTO writes (id) VALUES ($1)', [id]);
          this.acknowledged.push({ id, site: target.site, at: Date.now() });
          await sleep(20);
        }
      } catch {
        // The server went away or became read-only: find the primary again.
      } finally {
        await target.client.end().catch(() => undefined);
      }
    }
  }
}
