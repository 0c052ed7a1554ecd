import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { GtidParseError } from '../../common/gtid';
import type { MysqlConnections } from './connections';
import { errantTransactions, type ErrantTransactionsReport } from './failover';
import { checkedInput, invalidInput, measureLossInput, type MeasureLossInput } from './inputs';
import { MysqlSession } from './session';
import type { MysqlServerStatus } from './status';

/** GTID ranges listed in a measured loss; the count covers them all. */
export const MAX_LISTED_RANGES = 20;

/**
 * The MySQL data loss a failover measured at its end: the transactions the old primary holds that the promoted
 * server lacks. Absent `count`: unknown, and the sentence says why.
 */
export interface MeasuredLoss {
  system: 'mysql';
  /** The old primary. */
  from: string;
  /** The promoted server. */
  to: string;
  /** Transactions `from` holds that `to` lacks; a lower bound when `atLeast`. Absent when unknown. */
  count?: number;
  /** MariaDB: the scan of `from`'s binlog stopped at its limit, so there may be more. */
  atLeast?: boolean;
  /** Those transactions as GTID ranges in the server's notation (the first MAX_LISTED_RANGES); absent when none. */
  gtids?: string;
  sentence: string;
}

/**
 * The loss a failover measures: read-only and idempotent. A server that cannot be read (or compared) makes the
 * loss unknown, stated with the reason, rather than a failure: at the end of an unplanned failover the old primary
 * is usually gone, and the report must still be written without waiting for retries.
 */
export function createMysqlLossActivities({ connections }: { connections: MysqlConnections }) {
  return {
    /**
     * Compares the old primary `from` with the promoted `to`: MySQL `GTID_SUBTRACT(from's gtid_executed, to's)`;
     * MariaDB `gtid_binlog_state` per (domain, server_id), the GTIDs listed from `from`'s binlog (the sequence
     * numbers of a domain are shared by its servers, so `gtid_binlog_pos` alone cannot tell once `to` has written).
     */
    async mysqlMeasureLoss(unchecked: MeasureLossInput): Promise<MeasuredLoss> {
      const input = checkedInput('mysqlMeasureLoss', measureLossInput, unchecked);
      if (input.from === input.to)
        throw invalidInput('mysqlMeasureLoss', [`to: must name another server than from (${input.from})`]);
      connections.server(input.pair, input.from);
      connections.server(input.pair, input.to);
      const base = { system: 'mysql' as const, from: input.from, to: input.to };
      const unknown = (why: string): MeasuredLoss => ({
        ...base,
        sentence: `unknown: ${why}, so what ${input.from} committed that ${input.to} lacks is not known.`,
      });

      let old: { session: MysqlSession; status: MysqlServerStatus };
      try {
        const session = await MysqlSession.open(connections, input.pair, input.from);
        old = { session, status: await session.status() };
      } catch (err) {
        return logged(unknown(`${input.from} cannot be read (${reason(err)})`));
      }
      let report: ErrantTransactionsReport;
      try {
        const promoted = await MysqlSession.open(connections, input.pair, input.to);
        report = await errantTransactions(old.session, old.status, promoted, await promoted.status());
      } catch (err) {
        return logged(unknown(`${input.from} and ${input.to} cannot be compared (${reason(err)})`));
      }
      return logged(measured(base, report));
    },
  };
}

function measured(
  base: Pick<MeasuredLoss, 'system' | 'from' | 'to'>,
  report: ErrantTransactionsReport,
): MeasuredLoss {
  if (report.count === 0)
    return {
      ...base,
      count: 0,
      sentence: `none: ${base.to} holds every transaction ${base.from} committed.`,
    };
  // MySQL: GTID_SUBTRACT's set elements ("uuid:451-500"), already ranges.
  const ranges = report.dialect === 'mysql' ? report.gtids : mariadbGtidRanges(report.gtids);
  const listed = ranges.slice(0, MAX_LISTED_RANGES).join(', ');
  const more =
    ranges.length > MAX_LISTED_RANGES ? ` and ${ranges.length - MAX_LISTED_RANGES} more range(s)` : '';
  const atLeast = report.truncated ? 'at least ' : '';
  return {
    ...base,
    count: report.count,
    ...(report.truncated ? { atLeast: true } : {}),
    ...(listed ? { gtids: more ? `${listed}, …` : listed } : {}),
    sentence: `${atLeast}${report.count} transaction(s) that ${base.from} committed are not on ${base.to}${listed ? `: ${listed}${more}` : ''}.`,
  };
}

/** MariaDB GTIDs ("0-1-451", one each) as ranges of consecutive sequence numbers per domain and server ("0-1-451 to 0-1-500"). */
export function mariadbGtidRanges(gtids: string[]): string[] {
  const ranges: { prefix: string; first: number; last: number }[] = [];
  for (const gtid of gtids) {
    const cut = gtid.lastIndexOf('-');
    const prefix = gtid.slice(0, cut);
    const seq = Number(gtid.slice(cut + 1));
    const open = ranges.at(-1);
    if (open && open.prefix === prefix && open.last + 1 === seq) open.last = seq;
    else ranges.push({ prefix, first: seq, last: seq });
  }
  return ranges.map((r) =>
    r.first === r.last ? `${r.prefix}-${r.first}` : `${r.prefix}-${r.first} to ${r.prefix}-${r.last}`,
  );
}

/**
 * Why a server could not be read or compared, as "Type: message" (MySQL failures carry no secret: see
 * mysqlFailure); anything else is a defect, thrown as it is.
 */
function reason(err: unknown): string {
  if (err instanceof ApplicationFailure) return `${err.type ?? 'Error'}: ${err.message}`;
  if (err instanceof GtidParseError) return `${err.name}: ${err.message}`;
  throw err;
}

function logged(loss: MeasuredLoss): MeasuredLoss {
  log.info(`measured MySQL data loss: ${loss.sentence}`, { from: loss.from, to: loss.to, count: loss.count });
  return loss;
}
