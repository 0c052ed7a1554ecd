import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { MysqlServerStatus } from '../../common/mysql-status';
import { loadRunbooks, runbookFilesFromEnv } from '../../config/load';
import type { RunStatus } from '../../workflows/definitions';
import type { ReadinessReport } from '../../workflows/readiness';
import { emit, globalsOf, pairName, uiLine, withTemporal, type TemporalSession } from './context';

/**
 * `drctl status <pair>`: the pair's topology, read by a readiness check run on the task queue (MySQL primary and
 * replicas with their lag, Elasticsearch followers with theirs, the traffic target), its apps' health probes, and
 * its move: the running one's phase, steps and open questions, else how the last one ended.
 */
export function register(program: Command): void {
  program
    .command('status')
    .description(
      'Show a pair: primary, replicas and lag, ES followers and lag, traffic target, apps, and its running move',
    )
    .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
    .action(async (pair: string, _options: unknown, command: Command) => {
      const view = await withTemporal(command, async (session) => {
        const [topology, move, apps] = await Promise.all([
          readTopology(session, pair),
          readMove(session.client, pair),
          probeApps(pair),
        ]);
        return { pair, topology, apps, move };
      });
      const { address, namespace } = globalsOf(command);
      const { formatStatus } = await import('../run-view.js');
      emit(command, view, (v) =>
        [
          `Pair ${v.pair}`,
          ...topologyLines(v.topology),
          ...appLines(v.apps),
          ...moveLines(v.move, (s) => formatStatus(pair, s, { address, namespace })),
        ].join('\n'),
      );
      process.exitCode = view.topology.unreadable ? 1 : 0;
    });
}

interface Topology {
  readiness?: Pick<ReadinessReport, 'ready' | 'verdict' | 'checks' | 'workflowId'>;
  primary?: string;
  primarySite?: string;
  mysql?: MysqlServerStatus[];
  elasticsearch?: ReadinessReport['elasticsearch'];
  traffic?: ReadinessReport['traffic'];
  link?: string;
  /** Why the topology could not be read. */
  unreadable?: string;
}

async function readTopology(session: TemporalSession, pair: string): Promise<Topology> {
  const [{ startReadinessCheck }, { moveEnd }] = await Promise.all([
    import('../readiness.js'),
    import('../move-watch.js'),
  ]);
  const idle = await session.idleTaskQueue();
  if (idle) return { unreadable: `not read: ${idle}` };
  const handle = await startReadinessCheck(session.client, pair, 'cli', session.taskQueue);
  const link = session.uiLink(handle.workflowId);
  const end = await moveEnd<ReadinessReport>(handle);
  if (end.ended === 'failed')
    return {
      link,
      unreadable: `the readiness check ${end.status}: ${end.failure.type}: ${end.failure.message}`,
    };
  const { report } = end;
  const primaries = report.mysql.filter((s) => s.reachable && s.readOnly === false && !s.replication);
  return {
    readiness: {
      ready: report.ready,
      verdict: report.verdict,
      checks: report.checks,
      workflowId: report.workflowId,
    },
    ...(primaries.length === 1 ? { primary: primaries[0]!.server, primarySite: primaries[0]!.site } : {}),
    mysql: report.mysql,
    ...(report.elasticsearch ? { elasticsearch: report.elasticsearch } : {}),
    ...(report.traffic ? { traffic: report.traffic } : {}),
    link,
  };
}

type MoveView =
  | { state: 'none' }
  | {
      state: 'running';
      workflowId: string;
      runId: string;
      type: string;
      status?: RunStatus;
      unanswered?: string;
    }
  | { state: 'closed'; workflowId: string; runId: string; type: string; status: string; closedAt?: string };

async function readMove(client: Client, pair: string): Promise<MoveView> {
  const [{ WorkflowNotFoundError }, { pairMoveWorkflowId, statusQuery }] = await Promise.all([
    import('@temporalio/client'),
    import('../../workflows/definitions.js'),
  ]);
  const handle = client.workflow.getHandle(pairMoveWorkflowId(pair));
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { state: 'none' };
    throw err;
  }
  const { workflowId, runId, type } = description;
  if (description.status.name !== 'RUNNING')
    return {
      state: 'closed',
      workflowId,
      runId,
      type,
      status: description.status.name.toLowerCase(),
      ...(description.closeTime ? { closedAt: description.closeTime.toISOString() } : {}),
    };
  try {
    const status = await client.workflow.getHandle(workflowId, runId).query(statusQuery);
    return { state: 'running', workflowId, runId, type, status };
  } catch (err) {
    return { state: 'running', workflowId, runId, type, unanswered: (err as Error).message };
  }
}

