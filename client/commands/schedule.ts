import type { Command } from 'commander';
import type { DrillMode } from '../../common/drill-report';
import type { ScheduleAction } from '../schedules';
import { askedBy, drillMode, emit, pairName, withTemporal } from './context';

interface CreateOptions {
  mode: DrillMode;
  cron?: string;
  every?: string;
  name?: string;
  paused?: boolean;
}

/**
 * `drctl schedule create|list|pause|unpause|trigger|delete`: drill schedules on Temporal Schedules (overlap SKIP),
 * made from the command line or from the runbook's drills.schedules.
 */
export function register(program: Command): void {
  const schedule = program
    .command('schedule')
    .description(
      'Drill schedules (Temporal Schedules, overlap SKIP): create, list, pause, unpause, trigger, delete',
    );

  schedule
    .command('create')
    .description(
      "Create a drill schedule of a pair from --cron or --every; without them, create (or update) the runbook's drills.schedules",
    )
    .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
    .option('--mode <mode>', 'readiness or game-day', drillMode, 'readiness' as DrillMode)
    .option('--cron <line>', 'a cron line, UTC, e.g. "0 6 * * 1" (Mondays 06:00)')
    .option('--every <interval>', 'an interval, e.g. 30m, 12h, 7d')
    .option(
      '--name <name>',
      "names the schedule among the pair's (default: the mode); its ID is drill-<pair>-<name>",
    )
    .option('--paused', 'create it paused')
    .action(async (pair: string, options: CreateOptions, command: Command) => {
      const { checkScheduleSpec, createDrillSchedule, runbookSchedules } = await import('../schedules.js');
      const fromRunbook = options.cron === undefined && options.every === undefined;
      const specsOf = async (taskQueue: string) => {
        if (!fromRunbook)
          return [
            {
              pair,
              mode: options.mode,
              cron: options.cron,
              every: options.every,
              name: options.name,
              paused: options.paused,
              taskQueue,
              createdBy: askedBy(),
            },
          ];
        const { loadRunbooks, runbookFilesFromEnv } = await import('../../config/load.js');
        const loaded = loadRunbooks(runbookFilesFromEnv()).get(pair);
        if (!loaded)
          throw new Error(
            `no runbook of pair ${pair} (DR_RUNBOOKS names the runbook files): give --cron or --every`,
          );
        const specs = runbookSchedules(loaded, taskQueue);
        if (specs.length === 0)
          throw new Error(`the runbook ${loaded.file} declares no drills.schedules: give --cron or --every`);
        return specs;
      };
      if (!fromRunbook)
        checkScheduleSpec({
          pair,
          mode: options.mode,
          cron: options.cron,
          every: options.every,
          name: options.name,
          createdBy: '',
        });
      const results = await withTemporal(command, async ({ client, taskQueue }) => {
        const made = [];
        for (const spec of await specsOf(taskQueue))
          made.push(await createDrillSchedule(client, spec, fromRunbook));
        return made;
      });
      emit(command, results, (r) =>
        r.map((s) => `${s.created ? 'created' : 'updated'} ${s.scheduleId}`).join('\n'),
      );
    });

  schedule
    .command('list')
    .description('List the drill schedules (of one pair, or all) with their next and recent runs')
    .argument('[pair]', 'DR pair name', pairName)
    .action(async (pair: string | undefined, _options: unknown, command: Command) => {
      const { listDrillSchedules } = await import('../schedules.js');
      const views = await withTemporal(command, ({ client }) => listDrillSchedules(client, pair));
      emit(command, views, (list) =>
        list.length === 0
          ? `no drill schedule${pair ? ` of ${pair}` : ''}.`
          : list
              .map((v) =>
                [
                  `${v.scheduleId}${v.paused ? ' (paused)' : ''}: ${v.spec}; next ${v.nextRuns[0] ?? '-'}`,
                  ...(v.note ? [`  ${v.note}`] : []),
                  ...v.recent.map((r) => `  ran ${r.at}: ${r.workflowId}`),
                ].join('\n'),
              )
              .join('\n'),
      );
    });

  const actions: [ScheduleAction, string][] = [
    ['pause', 'Pause a drill schedule (it starts nothing until unpaused)'],
    ['unpause', 'Unpause a drill schedule'],
    ['trigger', 'Start the drill of a schedule now (skipped if one of its drills is still running)'],
    ['delete', 'Delete a drill schedule (its past drills stay listed)'],
  ];
  for (const [action, description] of actions)
    schedule
      .command(action)
      .description(description)
      .argument('<schedule-id>', 'the schedule ID, as drctl schedule list shows it (drill-<pair>-<name>)')
      .action(async (scheduleId: string, _options: unknown, command: Command) => {
        const { actOnSchedule } = await import('../schedules.js');
        const sentence = await withTemporal(command, ({ client }) =>
          actOnSchedule(client, scheduleId, action, askedBy()),
        );
        emit(command, { scheduleId, action, sentence }, (r) => r.sentence);
      });
}
