import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { RowDataPacket } from 'mysql2/promise';
import { z } from 'zod';
import { drillMarkdown, drillTimeline, type DrillCheck, type DrillReport } from '../../common/drill-report';
import { renderTimelineSvg } from '../../common/drill-timeline';
import { redact } from '../../common/redact';
import { durationMs } from '../../config/duration';
import { runbookSecrets } from '../../config/secrets';
import { activityInput, pairOnlyInput } from '../activity-input';
import { sshTargetOf } from '../apps';
import type { SshClient } from '../apps/ssh';
import type { EsClients } from '../elasticsearch/clients';
import { typedFailure } from '../failure';
import { httpProbe } from '../http-probe';
import type { MysqlConnections } from '../mysql/connections';
import type { RunbookRegistry } from '../runbooks';
import type { TrafficProviders } from '../traffic/providers';
import { runDrillWriter, type WriterResult } from './writer';

export type { WriterResult } from './writer';

export interface DrillActivityDeps {
  runbooks: RunbookRegistry;
  mysql: MysqlConnections;
  es: EsClients;
  traffic: TrafficProviders;
  ssh: SshClient;
}

export interface DrillReportFiles {
  /** Whether the files were written (the runbook has a drills.reports folder). */
  written: boolean;
  files?: { json: string; markdown: string; svg: string };
  steps: string[];
  description: string;
}

export interface LostWritesResult {
  server: string;
  acknowledged: number;
  present: number;
  lost: number;
  /** The first 100 lost write numbers. */
  lostIds: number[];
  description: string;
}

const ranges = z.array(z.tuple([z.number().int().min(1), z.number().int().min(1)]));
const writerInput = z
  .object({
    pair: z.string(),
    runId: z.string().regex(/^[A-Za-z0-9._-]{1,120}$/),
    to: z.string(),
    settleWrites: z.number().int().min(1).default(10),
    maxMs: z.number().int().min(1000),
  })
  .strict();
const lostWritesInput = z
  .object({ pair: z.string(), server: z.string(), runId: z.string(), acknowledged: ranges })
  .strict();
const reportInput = z.object({ pair: z.string(), report: z.record(z.string(), z.unknown()) }).strict();

/** At most this long per access probe: a drill reports what does not answer rather than waiting for it. */
const PROBE_TIMEOUT_MS = 5_000;

