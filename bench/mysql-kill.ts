/**
 * The MySQL primary SIGKILLed under one writer (dev/write-load.ts's WriteLoad at 200 writes/s, writing to whichever
 * server is writable: the same client routing for both contenders), on a fresh scratch MariaDB trio per contender
 * and case, its host (an sshd of the bench's own on 127.0.0.1) still up:
 *  - this project: its unplanned failover workflow on a runbook with only MySQL (test/helpers/scratch-cluster.ts),
 *    served by its worker as a process, started by the bench at the kill: detection (`probes.fall` rounds
 *    `probes.interval` = 1 s apart), then catch-up, binlog salvage over SSH, promotion, repointing;
 *  - MHA 0.58's `masterha_manager`, `ping_interval=1`, already monitoring when the primary dies: it detects, saves
 *    the dead master's binlog over SSH and fails over by itself.
 * Two cases: the replicas caught up (figure: kill → first acknowledged write on the new primary), and the replicas
 * 1 s behind (both IO threads stopped 1 s before the kill; figure: acknowledged writes missing on the new primary).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFailover } from '../client/failover';
import { sleep } from '../dev/stack/daemon';
import { sshUser } from '../dev/stack/services/sshd';
import { ensureDebianPackages, STACK_PACKAGES } from '../dev/tools/debian-packages';
import type { WriteLoad } from '../dev/write-load';
import { withEnv } from '../test/helpers/env';
import { keepDownCommand } from '../test/helpers/mariadb-keep-down';
import { startScratchPair, type ScratchPair } from '../test/helpers/scratch-cluster';
import { startWorkerProcess } from '../test/helpers/worker-process';
import { MHA_PERL_ENV, writeMhaConfig } from '../dev/mha/config';
import { startMhaSsh as startSsh, type MhaSsh as Ssh } from '../test/helpers/mha-ssh';
import type { FailoverReport } from '../workflows';
import { fenceWatchWorkflowId, pairMoveWorkflowId } from '../workflows/definitions';
import { drillMove, drillSteps } from '../workflows/checks/drill-figures';
import type { ContenderTimeline, Sample, Scenario } from './scenario';
import type { BenchTemporal } from './temporal';
import { approvingEachQuestion } from './unplanned-failover';
import { WRITES_PER_SECOND } from './writer';

const PRIMARY = 'db-gra-1';
const REPLICAS = ['db-rbx-1', 'db-rbx-2'];
/** The probe interval of both contenders: MHA's `ping_interval`, the runbook's `probes.interval`. */
const PROBE_INTERVAL_S = 1;
/** The runbook's default number of detection rounds (config/schema.ts). */
const FALL = 3;
const BEHIND_MS = 1_000;

/** A fresh trio whose runbook probes every second and may salvage db-gra-1's binlog over the bench's sshd. */
function trio(ssh: Ssh): Promise<ScratchPair> {
  return startScratchPair({
    maxLagSeconds: 60,
    extraConfig: ['relay_log_purge=0'],
    servers: (cluster) => ({
      [PRIMARY]: {
        ssh: {
          host: '127.0.0.1',
          port: ssh.port,
          user: sshUser(),
          privateKey: `file:${ssh.paths.clientKey}`,
          hostKey: `file:${ssh.paths.hostKeyPub}`,
        },
        salvage: {
          binlogIndex: path.join(cluster.dirs(PRIMARY).data, 'mariadb-bin.index'),
          keepDown: keepDownCommand(cluster, PRIMARY),
        },
      },
    }),
    runbook: {
      probes: { interval: `${PROBE_INTERVAL_S}s`, timeout: `${PROBE_INTERVAL_S}s`, fall: FALL, rise: 1 },
      timeouts: { replicaCatchUp: '30s', salvage: '90s', heartbeat: '3s', activity: '20s' },
    },
  });
}

/** What a contender's failover tells of itself: where its time went after the kill, and its steps for the chart. */
interface FailoverTold {
  breakdown: string;
  timeline?: ContenderTimeline;
}

