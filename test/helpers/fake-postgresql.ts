import { ApplicationFailure } from '@temporalio/common';
import type { PairSettings } from '../../activities/pair-settings';

/** One PostgreSQL server of the in-memory pair. `lsn`: the end of its WAL (written, or received by a standby). */
export interface FakePgServer {
  running: boolean;
  inRecovery: boolean;
  /** A standby's primary, and whether its WAL receiver streams from it. */
  source?: string;
  streaming: boolean;
  lsn: number;
  replay: number;
  timeline: number;
  /** How the last stop went: a crash leaves it false. */
  cleanStop?: boolean;
  /** Where its timeline began (a promoted server): what the old primary wrote past it is rewound at failback. */
  forkedAt?: number;
  /** A stop answers "not cleanly" (a test's fault). */
  stopsUncleanly?: boolean;
  /** Its host does not answer SSH when the WAL salvage reads its pg_wal (a test's fault). */
  walUnreadable?: boolean;
}

export type FakePgState = Record<string, FakePgServer>;

/** pg-gra the primary at 0/5000000, pg-rbx streaming from it, caught up. */
export const initialPgState = (): FakePgState => ({
  'pg-gra': {
    running: true,
    inRecovery: false,
    streaming: false,
    lsn: 0x5000000,
    replay: 0x5000000,
    timeline: 1,
  },
  'pg-rbx': {
    running: true,
    inRecovery: true,
    source: 'pg-gra',
    streaming: true,
    lsn: 0x5000000,
    replay: 0x5000000,
    timeline: 1,
  },
});

export const fakePgSettings = (): NonNullable<PairSettings['postgresql']> => ({
  servers: [
    { name: 'pg-gra', site: 'gra', role: 'primary', host: '10.0.1.1', port: 5432 },
    { name: 'pg-rbx', site: 'rbx', role: 'standby', host: '10.0.1.2', port: 5432 },
  ],
  maxLagBytes: 1024 * 1024,
});

export const fmtLsn = (n: number) =>
  `${Math.floor(n / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(n % 2 ** 32).toString(16).toUpperCase()}`;
const parseLsn = (lsn: string) => {
  const [hi, lo] = lsn.split('/');
  return parseInt(hi!, 16) * 2 ** 32 + parseInt(lo!, 16);
};

/** The shutdown checkpoint record's length: a clean stop writes it last. */
const CHECKPOINT_RECORD = 0x78;

