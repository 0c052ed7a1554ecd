import { InvalidArgumentError, type Command } from 'commander';
import type { DrillMode, DrillReport } from '../../common/drill-report';
import { askedBy, drillMode, emit, pairName, withTemporal } from './context';

const limit = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return n;
};

/** Who runs the command, as drills record it. */

/**
 * `drctl drill <pair>`: starts a drill (readiness by default; game-day moves the pair for real and asks --yes);
 * `drctl drill list <pair>`: the pair's past drills with their outcome and figures.
 */
export function register(program: Command): void {
  const drill = program
    .command('drill')
    .description(
      'Run a DR drill of a pair (readiness: non-destructive; game-day: a real failover and failback), or list its drills',
    )
    .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
    .option('--mode <mode>', 'readiness or game-day', drillMode, 'readiness' as DrillMode)
    .option('--wait', 'wait for the drill to end and print its report')
    .option('--yes', 'confirm a game-day drill: it fails the pair over and back for real')
    .action(
      async (pair: string, options: { mode: DrillMode; wait?: boolean; yes?: boolean }, command: Command) => {
        if (options.mode === 'game-day' && !options.yes)
          throw new Error(
            `a game-day drill fails ${pair} over and back for real (writes are fenced for a while): add --yes to confirm`,
          );
        const { formatDrillReport, startDrill } = await import('../drill.js');
        await withTemporal(command, async ({ client, taskQueue }) => {
          const handle = await startDrill(
            client,
            { pair, mode: options.mode, trigger: 'cli', requestedBy: askedBy() },
            taskQueue,
          );
          if (!options.wait) {
            emit(
              command,
              { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
              (s) => `started ${s.workflowId}`,
            );
            return;
          }
          const report = (await handle.result()) as DrillReport;
          emit(command, report, formatDrillReport);
          process.exitCode = report.outcome === 'passed' ? 0 : 2;
        });
      },
    );

  drill
    .command('list')
    .description("List a pair's drills, newest first, with their outcome, RTO, write outage and lost writes")
    .argument('<pair>', 'DR pair name', pairName)
    .option('--limit <n>', 'at most this many drills', limit, 20)
    .action(async (pair: string, options: { limit: number }, command: Command) => {
      const { formatDrillList, listDrills } = await import('../drill.js');
      const drills = await withTemporal(command, ({ client }) => listDrills(client, pair, options.limit));
      emit(command, drills, (d) => formatDrillList(pair, d));
    });
}
