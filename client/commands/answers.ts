import type { Command } from 'commander';
import { emit, pairName, withTemporal } from './context';

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

/** `drctl approve|reject|retry|abort|discard <pair>`: a signed answer to an open question of the pair's move. */
export function register(program: Command): void {
  for (const [decision, description] of Object.entries(ANSWER_COMMANDS) as [
    keyof typeof ANSWER_COMMANDS,
    string,
  ][]) {
    program
      .command(decision)
      .description(`${description}: a signed answer to an open question of its running move`)
      .argument('<pair>', 'DR pair name (the runbook\'s "pair")', pairName)
      .requiredOption('--reason <text>', 'why, in a sentence (at most 1024 bytes); signed with the answer')
      .option(
        '--question <id>',
        'the question answered (needed when several open questions take this answer)',
      )
      .option(
        '--as <name>',
        'the name you answer as, listed with your key in the runbook (default: DRCTL_APPROVER)',
      )
      .option(
        '--key <path>',
        'your private key, or a .pub whose key is in ssh-agent (default: DRCTL_SIGNING_KEY, else ~/.ssh/id_ed25519)',
      )
      .action(async (pair: string, options: AnswerCommandOptions, command: Command) => {
        const { answerQuestion, checkAnswerArguments } = await import('../answer.js');
        const answer = {
          reason: options.reason,
          questionId: options.question,
          as: options.as,
          key: options.key,
        };
        checkAnswerArguments(decision, answer); // before anything is contacted
        const outcome = await withTemporal(command, ({ client }) =>
          answerQuestion(client, pair, decision, answer),
        );
        const asked = `question ${outcome.question.id} of run ${outcome.runId}: ${outcome.question.question}`;
        if (outcome.accepted) {
          emit(command, outcome, (o) => `${o.accepted ? o.result : ''}\n  (${asked})`);
          return;
        }
        if (command.optsWithGlobals<{ json?: boolean }>().json) emit(command, outcome, () => '');
        else console.error(`drctl: the run refused the ${decision}: ${outcome.why}\n  (${asked})`);
        process.exitCode = 1;
      });
  }
}
