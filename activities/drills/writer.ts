import { httpWriteOutcome, type WriteOutcome } from '../../common/write-outcome';

export interface WriterOptions {
  /** The write endpoint through the entry point: each write is a POST of {item, client_ref: "<runId>:<n>"}. */
  url: string;
  ratePerSecond: number;
  runId: string;
  /** Stop once this many writes in a row were acknowledged by this site. */
  stopWhen: { site: string; inARow: number };
  maxMs: number;
  signal: AbortSignal;
  heartbeat(progress: { attempted: number; acknowledged: number; lastSite?: string }): void;
  /** Client-side limit of one write (default 5 s); past it the outcome is unknown. */
  requestTimeoutMs?: number;
}

export interface WriterResult {
  runId: string;
  attempted: number;
  acknowledged: number;
  failed: number;
  unknown: number;
  /** The acknowledged write numbers, as [first, last] ranges. */
  acknowledgedRanges: [number, number][];
  /** Acknowledged writes per site that served them. */
  bySite: Record<string, number>;
  /** The longest stretch without an acknowledged write, from the first write to the last. */
  writeOutageMs: number;
  /** When it stopped: the writes moved to the site, or the time ran out. */
  stoppedBecause: 'moved' | 'max-time';
  durationMs: number;
  description: string;
}

interface Written {
  seq: number;
  outcome: WriteOutcome;
  site?: string;
  at: number;
}

const MAX_IN_FLIGHT = 8;

/**
 * Writes numbered rows through the application at a steady rate (at most 8 in flight) and records which were
 * acknowledged and by which site, until the writes moved to `stopWhen.site` or `maxMs` passed; cancelled by `signal`.
 */
export async function runDrillWriter(options: WriterOptions): Promise<WriterResult> {
  const records: Written[] = [];
  const inFlight = new Set<Promise<void>>();
  const started = Date.now();
  const interval = 1000 / options.ratePerSecond;
  let streak = 0;
  let seq = 0;
  let lastBeat = 0;
  let stoppedBecause: WriterResult['stoppedBecause'] = 'max-time';
  const write = async (n: number) => {
    const record = await postWrite(options, n);
    records.push(record);
    if (record.outcome === 'acknowledged' && record.site === options.stopWhen.site) streak++;
    else if (record.outcome === 'acknowledged' || record.outcome === 'unknown') streak = 0;
  };
  while (Date.now() - started < options.maxMs) {
    if (options.signal.aborted) break;
    if (streak >= options.stopWhen.inARow) {
      stoppedBecause = 'moved';
      break;
    }
    seq++;
    const wait = started + (seq - 1) * interval - Date.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const pending: Promise<void> = write(seq).finally(() => inFlight.delete(pending));
    inFlight.add(pending);
    if (Date.now() - lastBeat > 1000) {
      lastBeat = Date.now();
      options.heartbeat({
        attempted: records.length,
        acknowledged: records.filter((r) => r.outcome === 'acknowledged').length,
        lastSite: records.at(-1)?.site,
      });
    }
  }
  await Promise.all(inFlight);
  if (options.signal.aborted) throw options.signal.reason ?? new Error('the drill writer was cancelled');
  return summarize(options, records, started, stoppedBecause);
}

async function postWrite(options: WriterOptions, seq: number): Promise<Written> {
  try {
    const res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ item: `drill write ${seq}`, client_ref: `${options.runId}:${seq}` }),
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 5_000),
    });
    let body: { site?: unknown; error?: unknown } | undefined;
    try {
      body = JSON.parse(await res.text()) as typeof body;
    } catch {
      body = undefined;
    }
    const site = typeof body?.site === 'string' ? body.site : undefined;
    return { seq, outcome: httpWriteOutcome(res.status, body), ...(site ? { site } : {}), at: Date.now() };
  } catch (err) {
    // Refused: nothing was sent. Anything else (reset, timeout) may have reached the application.
    const code = (err as { cause?: { code?: string } }).cause?.code;
    return { seq, outcome: code === 'ECONNREFUSED' ? 'failed' : 'unknown', at: Date.now() };
  }
}

function summarize(
  options: WriterOptions,
  records: Written[],
  started: number,
  stoppedBecause: WriterResult['stoppedBecause'],
): WriterResult {
  const acknowledged = records.filter((r) => r.outcome === 'acknowledged').sort((a, b) => a.at - b.at);
  const bySite: Record<string, number> = {};
  for (const r of acknowledged) bySite[r.site ?? '?'] = (bySite[r.site ?? '?'] ?? 0) + 1;
  let writeOutageMs = 0;
  let previous = started;
  for (const r of acknowledged) {
    writeOutageMs = Math.max(writeOutageMs, r.at - previous);
    previous = r.at;
  }
  const count = (outcome: WriteOutcome) => records.filter((r) => r.outcome === outcome).length;
  const durationMs = Date.now() - started;
  return {
    runId: options.runId,
    attempted: records.length,
    acknowledged: acknowledged.length,
    failed: count('failed'),
    unknown: count('unknown'),
    acknowledgedRanges: toRanges(acknowledged.map((r) => r.seq)),
    bySite,
    writeOutageMs,
    stoppedBecause,
    durationMs,
    description:
      `${records.length} writes in ${(durationMs / 1000).toFixed(1)} s, ${acknowledged.length} acknowledged ` +
      `(${Object.entries(bySite)
        .map(([site, n]) => `${n} by ${site}`)
        .join(', ')}), longest stretch without one ${(writeOutageMs / 1000).toFixed(1)} s; ` +
      (stoppedBecause === 'moved'
        ? `stopped once ${options.stopWhen.inARow} writes in a row were acknowledged by ${options.stopWhen.site}.`
        : `stopped after ${(options.maxMs / 1000).toFixed(0)} s without the writes moving to ${options.stopWhen.site}.`),
  };
}

/** Sorted, distinct numbers as [first, last] ranges: [1,2,3,5] → [[1,3],[5,5]]. */
export function toRanges(numbers: number[]): [number, number][] {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const n of sorted) {
    const last = out.at(-1);
    if (last && n === last[1] + 1) last[1] = n;
    else out.push([n, n]);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