/** A contender armed on a trio: ready before the kill, then `failover` runs (or waits for) its failover. */
interface Armed {
  failover(killedAt: number): Promise<FailoverTold>;
  stop(): Promise<void>;
}

const since = (killedAt: number, iso: string | undefined) =>
  iso === undefined ? '?' : `+${Date.parse(iso) - killedAt}`;

/** Each step's start and end after the kill, and the human answers the run waited for. */
function projectBreakdown(report: FailoverReport, killedAt: number): string {
  const steps = report.steps
    .filter((st) => st.startedAt)
    .map((st) => `${st.id} ${since(killedAt, st.startedAt)}..${since(killedAt, st.endedAt)}`);
  const asked = report.approvals.filter((a) => a.how === 'approver').length;
  return `run ${since(killedAt, report.startedAt)}..${since(killedAt, report.finishedAt)} ms; ${steps.join(', ')}; ${asked} question(s) answered by the bench`;
}

/** This project: its worker serves the trio's runbook; the unplanned failover is started at the kill. */
async function armProject(temporal: BenchTemporal, pair: ScratchPair, dir: string): Promise<Armed> {
  const taskQueue = `bench-kill-${randomUUID().slice(0, 8)}`;
  const worker = await startWorkerProcess({
    runbookPath: pair.runbookFile,
    taskQueue,
    runDir: dir,
    workflowBundle: temporal.bundle,
  });
  return {
    async failover(killedAt) {
      const handle = await startFailover(
        temporal.client,
        { pair: pair.pair, mode: 'unplanned', trigger: 'test', reason: 'bench', requestedBy: 'oncall' },
        { taskQueue },
      );
      const report = await Promise.race([
        approvingEachQuestion(handle),
        sleep(180_000).then(() => {
          throw new Error('the unplanned failover did not end within 180 s');
        }),
      ]);
      if (report.outcome !== 'completed')
        throw new Error(`the unplanned failover ended ${report.outcome}: ${report.sentence}`);
      const move = drillMove('failover', report);
      return {
        breakdown: projectBreakdown(report, killedAt),
        timeline: {
          contender: 'orchestrator, MySQL primary killed',
          steps: drillSteps('failover', report.steps),
          ...(move.fenceWindow ? { fenceWindow: move.fenceWindow } : {}),
        },
      };
    },
    async stop() {
      // The run, should it still wait, and the watcher that would fence db-gra-1 once it answers: nothing outlives the trio.
      for (const id of [pairMoveWorkflowId(pair.pair), fenceWatchWorkflowId(pair.pair)])
        await temporal.client.workflow
          .getHandle(id)
          .terminate('bench: the scratch trio is deleted')
          .catch(() => undefined);
      await worker.stop();
    },
  };
}

/** MHA: `masterha_manager` monitoring the trio (it exits after one failover). */
async function armMha(pair: ScratchPair, dir: string, ssh: Ssh): Promise<Armed> {
  const conf = writeMhaConfig(
    pair.cluster,
    dir,
    [PRIMARY, ...REPLICAS],
    [`ssh_user=${sshUser()}`, `ssh_port=${ssh.port}`, `ssh_options=-F ${ssh.clientConfig}`],
  );
  const log = path.join(dir, 'mha', 'manager.log');
  const manager = spawn('masterha_manager', [`--conf=${conf}`, '--ignore_last_failover'], {
    env: { ...process.env, ...MHA_PERL_ENV },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => manager.once('exit', (code) => resolve(code)));
  const tail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-3000) : '(no manager log)');
  await monitoring(manager, log, tail);
  return {
    async failover(killedAt) {
      const code = await Promise.race([exited, sleep(180_000).then(() => 'timeout' as const)]);
      if (code !== 0 || !/Master failover to .* completed successfully/.test(tail()))
        throw new Error(`masterha_manager ended ${code}:\n${tail()}`);
      return { breakdown: mhaBreakdown(readFileSync(log, 'utf8'), killedAt) };
    },
    async stop() {
      if (manager.exitCode === null && manager.signalCode === null) manager.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * When MHA's manager logged its failed pings and each phase of its failover, in seconds after the kill (its log
 * stamps whole seconds, so each figure is ±1 s).
 */
function mhaBreakdown(log: string, killedAt: number): string {
  const marks: string[] = [];
  for (const m of log.matchAll(/^(\w{3} \w{3} +\d+ [\d:]+ \d{4}) - \[\w+\] (.*)$/gm)) {
    const at = Date.parse(m[1]!);
    const what = m[2]!;
    if (at < Math.floor(killedAt / 1000) * 1000) continue;
    const mark =
      /^\* (Phase [\d.]+: [^.]+)|^(Connection failed \d+ time|Setting read_only=0|Master failover to)/.exec(
        what,
      );
    if (mark) marks.push(`${mark[1] ?? mark[2]} +${Math.round((at - killedAt) / 1000)} s`);
  }
  return marks.join(', ') || '(no phase in its log)';
}

/** Waits until MHA's manager pings the primary (its start-up checks passed), or fails with its log. */
async function monitoring(manager: ChildProcess, log: string, tail: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(existsSync(log) && /Ping\(\w+\) succeeded, waiting until MySQL/.test(readFileSync(log, 'utf8')))) {
    if (manager.exitCode !== null) throw new Error(`masterha_manager exited ${manager.exitCode}:\n${tail()}`);
    if (Date.now() > deadline) throw new Error(`masterha_manager did not start monitoring:\n${tail()}`);
    await sleep(100);
  }
}

