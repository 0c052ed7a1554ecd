import { heartbeat, log } from '@temporalio/activity';
import { lsnBytes, lsnDiff } from '../../common/pg-lsn';
import { lastLines, type PgHost } from './remote';
import type { PgServerStatus } from './status';
import { POLL_MS, READ_MS, sleep } from './timing';

/** What the WAL salvage did: the dead primary's WAL the standby lacked, copied into its pg_wal and replayed. */
export interface PgSalvageResult {
  /** The standby the WAL was given to, and the dead primary it comes from. */
  server: string;
  from: string;
  possible: boolean;
  /** Why nothing could be salvaged (the failover goes on without). */
  impossible?: string;
  /** Where the standby's WAL ended before the salvage (what it had received). */
  receivedLsn?: string;
  /** The end of the last record the dead primary wrote, as pg_waldump reads its pg_wal. */
  endLsn?: string;
  /** Where the standby has replayed to now. */
  replayLsn?: string;
  /** Bytes of WAL the standby replayed beyond what it had received: what the salvage recovered. */
  salvagedBytes: number;
  /** The salvage ended at its timeout before the standby replayed up to endLsn. */
  timedOut?: boolean;
  steps: string[];
  description: string;
}

interface SalvageDeps {
  host(pair: string, name: string): PgHost;
  /** The standby's status; it fails typed when the standby does not answer. */
  answering(pair: string, name: string): Promise<PgServerStatus>;
}

const SEGMENT_MS = 120_000;

/** Where a dead primary's WAL ends, and what names its segment files. */
interface WalEnd {
  timeline: number;
  segmentBytes: number;
  /** The start of the last valid record; absent when there is none beyond what the standby received. */
  lastRecordStart?: string;
  endLsn: string;
}

/**
 * Unplanned: the dead primary's WAL that its standby had not received, copied from the primary's pg_wal into the
 * standby's over SSH, where the standby's startup process replays it (a standby whose stream is gone reads the WAL
 * files in pg_wal); the activity waits until it has replayed the last record the primary wrote.
 */
