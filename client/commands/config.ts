import { copyFileSync, constants, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  loadRunbook,
  PRODUCTION_TEMPLATE,
  runbookFilesFromEnv,
  RunbookError,
  unfilledPlaceholders,
} from '../../config/load';
import { emit, globalsOf, print } from './context';

/** `drctl config validate|init`: runbook files, without Temporal. */
export function register(program: Command): void {
  const config = program.command('config').description('Runbook (DR pair configuration) commands');
  config
    .command('validate')
    .description(
      'Validate runbook files; without arguments, those named by DR_RUNBOOKS or the local stack runbook',
    )
    .argument('[files...]', 'runbook YAML files')
    .action((files: string[], _options: unknown, command: Command) => {
      const targets = files.length > 0 ? files : runbookFilesFromEnv();
      const results = targets.map((file) => validate(file));
      if (globalsOf(command).json) print(JSON.stringify(results, null, 2));
      for (const r of results) {
        if (!r.valid) console.error(r.error);
        else if (!globalsOf(command).json) print(`${r.file}: valid (${r.summary})`);
      }
      process.exitCode = results.some((r) => !r.valid) ? 1 : 0;
    });

  config
    .command('init')
    .description('Write a copy of the production runbook template to fill in (never over an existing file)')
    .argument('<file>', 'the runbook file to create')
    .action((file: string, _options: unknown, command: Command) => {
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
      emit(command, { file, placeholders: unfilled }, () =>
        [
          `wrote ${file}: fill in its ${unfilled.length} placeholders, then run drctl config validate ${file}`,
          ...unfilled.map((p) => `  ${p.at}: ${p.sentence}`),
        ].join('\n'),
      );
    });
}

type Validation = { file: string } & (
  { valid: true; pair: string; summary: string } | { valid: false; error: string }
);

function validate(file: string): Validation {
  try {
    const { runbook } = loadRunbook(file);
    const summary = `pair "${runbook.pair}", ${runbook.mysql.servers.length} MySQL servers${runbook.traffic ? `, traffic via ${runbook.traffic.provider}` : ''}`;
    return { file, valid: true, pair: runbook.pair, summary };
  } catch (err) {
    return { file, valid: false, error: err instanceof RunbookError ? err.message : String(err) };
  }
}