interface AppProbe {
  host: string;
  site: string;
  url: string;
  ok: boolean;
  detail: string;
}

/** The apps' health probes, when the runbooks drctl reads (DR_RUNBOOKS) have the pair; else undefined. */
async function probeApps(pair: string): Promise<AppProbe[] | undefined> {
  let runbook;
  try {
    runbook = loadRunbooks(runbookFilesFromEnv()).get(pair)?.runbook;
  } catch {
    return undefined;
  }
  if (!runbook) return undefined;
  const [{ httpProbe }, { durationMs }] = await Promise.all([
    import('../../activities/http-probe.js'),
    import('../../config/duration.js'),
  ]);
  const timeout = durationMs(runbook.probes.timeout);
  return Promise.all(
    (runbook.apps?.hosts ?? []).map(async (h) => {
      const probe = await httpProbe(h.healthUrl, timeout);
      return { host: h.name, site: h.site, url: h.healthUrl, ok: probe.ok, detail: probe.detail };
    }),
  );
}

function topologyLines(t: Topology): string[] {
  if (t.unreadable)
    return [`  topology: unreadable: ${t.unreadable}`, ...(t.link ? [`  ${uiLine(t.link)}`] : [])];
  const lines = [
    `  primary: ${t.primary ? `${t.primary} (${t.primarySite})` : 'none found (no single writable server replicating from nothing)'}`,
  ];
  for (const s of t.mysql ?? []) {
    if (!s.reachable) lines.push(`  mysql ${s.server} (${s.site}): unreachable: ${s.error?.message ?? ''}`);
    else if (s.replication)
      lines.push(
        `  mysql ${s.server} (${s.site}): replica of ${s.replication.sourceHost}:${s.replication.sourcePort}, io=${s.replication.ioRunning} sql=${s.replication.sqlRunning}, lag ${s.replication.lagSeconds ?? 'unknown'} s${s.readOnly ? '' : ', WRITABLE'}`,
      );
    else
      lines.push(
        `  mysql ${s.server} (${s.site}): ${s.readOnly ? 'read-only' : 'writable'}, replicates from nothing`,
      );
  }
  const es = t.elasticsearch;
  if (es) {
    lines.push(`  elasticsearch ${es.health.site}: ${es.health.status}`);
    for (const f of es.followers?.indices ?? [])
      lines.push(
        `    follower ${f.index}: ${f.state}${f.lagOperations === undefined ? '' : `, lag ${f.lagOperations} operations`}`,
      );
  }
  if (t.traffic) lines.push(`  traffic: ${t.traffic.description}`);
  if (t.readiness) {
    lines.push(`  readiness: ${t.readiness.verdict}`);
    for (const c of t.readiness.checks.filter((c) => !c.ok)) lines.push(`    [FAIL] ${c.sentence}`);
  }
  return lines;
}

function appLines(apps: AppProbe[] | undefined): string[] {
  if (!apps) return ['  apps: the pair is not in the runbooks drctl reads (DR_RUNBOOKS): not probed'];
  return apps.map((a) => `  app ${a.host} (${a.site}): ${a.ok ? 'healthy' : 'not healthy'} (${a.detail})`);
}

function moveLines(move: MoveView, format: (status: RunStatus) => string[]): string[] {
  if (move.state === 'none') return ['move: none has run'];
  if (move.state === 'closed')
    return [
      `move: none running; the last (${move.type}, run ${move.runId}) is ${move.status}${move.closedAt ? ` since ${move.closedAt}` : ''}: drctl show ${move.workflowId}`,
    ];
  if (!move.status)
    return [
      `move: ${move.type} run ${move.runId} is running but does not answer its status query: ${move.unanswered}`,
    ];
  return [`move: ${move.type} run ${move.runId} is running`, ...format(move.status).map((l) => `  ${l}`)];
}
