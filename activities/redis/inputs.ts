import { z } from 'zod';
import { formatPath } from '../../config/load';
import { redisDecision } from './errors';

/**
 * Run-time checks of the Redis activities' inputs: TypeScript types do not survive a workflow history or a
 * hand-written `temporal workflow start`.
 */
const pair = z.string().min(1);
const server = z.string().min(1);

export const pairInput = z.object({ pair }).strict();
export const serverInput = z.object({ pair, server }).strict();
/** `server` reads everything `untilServer` (its master, paused) holds. */
export const catchUpInput = z.object({ pair, server, untilServer: server }).strict();
/**
 * Promote `server`, the replica of `from`. `switchoverOnly`: a planned move, which promotes only by a zero-loss
 * handover from a reachable `from` and refuses otherwise.
 */
export const promoteInput = z.object({ pair, server, from: server, switchoverOnly: z.boolean() }).strict();
/** `server` replicates from `source`; `unpause` also lifts a write pause left on `server`. */
export const replicateInput = z
  .object({ pair, server, source: server, unpause: z.boolean().optional() })
  .strict();

/** The input if it fits `schema`; else a non-retryable `RedisInvalidInput` naming each bad field. */
export function checkedInput<T>(activity: string, schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? `${formatPath([...issue.path, ...issue.keys.slice(0, 1)])}: ${issue.message}`
      : `${formatPath(issue.path)}: ${issue.message}`,
  );
  throw redisDecision(
    'RedisInvalidInput',
    `${activity}: invalid input, nothing was changed: ${problems.join('; ')}`,
    { problems },
  );
}
