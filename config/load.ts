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

/**
 * A value a template leaves for the operator: `<fill in: what to write here, in one sentence.>`. A runbook holding one
 * is refused, each named by its path and its sentence.
 */
const PLACEHOLDER = /^<fill in: (.+)>$/s;

function placeholders(value: unknown, at: PropertyKey[] = []): { at: string; sentence: string }[] {
  if (typeof value === 'string') {
    const sentence = PLACEHOLDER.exec(value)?.[1];
    return sentence ? [{ at: formatPath(at), sentence }] : [];
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholders(v, [...at, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => placeholders(v, [...at, k]));
  return [];
}

/** The placeholders a runbook text still holds (none in a runbook ready for use). */
export function unfilledPlaceholders(text: string): { at: string; sentence: string }[] {
  return placeholders(parseDocument(text).toJS());
}

export function parseRunbook(text: string, file: string): LoadedRunbook {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RunbookError(
      file,
      doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`),
    );
  }
  const value: unknown = doc.toJS();
  const unfilled = placeholders(value);
  const result = runbookSchema.safeParse(value);
  // A field still holding its placeholder is named once, as such, not also as a value of the wrong type.
  const underPlaceholder = (at: string) =>
    unfilled.some((p) => at === p.at || at.startsWith(`${p.at}.`) || at.startsWith(`${p.at}[`));
  const problems = [
    ...unfilled.map((p) => `${p.at}: fill in this placeholder: ${p.sentence}`),
    ...(result.success ? [] : result.error.issues)
      .map((issue: z.core.$ZodIssue) => ({ at: formatPath(issue.path), message: issue.message }))
      .filter((issue) => !underPlaceholder(issue.at))
      .map((issue) => `${issue.at}: ${issue.message}`),
  ];
  if (problems.length > 0 || !result.success) throw new RunbookError(file, problems);
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

/** What `drctl config init` copies: a production runbook with placeholders to fill in. */
export const PRODUCTION_TEMPLATE = path.join(packageRoot(), 'config', 'runbooks', 'production-template.yaml');

export const DEFAULT_LOCAL_RUNBOOK = path.join(packageRoot(), 'config', 'runbooks', 'local.yaml');

/** Runbook files named by DR_RUNBOOKS (comma-separated), or the local stack's runbook. */
export function runbookFilesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.DR_RUNBOOKS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return list && list.length > 0 ? list : [DEFAULT_LOCAL_RUNBOOK];
}
