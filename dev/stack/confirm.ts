import { createInterface } from 'node:readline/promises';

export interface PromptStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/**
 * Asks a yes/no question on a terminal; only "y" or "yes" goes on. With `yes` it does not ask. Without a terminal
 * and without `yes` it refuses (throws, naming `flag`): nobody can have read what would be done.
 */
export async function confirmed(
  question: string,
  options: { yes?: boolean; flag: string },
  streams: PromptStreams = { input: process.stdin, output: process.stdout },
): Promise<boolean> {
  if (options.yes) return true;
  if (!streams.input.isTTY)
    throw new Error(`no terminal to ask for confirmation; pass ${options.flag} to go on without asking`);
  const prompt = createInterface({ input: streams.input, output: streams.output });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