export function createDrillActivities(deps: DrillActivityDeps) {
  return {
    /**
     * Credentials and API reachability of every system of the pair, read-only: each MySQL server answers a query
     * through the orchestrator's account, each Elasticsearch cluster its health with the runbook's key, the
     * traffic switch its state (for OVH: with the runbook's API credentials), each app host an SSH login and its
     * health URL. One check per endpoint; a failure is a failed check, never an activity failure.
     */
    async drillSystemAccess(input: { pair: string }): Promise<DrillCheck[]> {
      const { pair } = activityInput('drillSystemAccess', pairOnlyInput, input);
      const loaded = deps.runbooks.get(pair);
      const { runbook } = loaded;
      const baseDir = path.dirname(loaded.file);
      const secrets = runbookSecrets(runbook, baseDir);
      const check = async (name: string, probe: () => Promise<string>): Promise<DrillCheck> => {
        try {
          return { name, ok: true, sentence: `${name}: ${await probe()}.` };
        } catch (err) {
          const message = redact(err instanceof Error ? err.message : String(err), secrets).slice(0, 300);
          return { name, ok: false, sentence: `${name}: ${message}.` };
        }
      };
      const checks: Promise<DrillCheck>[] = runbook.mysql.servers.map((server) =>
        check(`access.mysql.${server.name}`, async () => {
          const [rows] = await deps.mysql
            .pool(pair, server.name)
            .query<RowDataPacket[]>({ sql: 'SELECT VERSION() AS version', timeout: PROBE_TIMEOUT_MS });
          return `${runbook.mysql.user} logs in to ${server.name} (${String(rows[0]?.version ?? '?')})`;
        }),
      );
      for (const cluster of runbook.elasticsearch?.clusters ?? [])
        checks.push(
          check(`access.elasticsearch.${cluster.site}`, async () => {
            const health = await deps.es.cluster(pair, cluster.site).health({}, PROBE_TIMEOUT_MS);
            return `cluster ${health.cluster_name} of ${cluster.site} answers, status ${health.status}`;
          }),
        );
      if (runbook.traffic)
        checks.push(
          check(`access.traffic.${runbook.traffic.provider}`, async () => {
            const state = await deps.traffic.get(pair).currentTarget();
            return `the ${runbook.traffic!.provider} switch answers: ${state.description}`;
          }),
        );
      const probeTimeout = Math.min(PROBE_TIMEOUT_MS, durationMs(runbook.probes.timeout));
      for (const host of runbook.apps?.hosts ?? []) {
        checks.push(
          check(`access.apps.${host.name}.ssh`, async () => {
            const run = await deps.ssh.exec(sshTargetOf(host, baseDir), 'true', {
              timeoutMs: PROBE_TIMEOUT_MS * 2,
              describe: 'a login check',
            });
            if (run.exitCode !== 0) throw new Error(`"true" exited with ${run.exitCode}`);
            return `${host.ssh.user}@${host.ssh.host}:${host.ssh.port} logs in with the runbook key and pinned host key`;
          }),
          check(`access.apps.${host.name}.health`, async () => {
            const probe = await httpProbe(host.healthUrl, probeTimeout);
            // A stopped standby app is its normal state: only the primary site's app must answer.
            if (!probe.ok && host.site === runbook.sites.primary.name)
              throw new Error(`the primary site's app is not healthy (${probe.detail})`);
            return probe.ok ? `healthy (${probe.detail})` : `not serving, as a standby may (${probe.detail})`;
          }),
        );
      }
      return Promise.all(checks);
    },

    /**
     * The game-day drill's writer: numbered writes through the pair's entry point (the runbook's drills.gameDay.writer)
     * until `settleWrites` writes in a row were acknowledged by site `to` (the failover moved the writes), or `maxMs`
     * passed. Heartbeats its counts; a cancelled drill stops it. Returns the acknowledged write numbers as ranges.
     */
    async drillWrite(input: z.input<typeof writerInput>): Promise<WriterResult> {
      const { pair, runId, to, settleWrites, maxMs } = activityInput('drillWrite', writerInput, input);
      const writer = deps.runbooks.get(pair).runbook.drills?.gameDay.writer;
      if (!writer)
        throw typedFailure(
          'DrillWriterMissing',
          `pair ${pair} has no drills.gameDay.writer in its runbook: a game-day drill needs one to measure lost writes`,
          true,
        );
      const context = Context.current();
      return runDrillWriter({
        url: writer.url,
        ratePerSecond: writer.rate,
        runId,
        stopWhen: { site: to, inARow: settleWrites },
        maxMs,
        signal: context.cancellationSignal,
        heartbeat: (progress) => context.heartbeat(progress),
      });
    },

    /** Reads which of the writer's acknowledged writes `server` holds; the missing ones are the lost writes. */
    async drillLostWrites(input: z.input<typeof lostWritesInput>): Promise<LostWritesResult> {
      const { pair, server, runId, acknowledged } = activityInput('drillLostWrites', lostWritesInput, input);
      const writer = deps.runbooks.get(pair).runbook.drills?.gameDay.writer;
      if (!writer)
        throw typedFailure(
          'DrillWriterMissing',
          `pair ${pair} has no drills.gameDay.writer in its runbook`,
          true,
        );
      const [rows] = await deps.mysql.pool(pair, server).query<RowDataPacket[]>({
        sql: `SELECT \`${writer.refColumn}\` AS ref FROM \`${writer.database}\`.\`${writer.table}\` WHERE \`${writer.refColumn}\` LIKE ?`,
        values: [`${runId}:%`],
        timeout: 30_000,
      });
      const present = new Set(rows.map((r) => Number(String(r.ref).slice(runId.length + 1))));
      const lost: number[] = [];
      let count = 0;
      for (const [from, to] of acknowledged)
        for (let id = from; id <= to; id++) {
          count++;
          if (!present.has(id)) lost.push(id);
        }
      return {
        server,
        acknowledged: count,
        present: present.size,
        lost: lost.length,
        lostIds: lost.slice(0, 100),
        description:
          lost.length === 0
            ? `all ${count} acknowledged writes are on ${server}.`
            : `${lost.length} of ${count} acknowledged writes are missing on ${server} (first: ${lost.slice(0, 5).join(', ')}).`,
      };
    },

    /**
     * Writes the drill's report to the runbook's drills.reports folder: <workflow ID>.json, .md and .svg (the
     * timeline), each written to a temporary file and renamed, so a retry rewrites them whole.
     */
    async drillWriteReport(input: { pair: string; report: DrillReport }): Promise<DrillReportFiles> {
      const { pair } = activityInput('drillWriteReport', reportInput, input);
      const report = input.report;
      const loaded = deps.runbooks.get(pair);
      const folder = loaded.runbook.drills?.reports;
      if (!folder)
        return {
          written: false,
          steps: [],
          description: `no report files: the runbook of ${pair} has no drills.reports folder.`,
        };
      const dir = path.resolve(path.dirname(loaded.file), folder);
      const base = path.join(dir, report.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'));
      const files = { json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` };
      try {
        mkdirSync(dir, { recursive: true });
        const withFiles = { ...report, files };
        writeAtomically(files.svg, renderTimelineSvg(drillTimeline(withFiles)));
        writeAtomically(files.markdown, drillMarkdown(withFiles, path.basename(files.svg)));
        writeAtomically(files.json, `${JSON.stringify(withFiles, null, 2)}\n`);
      } catch (err) {
        throw typedFailure(
          'DrillReportUnwritable',
          `cannot write the drill report to ${dir} (drills.reports of ${pair}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
          false,
        );
      }
      return {
        written: true,
        files,
        steps: [`wrote ${files.json}`, `wrote ${files.markdown}`, `wrote ${files.svg}`],
        description: `wrote the drill report to ${files.markdown} (with ${path.basename(files.json)} and the timeline ${path.basename(files.svg)}).`,
      };
    },
  };
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, file);
}
