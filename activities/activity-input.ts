import { z } from 'zod';
import { formatPath } from '../config/load';
import { name } from '../config/schema';
import { typedFailure } from './failure';

/** `{pair}`. */
export const pairOnlyInput = z.object({ pair: name }).strict();
/** `{pair, site}`: the input of the traffic activities. */
export const pairSiteInput = z.object({ pair: name, site: name }).strict();
/** `{pair, host}`: the input of the application activities. */
export const pairHostInput = z.object({ pair: name, host: name }).strict();

/**
 * Checks an activity's input at run time, before it touches anything: TypeScript types do not reach the data a
 * workflow (or a person through the Temporal UI or CLI) sends. A bad input is a non-retryable InvalidActivityInput
 * naming each bad field.
 */
export function activityInput<S extends z.ZodType>(activity: string, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) =>
    issue.path.length === 0 ? `input: ${issue.message}` : `${formatPath(issue.path)}: ${issue.message}`,
  );
  throw typedFailure(
    'InvalidActivityInput',
    `${activity} was called with an invalid input; nothing was changed: ${problems.join('; ')}`,
    true,
    { problems },
  );
}
