/**
 * Choosing the replica to promote, from the servers' statuses: pure (no I/O), so a workflow can run it too.
 */
import type { MysqlServerStatus } from './mysql-status';
import { gtidsMissing, gtidUnion } from './gtid';

export interface CandidateAssessment {
  server: string;
  site: string;
  /** Whether it can be promoted at all (reachable, no incomplete rebuild, a GTID replica, applier without error). */
  eligible: boolean;
  /** Plain sentences: why it is not eligible, or what to know about it. */
  notes: string[];
  /** Seconds_Behind_Master/Source; null when the server cannot tell (applier stopped or source unreachable). */
  lagSeconds: number | null;
  /** GTIDs it will hold once its relay log is applied. */
  gtids: string;
  /** Transactions received but not applied yet. */
  pendingTransactions: number | null;
  /** Transactions that the most advanced eligible replica holds and this one lacks. */
  behindBest: number | null;
}

export interface CandidateChoice {
  /** The replica to promote; absent when none is eligible. */
  candidate?: string;
  /** Every replica considered, best first. */
  ranking: CandidateAssessment[];
  /** Whether the candidate's lag exceeds what is allowed. */
  tooFarBehind: boolean;
  maxLagSeconds: number;
  /** The decision in one sentence. */
  sentence: string;
}

export interface CandidateOptions {
  /** Servers never to choose (e.g. the primary being replaced). */
  exclude?: string[];
  /** Only servers of this site (e.g. the standby site). */
  site?: string;
  maxLagSeconds: number;
}

/**
 * Ranks the replicas among `statuses`: eligible first, then the most advanced GTID-wise (what each will
 * hold after applying what it received), then the least lagging, then the runbook's order.
 */
export function chooseCandidate(statuses: MysqlServerStatus[], options: CandidateOptions): CandidateChoice {
  const considered = statuses.filter(
    (s) => !(options.exclude ?? []).includes(s.server) && (!options.site || s.site === options.site),
  );
  const assessed = considered.map((s, order) => ({ order, ...assess(s) }));
  const eligible = assessed.filter((a) => a.eligible);
  const dialect = statuses.find((s) => s.dialect)?.dialect ?? 'mariadb';
  let union = '';
  try {
    union = gtidUnion(dialect, ...eligible.map((a) => a.gtids));
  } catch {
    /* unparsable: no ordering by GTID */
  }
  for (const a of eligible) {
    try {
      a.behindBest = gtidsMissing(dialect, union, a.gtids);
    } catch {
      a.behindBest = null;
    }
  }
  const rank = (a: (typeof assessed)[number]) => [
    a.eligible ? 0 : 1,
    a.behindBest ?? Number.MAX_SAFE_INTEGER,
    a.lagSeconds ?? Number.MAX_SAFE_INTEGER,
    a.order,
  ];
  assessed.sort((x, y) => {
    const [rx, ry] = [rank(x), rank(y)];
    for (let i = 0; i < rx.length; i++) if (rx[i] !== ry[i]) return (rx[i] as number) - (ry[i] as number);
    return 0;
  });
  const ranking: CandidateAssessment[] = assessed.map(({ order: _order, ...a }) => a);
  const best = ranking[0]?.eligible ? ranking[0] : undefined;
  if (!best) {
    const why = ranking.map((a) => `${a.server}: ${a.notes.join('; ')}`).join(' | ');
    return {
      ranking,
      tooFarBehind: false,
      maxLagSeconds: options.maxLagSeconds,
      sentence: `no replica can be promoted${why ? ` (${why})` : ' (no replica to consider)'}.`,
    };
  }
  const tooFarBehind = best.lagSeconds !== null && best.lagSeconds > options.maxLagSeconds;
  const others = ranking.filter((a) => a !== best);
  const comparison = others.length
    ? `; ${others.map((a) => (a.eligible ? `${a.server} lacks ${a.behindBest ?? '?'} of its transactions` : `${a.server} is not eligible`)).join(', ')}`
    : '';
  const lag =
    best.lagSeconds === null ? 'lag unknown (not connected to its source)' : `${best.lagSeconds}s behind`;
  return {
    candidate: best.server,
    ranking,
    tooFarBehind,
    maxLagSeconds: options.maxLagSeconds,
    sentence: tooFarBehind
      ? `the most advanced replica ${best.server} is ${best.lagSeconds}s behind, more than the ${options.maxLagSeconds}s allowed.`
      : `${best.server} is the most advanced replica (${lag}, ${best.pendingTransactions ?? '?'} transactions to apply)${comparison}.`,
  };
}

function assess(s: MysqlServerStatus): CandidateAssessment {
  const notes: string[] = [];
  const repl = s.replication;
  const base = {
    server: s.server,
    site: s.site,
    lagSeconds: repl?.lagSeconds ?? null,
    gtids: repl?.receivedOrApplied ?? s.gtidExecuted ?? '',
    pendingTransactions: repl?.pendingTransactions ?? null,
    behindBest: null,
  };
  if (!s.reachable) notes.push(`unreachable (${s.error?.type ?? 'error'})`);
  else if (s.rebuildIncomplete)
    notes.push(`holds an incomplete rebuild (started at ${s.rebuildIncomplete.startedAt})`);
  else if (!repl) notes.push('not a replica');
  else {
    if (repl.lastSqlErrno) notes.push(`applier stopped on error ${repl.lastSqlErrno}: ${repl.lastSqlError}`);
    if (repl.gtidPositioning === 'No' || repl.gtidPositioning === 'no')
      notes.push('replicates without GTID positioning');
  }
  const eligible = notes.length === 0;
  if (eligible && repl) {
    if (repl.sqlRunning !== 'Yes') notes.push('applier stopped (catch-up starts it)');
    if (repl.ioRunning !== 'Yes') notes.push(`not connected to its source (IO thread ${repl.ioRunning})`);
    if (!s.readOnly) notes.push('writable');
  }
  return { ...base, eligible, notes };
}
