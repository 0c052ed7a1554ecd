import { copyFileSync, constants, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  loadRunbook,
  loadRunbooks,
  PRODUCTION_TEMPLATE,
  runbookFilesFromEnv,
  RunbookError,
  unfilledPlaceholders,
} from '../config/load';
import type { ReadinessReport } from '../workflows/readiness';
import { register as drillCommands } from './commands/drill';
import { register as scheduleCommands } from './commands/schedule';

// The Temporal SDK and the systems' clients are loaded by the commands that use them: `config …` and `--help`
// answer at once (loading everything took over a second).
const temporal = () => import('../common/temporal-connection.js');

const program = new Command('drctl')
  .description('Disaster-recovery orchestrator: failover, failback and drills of DR pairs on Temporal')
  .showHelpAfterError()
  .configureHelp({ showGlobalOptions: true })
  .option(
    '--address <host:port>',
    'Temporal frontend address (default: TEMPORAL_ADDRESS, else localhost:7233)',
  )
  .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)');

/** The global options every command reads the Temporal connection from. */
interface GlobalOptions {
  address?: string;
  namespace?: string;
}
const globals = (): GlobalOptions => program.opts<GlobalOptions>();

const print = (line: string) => console.log(line);
// `drctl … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const config = program.command('config').description('Runbook (DR pair configuration) commands');
config
  .command('validate')
  .description(
    'Validate runbook files; without arguments, those named by DR_RUNBOOKS or the local stack runbook',
  )
  .argument('[files...]', 'runbook YAML files')
  .action((files: string[]) => {
    const targets = files.length > 0 ? files : runbookFilesFromEnv();
    let failed = 0;
    for (const file of targets) {
      try {
        const { runbook } = loadRunbook(file);
        print(
          `${file}: valid (pair "${runbook.pair}", ${runbook.mysql.servers.length} MySQL servers${runbook.traffic ? `, traffic via ${runbook.traffic.provider}` : ''})`,
        );
      } catch (err) {
        failed++;
        console.error(err instanceof RunbookError ? err.message : String(err));
      }
    }
    process.exitCode = failed > 0 ? 1 : 0;
  });

config
  .command('init')
  .description('Write a copy of the production runbook template to fill in (never over an existing file)')
  .argument('<file>', 'the runbook file to create')
  .action((file: string) => {
    try {
      copyFileSync(PRODUCTION_TEMPLATE, file, constants.COPYFILE_EXCL);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'EEXIST' ? `${file} already exists: not overwritten` : `cannot write ${file}: ${code}`,
        { cause: err },
      );
    }
    const unfilled = unfilledPlaceholders(readFileSync(file, 'utf8'));
    print(
      `wrote ${file}: fill in its ${unfilled.length} placeholders, then run drctl config validate ${file}`,
    );
    for (const p of unfilled) print(`  ${p.at}: ${p.sentence}`);
  });

// `drctl stack …` (the local development stack) is dev/stack/cli.ts, which bin/drctl runs in a development checkout.
program
  .command('stack')
  .description('The local development stack: up, status, down (in a development checkout only)')
  .allowUnknownOption()
  .allowExcessArguments()
  .action(() => {
    throw new Error(
      'the local stack is a development tool: run drctl stack from a development checkout (npm ci), not from a build',
    );
  });

program
  .command('doctor')
  .description('Check Temporal (reachable, namespace, search attributes) and every endpoint of the runbooks')
  .action(async () => {
    const [{ connectClient, temporalSettings }, { runDoctor }] = await Promise.all([
      temporal(),
      import('./doctor.js'),
    ]);
    const { address, namespace } = temporalSettings(globals());
    const results = await runDoctor(
      { address, namespace, connect: async () => (await connectClient(globals())).connection },
      loadRunbooks(runbookFilesFromEnv()),
    );
    for (const r of results) print(`[${r.ok ? ' ok ' : 'FAIL'}] ${r.name}: ${r.detail}`);
    process.exitCode = results.every((r) => r.ok) ? 0 : 1;
  });