/** Each replica of the trio that is not running, with the end of its error log (to tell a failure's cause). */
function downServers(pair: ScratchPair): string {
  return REPLICAS.filter((name) => pair.cluster.pid(name) === undefined)
    .map((name) => {
      const log = pair.cluster.dirs(name).errorLog;
      const end = existsSync(log)
        ? readFileSync(log, 'utf8').split('\n').slice(-8).join('\n')
        : '(no error log)';
      return `\n${name} is not running; its error log ends:\n${end}`;
    })
    .join('');
}

/** The first write acknowledged after `since` (by the new primary: the old one is dead). */
const firstAcknowledged = (load: WriteLoad, since: number) =>
  load.records.find((r) => r.outcome === 'acknowledged' && r.at >= since && r.server !== PRIMARY);

interface KillResult extends FailoverTold {
  killToWriteMs: number;
  lost: number;
  /** Writes acknowledged after the replicas' IO threads were stopped (0 when caught up). */
  behindWrites: number;
  promoted: string;
}

/** One contender, one case, on a fresh trio: arm, write, (cut the replicas), SIGKILL the primary, fail over. */
async function killOnce(
  arm: (pair: ScratchPair, dir: string) => Promise<Armed>,
  ssh: Ssh,
  behind: boolean,
): Promise<KillResult> {
  const pair = await trio(ssh);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dr-bench-kill-'));
  let armed: Armed | undefined;
  try {
    const load = pair.writeLoad(WRITES_PER_SECOND);
    await load.prepare();
    load.start();
    armed = await arm(pair, dir);
    await load.waitForAcknowledged(100, 15_000);
    const atCut = load.acknowledgedCount();
    if (behind) {
      // db-rbx-1 first: db-rbx-2, a little ahead, lacks nothing db-rbx-1 has.
      for (const name of REPLICAS) await pair.cluster.sql(name, 'STOP SLAVE IO_THREAD');
      await sleep(BEHIND_MS);
    }
    await pair.cluster.kill(PRIMARY, 'SIGKILL');
    const killedAt = Date.now();
    const behindWrites = behind ? load.acknowledgedCount() - atCut : 0;
    const told = await armed.failover(killedAt);
    await load.waitForAcknowledged(50, 30_000);
    await load.stop();
    const first = firstAcknowledged(load, killedAt);
    if (!first) throw new Error('no write was acknowledged after the kill');
    const lost = (await load.verify(first.server!)).lost.length;
    return { killToWriteMs: first.at - killedAt, lost, behindWrites, promoted: first.server!, ...told };
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}${downServers(pair)}`, {
      cause: err,
    });
  } finally {
    await armed?.stop().catch(() => undefined);
    await pair.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const CASES = [
  { name: 'caught up', behind: false, toWrite: 'kill_to_write_ms', lost: 'kill_lost_writes' },
  {
    name: `${BEHIND_MS} ms behind`,
    behind: true,
    toWrite: 'kill_behind_to_write_ms',
    lost: 'kill_behind_lost_writes',
  },
];

/**
 * Lost writes are a failure when this project lost more than MHA in the same case and run; a loss no larger than
 * MHA's is a note (the JSON says it, the bench does not fail).
 */
export function judgeKillLosses(figures: Record<string, number>): { failures: string[]; notes: string[] } {
  const failures: string[] = [];
  const notes: string[] = [];
  for (const c of CASES) {
    const ours = figures[`mysql_${c.lost}`];
    const mha = figures[`mha_${c.lost}`];
    if (ours === undefined || mha === undefined) continue;
    const told = `replicas ${c.name}: this project lost ${ours} acknowledged write(s), MHA ${mha}`;
    if (ours > mha) failures.push(told);
    else if (ours > 0 || mha > 0) notes.push(`${told}: not more than MHA, so not a failure`);
  }
  return { failures, notes };
}

export function mysqlKillScenario(temporal: BenchTemporal): Scenario {
  let dir: string | undefined;
  let ssh: Ssh | undefined;
  return {
    name: 'mysql-kill',
    description: `MySQL primary SIGKILLed on a scratch MariaDB trio at ${WRITES_PER_SECOND} writes/s, replicas caught up and ${BEHIND_MS} ms behind: this project's unplanned failover (MySQL only, probes ${FALL} × ${PROBE_INTERVAL_S} s) vs MHA 0.58's masterha_manager (ping_interval=${PROBE_INTERVAL_S})`,
    async setup(ctx) {
      ensureDebianPackages(
        STACK_PACKAGES.filter((t) => t.pkg.startsWith('mha4mysql-')),
        ctx.log,
      );
      await temporal.setup(ctx.log);
      dir = mkdtempSync(path.join(os.tmpdir(), 'dr-bench-kill-ssh-'));
      mkdirSync(dir, { recursive: true });
      ssh = await startSsh(dir);
    },
    async run(ctx): Promise<Sample> {
      const figures: Record<string, number> = {};
      const failures: string[] = [];
      const timelines: ContenderTimeline[] = [];
      const contenders = [
        { prefix: 'mysql', arm: (p: ScratchPair, d: string) => armProject(temporal, p, d) },
        { prefix: 'mha', arm: (p: ScratchPair, d: string) => armMha(p, d, ssh!) },
      ];
      // The smoke (CI) runs the caught-up case only: the other is the same code with the replicas cut first.
      for (const c of ctx.smoke ? CASES.filter((k) => !k.behind) : CASES)
        for (let i = 0; i < contenders.length; i++) {
          const contender = contenders[(ctx.run + i) % contenders.length]!;
          try {
            const r = await killOnce(contender.arm, ssh!, c.behind);
            figures[`${contender.prefix}_${c.toWrite}`] = r.killToWriteMs;
            figures[`${contender.prefix}_${c.lost}`] = r.lost;
            if (c.behind) figures[`${contender.prefix}_kill_behind_writes`] = r.behindWrites;
            ctx.log(
              `${contender.prefix}, replicas ${c.name}: kill → first write on ${r.promoted} ${r.killToWriteMs} ms, lost ${r.lost}${c.behind ? ` of ${r.behindWrites} written after the replicas' cut` : ''}; ${r.breakdown}`,
            );
            if (r.timeline)
              timelines.push({ ...r.timeline, contender: `${r.timeline.contender}, replicas ${c.name}` });
          } catch (err) {
            failures.push(
              `${contender.prefix}, replicas ${c.name}: ${err instanceof Error ? err.message : String(err)}`,
            );
          }
        }
      const judged = judgeKillLosses(figures);
      return { figures, failures: [...failures, ...judged.failures], notes: judged.notes, timelines };
    },
    async teardown() {
      if (ssh) await withEnv(ssh.env, () => ssh!.service.down());
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
