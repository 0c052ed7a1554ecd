import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { movesTimeline } from '../../common/drill-report';
import { renderTimelineSvg } from '../../common/drill-timeline';
import { connectClient, temporalUiUrl } from '../../common/temporal-connection';
import { DEFAULT_LOCAL_RUNBOOK, loadRunbooks } from '../../config/load';
import { drillMove, drillSteps, promotedServer } from '../../workflows/checks/drill-figures';
import type { FailoverReport } from '../../workflows/failover/report';
import { APP_DATABASE, MARIADB_ACCOUNTS } from '../stack/services/mariadb';
import { stackDir, stackPort } from '../stack/settings';
import { FrontendWriteLoad } from '../write-load';
import { followMove, moveStartedAfter, PAIR } from './moves';
import { breakPrimarySite, reviveElasticsearch, siteThroughFrontend } from './site';

/**
 * `npm run demo [-- --auto-approve]`, after dev/demo.sh brought the stack up: the story the orchestrator exists for,
 * on the local stack. A readiness drill; then gra, the primary site, is broken while a writer writes through HAProxy;
 * Prometheus sees it, Alertmanager sends the alert to the receiver, which starts the unplanned failover; the failover
 * waits for approval (answered by the demo with --auto-approve, else by you with the printed command); traffic ends
 * on rbx and the writer counts what was lost; gra comes back, and the failback returns the pair to gra. It prints the
 * reports, the timeline picture and the Temporal UI links, and leaves the stack running.
 */
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DRCTL = path.join(REPO_ROOT, 'bin', 'drctl');
const unattended = process.argv.includes('--auto-approve');
const started = Date.now();

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s`;
const title = (text: string) => console.log(`\n== ${text} (at ${elapsed()})`);

/** Runs drctl with its output shown; its exit status is returned. */
function drctl(...args: string[]): number {
  return spawnSync(DRCTL, args, { stdio: 'inherit', cwd: REPO_ROOT }).status ?? 1;
}

function fail(sentence: string): never {
  console.error(`\ndemo: ${sentence}`);
  console.error(
    'The stack is left as it is for you to look at; `bin/drctl stack reset` returns it to the initial topology.',
  );
  process.exit(1);
}

function writer(): FrontendWriteLoad {
  const { runbook } = loadRunbooks([DEFAULT_LOCAL_RUNBOOK]).get(PAIR)!;
  const { app } = MARIADB_ACCOUNTS;
  return new FrontendWriteLoad({
    frontendUrl: `http://127.0.0.1:${stackPort('HAPROXY')}`,
    servers: runbook.mysql.servers.map(({ name, host, port }) => ({ name, host, port })),
    user: app.user,
    password: readFileSync(path.join(stackDir(), 'secrets', app.secretFile), 'utf8').trim(),
    database: APP_DATABASE,
    ratePerSecond: 50,
  });
}

