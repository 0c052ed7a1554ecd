import type { Command } from 'commander';
import { loadRunbooks, runbookFilesFromEnv } from '../../config/load';
import { emit, globalsOf } from './context';

/** `drctl doctor`: Temporal, the workers of the task queue, and every endpoint of the runbooks, read-only. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check Temporal (reachable, namespace, search attributes, a worker on the task queue) and every endpoint of the runbooks',
    )
    .action(async (_options: unknown, command: Command) => {
      const [{ connectClient, temporalSettings }, { runDoctor, DOCTOR_LABELS }, { TASK_QUEUE }] =
        await Promise.all([
          import('../../common/temporal-connection.js'),
          import('../doctor.js'),
          import('../../workflows/definitions.js'),
        ]);
      const globals = globalsOf(command);
      const { address, namespace } = temporalSettings(globals);
      const results = await runDoctor(
        {
          address,
          namespace,
          taskQueue: globals.taskQueue ?? TASK_QUEUE,
          connect: async () => (await connectClient(globals)).connection,
        },
        loadRunbooks(runbookFilesFromEnv()),
      );
      emit(command, results, (all) =>
        all.map((r) => `${DOCTOR_LABELS[r.status]} ${r.name}: ${r.detail}`).join('\n'),
      );
      process.exitCode = results.some((r) => r.status === 'fail') ? 1 : 0;
    });
}
