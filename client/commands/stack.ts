import type { Command } from 'commander';

/** `drctl stack …` (the local development stack) is dev/stack/cli.ts, which bin/drctl runs in a development checkout. */
export function register(program: Command): void {
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
}
