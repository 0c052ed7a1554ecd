import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  parseAllowedSigners,
  parseAllowedSignersLine,
  type AllowedSigner,
} from '../common/approval-signature';

/**
 * One entry of a runbook's `approval.approvers`, by its form:
 * - `file:PATH`: an allowed_signers file (relative to the runbook's folder), read when a run starts;
 * - an allowed_signers line, `alice ssh-ed25519 AAAA… [comment]` (options allowed): an approver who signs;
 * - a bare name, `oncall`: an approver who answers unsigned (only with `approval.unsigned: allow`).
 */
export type ApproverEntry =
  | { kind: 'file'; reference: string }
  | { kind: 'line'; signer: AllowedSigner }
  | { kind: 'name'; name: string }
  | { kind: 'invalid'; problem: string };

/** What a bare approver name may hold: no spaces, commas or quotes (it is never a pattern). */
const BARE_NAME = /^[A-Za-z0-9._@+-]+$/;

export function approverEntry(entry: string): ApproverEntry {
  const text = entry.trim();
  if (text.startsWith('file:'))
    return text.length > 5
      ? { kind: 'file', reference: text }
      : { kind: 'invalid', problem: 'the file reference names no file' };
  if (/[\r\n]/.test(text))
    return { kind: 'invalid', problem: 'holds several lines: give one approver per entry' };
  if (!/\s/.test(text))
    return BARE_NAME.test(text)
      ? { kind: 'name', name: text }
      : { kind: 'invalid', problem: `"${text}" is not a name (letters, digits and . _ @ + -)` };
  try {
    return { kind: 'line', signer: parseAllowedSignersLine(text)! };
  } catch (err) {
    return { kind: 'invalid', problem: (err as Error).message };
  }
}

/** A runbook's approvers once its allowed_signers files are read: who may sign, and who may answer unsigned. */
export interface ResolvedApprovers {
  signers: AllowedSigner[];
  /** The bare names (unsigned approvers). */
  unsignedNames: string[];
}

/** Raised when an approvers entry cannot be used: names the field and the file, never a key. */
export class ApproversUnavailableError extends Error {
  constructor(
    readonly field: string,
    why: string,
  ) {
    super(`${field}: ${why}`);
    this.name = 'ApproversUnavailableError';
  }
}

/**
 * Reads the approvers of a runbook: its allowed_signers lines, and the files its `file:` entries name (relative to
 * `baseDir`, the runbook's folder). Throws ApproversUnavailableError naming the entry (`approval.approvers[2]`) and the
 * file when one cannot be read, does not parse, or lists no signer.
 */
export function resolveApprovers(entries: string[], baseDir: string): ResolvedApprovers {
  const resolved: ResolvedApprovers = { signers: [], unsignedNames: [] };
  entries.forEach((entry, i) => {
    const field = `approval.approvers[${i}]`;
    const parsed = approverEntry(entry);
    switch (parsed.kind) {
      case 'invalid':
        throw new ApproversUnavailableError(field, parsed.problem);
      case 'name':
        resolved.unsignedNames.push(parsed.name);
        return;
      case 'line':
        resolved.signers.push(parsed.signer);
        return;
      case 'file':
        resolved.signers.push(...readAllowedSignersFile(field, parsed.reference, baseDir));
    }
  });
  return resolved;
}

function readAllowedSignersFile(field: string, reference: string, baseDir: string): AllowedSigner[] {
  const file = path.resolve(baseDir, reference.slice('file:'.length));
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ApproversUnavailableError(
      field,
      `cannot read the allowed_signers file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let signers: AllowedSigner[];
  try {
    signers = parseAllowedSigners(text, file);
  } catch (err) {
    throw new ApproversUnavailableError(
      field,
      `the allowed_signers file is invalid: ${(err as Error).message}`,
    );
  }
  if (signers.length === 0)
    throw new ApproversUnavailableError(field, `the allowed_signers file ${file} lists no signer`);
  return signers;
}

/**
 * The names the approvers answer as, for people to read: each signer's principal patterns (negations left out), then
 * the bare names, without repeats.
 */
export function approverNames(approvers: ResolvedApprovers): string[] {
  const principals = approvers.signers.flatMap((s) => s.principals).filter((p) => !p.startsWith('!'));
  return [...new Set([...principals, ...approvers.unsignedNames])];
}
