import { z } from 'zod';
import { formatPath } from '../../config/load';
import { duration, esIndexName } from '../../config/schema';
import { esDecision } from './errors';

/**
 * Run-time checks of the inputs of the Elasticsearch activities: a workflow (or a person starting one) can pass
 * anything, whatever the TypeScript types say. A bad input is a non-retryable `InvalidInput` naming the field,
 * raised before any request, so nothing changes.
 */
const pair = z.string().min(1);
const site = z.string().min(1);
const indices = z.array(esIndexName);

export const indicesInput = z.object({ pair, site: site.optional(), indices: indices.optional() }).strict();

export const pauseInput = indicesInput.extend({ onlyIfCaughtUp: z.boolean().optional() }).strict();

export const promoteInput = indicesInput
  .extend({ concurrency: z.number().int().min(1).max(64).optional() })
  .strict();

export const followInput = z
  .object({
    pair,
    site,
    indices: indices.optional(),
    replaceExisting: z.union([z.boolean(), indices]).optional(),
    restoreTimeout: duration.optional(),
  })
  .strict();

export const autoFollowInput = z
  .object({ pair, site: site.optional(), patterns: z.array(z.string().min(1)).optional() })
  .strict();

export const divergenceInput = z
  .object({
    pair,
    site,
    indices: indices.optional(),
    pageSize: z.number().int().min(1).max(10_000).optional(),
    underWriteBlock: z.boolean().optional(),
    // An earlier report may be passed as it is: only its counts are kept (other keys are stripped).
    previous: z
      .object({
        total: z.number().int().min(0),
        indices: z.array(z.object({ index: esIndexName, divergent: z.number().int().min(0) })),
      })
      .optional(),
  })
  .strict();

/** Fencing names its site: there is no default side to block. */
export const fenceInput = z.object({ pair, site, indices: indices.optional() }).strict();

export const patternsInput = z
  .object({ pair, site, patterns: z.array(z.string().min(1)).optional() })
  .strict();

/** The remote cluster is set up on a named site: the one that will follow. */
export const remoteClusterInput = z.object({ pair, site, connectTimeout: duration.optional() }).strict();

export const remoteClusterStatusInput = z.object({ pair, site }).strict();

/** Wraps an activity so that its input is checked against `schema` first. */
export function validated<S extends z.ZodType, R>(
  activity: string,
  schema: S,
  fn: (input: z.output<S>) => Promise<R>,
): (input: z.input<S>) => Promise<R> {
  return (input) => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
      return Promise.reject(
        esDecision('InvalidInput', `${activity}: invalid input: ${problems.join('; ')}`, { problems }),
      );
    }
    return fn(parsed.data);
  };
}
