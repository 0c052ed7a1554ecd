import { z } from 'zod';
import { formatPath } from '../../config/load';
import { mysqlDecision } from './errors';

/**
 * Run-time checks of the inputs of the destructive MySQL activities: TypeScript types do not survive a workflow
 * history or a hand-written `temporal workflow start`, and a string "false" where a boolean belongs is truthy.
 */
const pair = z.string().min(1);
const server = z.string().min(1);
const seconds = z.number().positive().finite();

export const fenceInput = z.object({ pair, server }).strict();

export const promoteInput = z
  .object({ pair, server, allowUnappliedTransactions: z.boolean().optional() })
  .strict();

export const catchUpInput = z
  .object({
    pair,
    server,
    untilServer: server.optional(),
    untilGtid: z.string().optional(),
    timeoutSeconds: seconds.optional(),
    sliceSeconds: z.number().min(1).max(3600).optional(),
  })
  .strict();

export const repointInput = z
  .object({ pair, server, source: server, verifyTimeoutSeconds: seconds.optional() })
  .strict();

/** Salvage onto `server` (the candidate) what the binlog of `from` (the dead primary) holds beyond it. */
export const salvageInput = z
  .object({
    pair,
    server,
    from: server,
    /** `server`'s GTID position before the salvage, as the workflow read it: what the count of salvaged starts from. */
    baseline: z.string().optional(),
  })
  .strict();

export const resumeInput = z.object({ pair, server }).strict();

/** Measure what the old primary `from` committed that the promoted `to` lacks. */
export const measureLossInput = z.object({ pair, from: server, to: server }).strict();

export type MeasureLossInput = z.infer<typeof measureLossInput>;

export const unfenceInput = z.object({ pair, server }).strict();

export type UnfenceInput = z.infer<typeof unfenceInput>;

export type SalvageInput = z.infer<typeof salvageInput>;

export const rebuildInput = z.object({ pair, server, source: server }).strict();

export type RebuildInput = z.infer<typeof rebuildInput>;
export type FenceInput = z.infer<typeof fenceInput>;
export type PromoteInput = z.infer<typeof promoteInput>;
export type CatchUpInput = z.infer<typeof catchUpInput>;
export type RepointInput = z.infer<typeof repointInput>;

/** The input if it fits `schema`; else a non-retryable `InvalidInput` naming each bad field (nothing was done). */
export function checkedInput<T>(activity: string, schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issuePath(issue)}: ${issue.message}`);
  throw invalidInput(activity, problems);
}

export function invalidInput(activity: string, problems: string[]) {
  return mysqlDecision(
    'InvalidInput',
    `${activity}: invalid input, nothing was changed: ${problems.join('; ')}`,
    { problems },
  );
}

/** The field an issue is about; an unknown key is named itself (a typo such as "sourc" beside a missing "source"). */
function issuePath(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return formatPath([...issue.path, ...issue.keys.slice(0, 1)]);
  return formatPath(issue.path);
}