const failure = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** The PostgreSQL activities over the in-memory state; `enter` records each call as the fake pair's others do. */
export function fakePgActivities(
  settings: () => PairSettings,
  state: () => FakePgState | undefined,
  enter: (name: string, detail?: string) => Promise<void>,
) {
  const pg = () => {
    const s = state();
    if (!s) throw failure('UnknownServer', 'the fake pair has no PostgreSQL');
    return s;
  };
  const config = (name: string) => settings().postgresql!.servers.find((s) => s.name === name)!;
  const status = (name: string) => {
    const x = pg()[name]!;
    const site = config(name).site;
    if (!x.running)
      return {
        server: name,
        site,
        reachable: false,
        error: { type: 'PostgresUnreachable' as const, message: 'connect ECONNREFUSED' },
      };
    const common = {
      server: name,
      site,
      reachable: true,
      version: '15.18',
      inRecovery: x.inRecovery,
      timeline: x.timeline,
      walLogHints: false,
      dataChecksums: true,
      fullPageWrites: true,
      walKeepSizeMb: 512,
    };
    if (x.inRecovery) {
      const src = x.source ? config(x.source) : undefined;
      return {
        ...common,
        receiveLsn: fmtLsn(x.lsn),
        replayLsn: fmtLsn(x.replay),
        walReceiver:
          x.streaming && src ? { status: 'streaming', senderHost: src.host, senderPort: src.port } : null,
      };
    }
    return {
      ...common,
      currentLsn: fmtLsn(x.lsn),
      standbys: Object.entries(pg())
        .filter(([, o]) => o.running && o.source === name && o.streaming)
        .map(([n, o]) => ({
          applicationName: n,
          clientAddr: '127.0.0.1',
          state: 'streaming',
          sentLsn: fmtLsn(o.lsn),
          replayLsn: fmtLsn(o.replay),
          replayLagBytes: x.lsn - o.replay,
        })),
    };
  };

  return {
    pgServerStatuses: async () => {
      await enter('pgServerStatuses');
      return Object.keys(pg()).map(status);
    },
    pgServerStatus: async ({ server }: { server: string }) => {
      await enter('pgServerStatus', server);
      return status(server);
    },
    pgStopServer: async ({ server }: { server: string }) => {
      await enter('pgStopServer', server);
      const x = pg()[server]!;
      const wasRunning = x.running;
      if (wasRunning) {
        x.running = false;
        x.cleanStop = !x.stopsUncleanly;
        if (x.cleanStop && !x.inRecovery) {
          x.lsn += CHECKPOINT_RECORD;
          // The walsenders exit only once their standbys have the shutdown checkpoint.
          for (const o of Object.values(pg())) if (o.source === server && o.streaming) o.lsn = x.lsn;
        }
        for (const o of Object.values(pg())) if (o.source === server) o.streaming = false;
      }
      const checkpointLsn = fmtLsn(x.cleanStop ? x.lsn - CHECKPOINT_RECORD : x.lsn - 0x1000);
      const state = x.cleanStop ? 'shut down' : 'in production';
      return {
        server,
        alreadyStopped: !wasRunning,
        steps: wasRunning ? ['pg_ctl stop -m fast'] : [],
        control: {
          state,
          checkpointLsn,
          redoLsn: checkpointLsn,
          timeline: x.timeline,
          walLogHints: false,
          dataChecksums: true,
        },
        cleanShutdown: !!x.cleanStop,
        description: `${server} is stopped ${x.cleanStop ? 'cleanly' : 'but not cleanly'} (checkpoint ${checkpointLsn}).`,
      };
    },
    pgCatchUp: async ({ server, untilLsn }: { server: string; untilLsn?: string }) => {
      await enter('pgCatchUp', server);
      const x = pg()[server]!;
      if (untilLsn && x.lsn <= parseLsn(untilLsn))
        throw failure(
          'StandbyNotCaughtUp',
          `${server} did not replay past ${untilLsn} (received up to ${fmtLsn(x.lsn)}).`,
        );
      x.replay = x.lsn;
      return {
        server,
        target: untilLsn ?? fmtLsn(x.lsn),
        targetFrom: untilLsn ? "the stopped primary's shutdown checkpoint" : 'what it has received',
        replayLsn: fmtLsn(x.replay),
        alreadyCaughtUp: true,
        waitedMs: 0,
        description: `${server} has replayed up to ${fmtLsn(x.replay)}${untilLsn ? `, past the shutdown checkpoint at ${untilLsn}` : ''}.`,
      };
    },
    pgSalvageWal: async ({ server, from }: { server: string; from: string }) => {
      await enter('pgSalvageWal', server);
      const x = pg()[server]!;
      const o = pg()[from]!;
      const base = { server, from, salvagedBytes: 0, steps: [] as string[], receivedLsn: fmtLsn(x.lsn) };
      const impossible = (reason: string) => ({
        ...base,
        possible: false,
        impossible: reason,
        description: `WAL salvage impossible: ${reason}; what ${from} wrote beyond what ${server} received is lost.`,
      });
      if (!x.inRecovery) return impossible(`${server} is not a standby any more (not in recovery)`);
      if (o.running)
        return impossible(`${from} still runs, so its WAL is not final (the fence did not stop it)`);
      if (o.walUnreadable) return impossible(`${from}: no SSH connection (ECONNREFUSED)`);
      const salvagedBytes = Math.max(0, o.lsn - x.lsn);
      x.lsn = Math.max(x.lsn, o.lsn);
      x.replay = x.lsn;
      return {
        ...base,
        possible: true,
        endLsn: fmtLsn(o.lsn),
        replayLsn: fmtLsn(x.replay),
        salvagedBytes,
        steps: salvagedBytes > 0 ? [`pg_waldump on ${from}`, `copied a segment from ${from}'s pg_wal`] : [],
        description: `${server} replayed ${salvagedBytes} byte(s) of WAL salvaged from ${from}'s pg_wal, up to ${fmtLsn(x.replay)}.`,
      };
    },
    pgPromote: async ({ server }: { server: string }) => {
      await enter('pgPromote', server);
      const x = pg()[server]!;
      const already = !x.inRecovery;
      if (!already) {
        x.inRecovery = false;
        x.source = undefined;
        x.streaming = false;
        x.timeline++;
        x.forkedAt = x.replay;
        x.lsn = x.replay;
      }
      return {
        server,
        alreadyPromoted: already,
        steps: already ? [] : ['SELECT pg_promote(wait => true, wait_seconds => 60)'],
        timeline: x.timeline,
        currentLsn: fmtLsn(x.lsn),
        description: `${server} is the primary (timeline ${x.timeline}).`,
      };
    },
    pgStartServer: async ({ server }: { server: string }) => {
      await enter('pgStartServer', server);
      const x = pg()[server]!;
      if (x.running)
        return { server, alreadyRunning: true, steps: [], description: `${server} already runs.` };
      if (x.inRecovery)
        throw failure('UnfenceOfStandby', `refusing to start ${server} as the primary: it is a standby.`);
      x.running = true;
      return {
        server,
        alreadyRunning: false,
        steps: ['pg_ctl start'],
        description: `${server} runs again as the primary (pg_ctl start).`,
      };
    },
    pgControlData: async ({ server }: { server: string }) => {
      await enter('pgControlData', server);
      const x = pg()[server]!;
      const lsn = fmtLsn(x.lsn);
      return {
        state: x.running ? 'in production' : 'shut down',
        checkpointLsn: lsn,
        redoLsn: lsn,
        timeline: x.timeline,
        walLogHints: false,
        dataChecksums: true,
      };
    },
    pgRejoinAsStandby: async ({ server, source }: { server: string; source: string }) => {
      await enter('pgRejoinAsStandby', server);
      const x = pg()[server]!;
      const src = pg()[source]!;
      if (x.running && x.inRecovery && x.source === source && x.streaming)
        return {
          server,
          source,
          alreadyStandby: true,
          steps: [],
          description: `${server} already streams from ${source}.`,
        };
      const oldEnd = x.lsn;
      const fork = src.forkedAt ?? src.lsn;
      const rewound = Math.max(0, (x.cleanStop ? oldEnd - CHECKPOINT_RECORD : oldEnd) - fork);
      const required = !x.cleanStop || rewound > 0;
      const rewind = required
        ? {
            required: true,
            divergedAt: fmtLsn(fork),
            divergedTimeline: x.timeline,
            oldEndLsn: fmtLsn(oldEnd),
            rewoundBytes: rewound,
            sentence: `pg_rewind rewound ${server}: ${rewound} byte(s) of WAL it wrote after the divergence at ${fmtLsn(fork)} were discarded.`,
          }
        : {
            required: false,
            oldEndLsn: fmtLsn(oldEnd),
            rewoundBytes: 0,
            sentence: 'pg_rewind found nothing to rewind.',
          };
      Object.assign(x, {
        running: true,
        inRecovery: true,
        source,
        streaming: true,
        lsn: src.lsn,
        replay: src.lsn,
        timeline: src.timeline,
        cleanStop: undefined,
        forkedAt: undefined,
      });
      return {
        server,
        source,
        alreadyStandby: false,
        steps: ['pg_rewind', 'pg_ctl start'],
        rewind,
        description: `${server} streams from ${source} as a standby; ${rewind.sentence}`,
      };
    },
  };
}

/** The PostgreSQL activities that only read. */
export const PG_READS = ['pgServerStatuses', 'pgServerStatus', 'pgCatchUp', 'pgControlData'];
