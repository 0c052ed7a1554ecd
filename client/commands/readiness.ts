import type { Command } from 'commander';
import type { ReadinessReport } from '../../workflows/readiness';
import { emit, pairName, print, uiLine, withTemporal } from './context';

/** `drctl readiness <pair>`: the non-destructive readiness check of a pair, and its report. */
export function register(program: Command): void {
  program
    .command('readiness')
    .description('Run the non-destructive readiness check of a DR pair and print its report')
    .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
    .option('--no-wait', 'start the workflow and print its ID without waiting')
    .action(async (pair: string, options: { wait: boolean }, command: Command) => {
      const { formatReadinessReport, startReadinessCheck } = await import('../readiness.js');
      await withTemporal(command, async ({ client, taskQueue, uiLink, idleTaskQueue }) => {
        const idle = await idleTaskQueue();
        if (idle && options.wait) throw new Error(`${idle}. Nothing was started.`);
        if (idle) console.error(`drctl: warning: ${idle}`);
        const handle = await startReadinessCheck(client, pair, 'cli', taskQueue);
        const link = uiLink(handle.workflowId);
        if (!options.wait) {
          emit(
            command,
            { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, link },
            (s) => `started ${s.workflowId}\n${uiLine(s.link)}`,
          );
          return;
        }
        const report = (await handle.result()) as ReadinessReport;
        emit(command, report, (r) => formatReadinessReport(r));
        if (!command.optsWithGlobals<{ json?: boolean }>().json) print(`\n${uiLine(link)}`);
        process.exitCode = report.ready ? 0 : 2;
      });
    });
}