function pairName(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(value))
    throw new InvalidArgumentError('a pair name is lower-case letters, digits and dashes');
  return value;
}

program
  .command('readiness')
  .description('Run the non-destructive readiness check of a DR pair and print its report')
  .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
  .option('--json', 'print the report as JSON')
  .option('--no-wait', 'start the workflow and print its ID without waiting')
  .action(async (pair: string, options: { json?: boolean; wait: boolean }) => {
    const [{ connectClient, temporalUiUrl }, { Client }, { formatReadinessReport, startReadinessCheck }] =
      await Promise.all([temporal(), import('@temporalio/client'), import('./readiness.js')]);
    const { connection, namespace } = await connectClient(globals());
    try {
      const client = new Client({ connection, namespace });
      const handle = await startReadinessCheck(client, pair, 'cli');
      const link = `${temporalUiUrl()}/namespaces/${namespace}/workflows/${handle.workflowId}`;
      if (!options.wait) {
        print(`started ${handle.workflowId}\n${link}`);
        return;
      }
      const report = (await handle.result()) as ReadinessReport;
      print(options.json ? JSON.stringify(report, null, 2) : formatReadinessReport(report));
      if (!options.json) print(`\nTemporal UI: ${link}`);
      process.exitCode = report.ready ? 0 : 2;
    } finally {
      await connection.close();
    }
  });

/** What each answer command does, for its --help. */
const ANSWER_COMMANDS = {
  approve: 'Approve what a run of the pair asks approval for (a move, or replacing data)',
  reject: 'Reject what a run of the pair asks approval for',
  retry: 'Retry the failed step a run of the pair waits on',
  abort: 'Abort the run of the pair at the failed step it waits on',
  discard: 'Failback: rebuild an old primary that holds transactions the new one lacks, discarding them',
} as const;

interface AnswerCommandOptions {
  reason: string;
  question?: string;
  as?: string;
  key?: string;
}

for (const [decision, description] of Object.entries(ANSWER_COMMANDS) as [
  keyof typeof ANSWER_COMMANDS,
  string,
][]) {
  program
    .command(decision)
    .description(`${description}: a signed answer to an open question of its running move`)
    .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
    .requiredOption('--reason <text>', 'why, in a sentence (at most 1024 bytes); signed with the answer')
    .option('--question <id>', 'the question answered (needed when several open questions take this answer)')
    .option(
      '--as <name>',
      'the name you answer as, listed with your key in the runbook (default: DRCTL_APPROVER)',
    )
    .option(
      '--key <path>',
      'your private key, or a .pub whose key is in ssh-agent (default: DRCTL_SIGNING_KEY, else ~/.ssh/id_ed25519)',
    )
    .action(async (pair: string, options: AnswerCommandOptions) => {
      const [{ connectClient }, { Client, ServiceError }, { answerQuestion, checkAnswerArguments }] =
        await Promise.all([temporal(), import('@temporalio/client'), import('./answer.js')]);
      const answer = {
        reason: options.reason,
        questionId: options.question,
        as: options.as,
        key: options.key,
      };
      checkAnswerArguments(decision, answer); // before anything is contacted
      const { connection, namespace, address } = await connectClient(globals());
      try {
        const outcome = await answerQuestion(new Client({ connection, namespace }), pair, decision, answer);
        const asked = `question ${outcome.question.id} of run ${outcome.runId}: ${outcome.question.question}`;
        if (outcome.accepted) {
          print(`${outcome.result}\n  (${asked})`);
          return;
        }
        console.error(`drctl: the run refused the ${decision}: ${outcome.why}\n  (${asked})`);
        process.exitCode = 1;
      } catch (err) {
        if (err instanceof ServiceError)
          throw new Error(`Temporal at ${address}: ${err.message}`, { cause: err });
        throw err;
      } finally {
        await connection.close();
      }
    });
}

for (const registerCommands of [drillCommands, scheduleCommands]) registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`drctl: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