/** Waits until the writer has `count` more writes acknowledged (by the new primary site, after a move). */
async function writesTaken(load: FrontendWriteLoad, count: number, timeoutMs: number): Promise<void> {
  const goal = load.acknowledgedCount() + count;
  const deadline = Date.now() + timeoutMs;
  while (load.acknowledgedCount() < goal) {
    if (Date.now() > deadline)
      fail(`the writer's writes were not acknowledged within ${timeoutMs / 1000} s.`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const { connection, namespace, address } = await connectClient();
  const client = new Client({ connection, namespace });
  const uiUrl = temporalUiUrl({ address }) ?? `the Temporal UI (set TEMPORAL_UI_URL for links)`;
  const ui = (id: string) => `${uiUrl}/namespaces/${namespace}/workflows/${id}`;
  try {
    title('1. A readiness drill of the local pair: every check, each system reachable with its credentials');
    if (drctl('drill', PAIR, '--mode', 'readiness', '--wait') !== 0)
      fail('the pair is not ready, so the demo does not break it (see the drill report above).');

    title('2. A writer posts numbered orders through HAProxy (50/s); then the primary site gra is broken');
    const load = writer();
    load.start();
    await sleep(3_000);
    const brokenAt = new Date();
    for (const what of await breakPrimarySite()) console.log(`  ${what}`);

    title(
      '3. Prometheus sees gra down, Alertmanager sends DrPrimarySiteDown to the receiver, which starts the failover',
    );
    const failover = await moveStartedAfter(client, brokenAt, 120_000);
    console.log(`  failover run ${failover.workflowId} started ${elapsed()} in: ${ui(failover.workflowId)}`);
    const failoverReport = await followMove(failover, unattended);
    console.log(`  => ${failoverReport.outcome}: ${failoverReport.sentence}`);
    if (failoverReport.outcome !== 'completed') fail(`the failover ended ${failoverReport.outcome}.`);
    const promoted = promotedServer(failoverReport);
    const site = await siteThroughFrontend();
    console.log(`  HAProxy's frontend now answers from ${site}; ${promoted} is the primary.`);
    await writesTaken(load, 50, 30_000);
    const afterFailover = await load.verify(promoted!);
    console.log(
      `  the writer: ${afterFailover.acknowledged} writes acknowledged so far, ${afterFailover.lost.length} of them missing on ${promoted}` +
        (afterFailover.lost.length > 0
          ? ' (acknowledged by gra after its last binlog event reached rbx)'
          : ''),
    );

    title(
      '4. gra comes back: its Elasticsearch answers, drctl stack up restarts db-gra-1 (read-only) and its app',
    );
    await reviveElasticsearch();
    if (drctl('stack', 'up') !== 0) fail('the stack did not come back up.');

    title('5. The failback: gra replicates from rbx again, catches up, and the pair switches back');
    const failbackStart = new Date();
    if (drctl('failback', PAIR, '--reason', 'npm run demo: gra is back', '--yes') !== 0)
      fail('drctl failback did not start the failback.');
    const failback = await moveStartedAfter(client, failbackStart, 30_000);
    console.log(`  failback run ${failback.workflowId}: ${ui(failback.workflowId)}`);
    const failbackReport = await followMove(failback, unattended);
    console.log(`  => ${failbackReport.outcome}: ${failbackReport.sentence}`);
    if (failbackReport.outcome !== 'completed') fail(`the failback ended ${failbackReport.outcome}.`);
    const summary = await load.stop();
    const final = await load.verify('db-gra-1');

    title('6. Reports');
    const files = writeReports(failoverReport, failbackReport);
    printFigures(failoverReport, failbackReport, summary.acknowledged, final.lost.length);
    console.log(`  reports: ${files.json}\n  timeline picture: ${files.svg}`);
    console.log(`  readiness drill reports: ${path.join(stackDir(), 'drill-reports')}`);
    console.log(
      `  notifications sent to the stack's webhook receiver: http://127.0.0.1:${stackPort('WEBHOOK_RECEIVER')}/messages`,
    );
    console.log(
      `  Temporal UI: ${ui(failover.workflowId)} (failover, then failback: the same workflow ID, two runs)`,
    );
    console.log(
      `\nThe stack is still running (bin/drctl status ${PAIR}); stop it with: bin/drctl stack down`,
    );
  } finally {
    await connection.close();
  }
}

function printFigures(
  failover: FailoverReport,
  failback: FailoverReport,
  acknowledged: number,
  lost: number,
): void {
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
  console.log(
    `  failover: RTO ${s(failover.rto.fromStartMs)} from its start (${s(failover.rto.fromApprovalMs)} from its approval)`,
  );
  for (const loss of failover.dataLoss) console.log(`    data loss (${loss.system}): ${loss.sentence}`);
  console.log(
    `  failback: RTO ${s(failback.rto.fromStartMs)} (${s(failback.rto.fromApprovalMs)} from its approval)`,
  );
  console.log(
    `  the writer: ${acknowledged} writes acknowledged over both moves, ${lost} missing on db-gra-1 at the end`,
  );
}

/** Both reports as JSON and one timeline picture of the two moves (the fence windows and points of no return). */
function writeReports(failover: FailoverReport, failback: FailoverReport): { json: string; svg: string } {
  const dir = path.join(stackDir(), 'demo', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'reports.json');
  writeFileSync(json, JSON.stringify({ failover, failback }, null, 2));
  const timeline = movesTimeline(
    `npm run demo: failover then failback of ${PAIR}`,
    [...drillSteps('failover', failover.steps), ...drillSteps('failback', failback.steps)],
    [drillMove('failover', failover), drillMove('failback', failback)],
  );
  const svg = path.join(dir, 'timeline.svg');
  writeFileSync(svg, renderTimelineSvg(timeline));
  return { json, svg };
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
