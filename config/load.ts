import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { packageRoot } from '../common/package-root';
import { runbookSchema, type Runbook } from './schema';

export interface LoadedRunbook {
  runbook: Runbook;
  /** Absolute path of the file it came from; relative `file:` secret references resolve against its folder. */
  file: string;
}

export class RunbookError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid runbook\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RunbookError';
  }
}

export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    out += typeof s === 'number' ? `[${s}]` : out === '' ? String(s) : `.${String(s)}`;
  }
  return out === '' ? '(root)' : out;
}

export function parseRunbook(text: string, file: string): LoadedRunbook {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RunbookError(
      file,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const result = runbookSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new RunbookError(
      file,
      result.error.issues.map((issue: z.core.$ZodIssue) => `${formatPath(issue.path)}: ${issue.message}`),
    );
  }
  return { runbook: result.data, file: path.resolve(file) };
}

export function loadRunbook(file: string): LoadedRunbook {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RunbookError(file, [`cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  return parseRunbook(text, file);
}

/** Loads several runbooks and refuses two that describe the same DR pair. */
export function loadRunbooks(files: string[]): Map<string, LoadedRunbook> {
  const byPair = new Map<string, LoadedRunbook>();
  for (const file of files) {
    const loaded = loadRunbook(file);
    const existing = byPair.get(loaded.runbook.pair);
    if (existing) {
      throw new RunbookError(file, [`pair: "${loaded.runbook.pair}" is already defined by ${existing.file}`]);
    }
    byPair.set(loaded.runbook.pair, loaded);
  }
  return byPair;
}

export const DEFAULT_LOCAL_RUNBOOK = path.join(packageRoot(), 'config', 'runbooks', 'local.yaml');

/** Runbook files named by DR_RUNBOOKS (comma-separated), or the local stack's runbook. */
export function runbookFilesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.DR_RUNBOOKS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list && list.length > 0 ? list : [DEFAULT_LOCAL_RUNBOOK];
}