export function createPgSalvageActivities({ host, answering }: SalvageDeps) {
  return {
    async pgSalvageWal(input: {
      pair: string;
      server: string;
      from: string;
      timeoutMs?: number;
    }): Promise<PgSalvageResult> {
      const steps: string[] = [];
      const impossible = (reason: string, extra: Partial<PgSalvageResult> = {}): PgSalvageResult => {
        const description = `WAL salvage impossible: ${reason}; what ${input.from} wrote beyond what ${input.server} received is lost.`;
        log.warn(description);
        return {
          server: input.server,
          from: input.from,
          possible: false,
          impossible: reason,
          salvagedBytes: 0,
          steps,
          ...extra,
          description,
        };
      };
      const before = await answering(input.pair, input.server);
      if (!before.inRecovery)
        return impossible(`${input.server} is not a standby any more (not in recovery)`);
      const receivedLsn = before.receiveLsn ?? before.replayLsn ?? undefined;
      if (!receivedLsn) return impossible(`${input.server} cannot say how much WAL it has`);

      const primary = host(input.pair, input.from);
      const end = await lastRecord(primary, input.from, receivedLsn).catch((err: unknown) => ({
        impossible: (err as Error).message,
      }));
      if ('impossible' in end) return impossible(end.impossible, { receivedLsn });
      steps.push(`pg_waldump on ${input.from} from ${receivedLsn}`);
      if (!end.lastRecordStart || lsnBytes(end.endLsn) <= lsnBytes(receivedLsn)) {
        const description = `${input.from}'s WAL holds nothing beyond what ${input.server} received (${receivedLsn}): nothing to salvage.`;
        log.info(description);
        return {
          server: input.server,
          from: input.from,
          possible: true,
          receivedLsn,
          endLsn: end.endLsn,
          salvagedBytes: 0,
          steps,
          description,
        };
      }

      const standby = host(input.pair, input.server);
      for (const segment of segmentsBetween(receivedLsn, end.endLsn, end.timeline, end.segmentBytes)) {
        const content = await primary.readFile(`${primary.dataDirectory}/pg_wal/${segment}`, SEGMENT_MS);
        await standby.writeFile(`${standby.dataDirectory}/pg_wal/${segment}`, content, SEGMENT_MS);
        steps.push(
          `copied ${segment} (${content.length} bytes) from ${input.from}'s pg_wal to ${input.server}'s`,
        );
      }
      return waitForReplay(
        input,
        { receivedLsn, endLsn: end.endLsn, lastRecordStart: end.lastRecordStart },
        steps,
      );
    },
  };

  /**
   * Where the dead primary's WAL ends: pg_waldump reads its pg_wal (on the timeline of its last checkpoint) from where
   * the standby's ends and stops at the first invalid record, printing "error in WAL record at <the last record's
   * start>: invalid record length at <its end>: …"; "could not find a valid record after" means nothing is beyond.
   */
  async function lastRecord(
    primary: PgHost,
    from: string,
    receivedLsn: string,
  ): Promise<WalEnd | { impossible: string }> {
    if (await primary.running(READ_MS))
      return { impossible: `${from} still runs, so its WAL is not final (the fence did not stop it)` };
    const { timeline, walSegmentBytes: segmentBytes } = await primary.controlData(READ_MS);
    const waldump = primary.tool(
      'pg_waldump',
      '-p',
      `${primary.dataDirectory}/pg_wal`,
      '-t',
      String(timeline),
      '-s',
      receivedLsn,
    );
    const said = (await primary.run(`${waldump} > /dev/null`, 'pg_waldump', READ_MS)).stderr;
    if (/could not find a valid record after/.test(said))
      return { timeline, segmentBytes, endLsn: receivedLsn };
    const error = /error in WAL record at ([0-9A-F]+\/[0-9A-F]+): (.*)$/m.exec(said);
    if (!error)
      return { impossible: `pg_waldump on ${from} did not say where its WAL ends: ${lastLines(said)}` };
    const end = /\bat ([0-9A-F]+\/[0-9A-F]+)/.exec(error[2]!)?.[1] ?? error[1]!;
    return { timeline, segmentBytes, lastRecordStart: error[1]!, endLsn: end };
  }

  async function waitForReplay(
    input: { pair: string; server: string; from: string; timeoutMs?: number },
    lsns: { receivedLsn: string; endLsn: string; lastRecordStart: string },
    steps: string[],
  ): Promise<PgSalvageResult> {
    const deadline = Date.now() + (input.timeoutMs ?? 120_000);
    for (;;) {
      const s = await answering(input.pair, input.server);
      const replayLsn = s.replayLsn ?? lsns.receivedLsn;
      const done = lsnBytes(replayLsn) > lsnBytes(lsns.lastRecordStart);
      if (done || Date.now() > deadline) {
        const salvagedBytes = Math.max(0, lsnDiff(replayLsn, lsns.receivedLsn));
        const description = done
          ? `${input.server} replayed ${salvagedBytes} byte(s) of WAL salvaged from ${input.from}'s pg_wal, up to ${replayLsn}: everything ${input.from} wrote (its WAL ends at ${lsns.endLsn}).`
          : `${input.server} replayed ${salvagedBytes} byte(s) of WAL salvaged from ${input.from}'s pg_wal, up to ${replayLsn}, but not up to the end of ${input.from}'s WAL (${lsns.endLsn}) within the salvage timeout: what lies beyond is lost.`;
        log.info(description);
        return {
          server: input.server,
          from: input.from,
          possible: true,
          ...lsns,
          replayLsn,
          salvagedBytes,
          ...(done ? {} : { timedOut: true }),
          steps,
          description,
        };
      }
      heartbeat({ server: input.server, replay: replayLsn, end: lsns.endLsn });
      await sleep(POLL_MS);
    }
  }
}

/** The names of the WAL segment files that hold the bytes from `from` to `to` on `timeline`. */
export function segmentsBetween(from: string, to: string, timeline: number, segmentBytes: number): string[] {
  const size = BigInt(segmentBytes);
  const perId = 0x100000000n / size;
  const hex = (n: bigint) => n.toString(16).toUpperCase().padStart(8, '0');
  const names: string[] = [];
  for (let segno = lsnBytes(from) / size; segno <= (lsnBytes(to) - 1n) / size; segno++)
    names.push(`${hex(BigInt(timeline))}${hex(segno / perId)}${hex(segno % perId)}`);
  return names;
}
