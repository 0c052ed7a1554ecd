import { z } from 'zod';

export const DRILL_MODES = ['readiness', 'game-day'] as const;
export type DrillMode = (typeof DRILL_MODES)[number];

const drillMode = z.enum(DRILL_MODES, { error: 'must be "readiness" or "game-day"' });

const scheduleDuration = z
  .string()
  .regex(/^\d+(m|h|d)$/, 'must be a duration in minutes, hours or days such as "30m", "12h" or "7d"')
  .refine((value) => !/^0+[mhd]$/.test(value), { message: 'must be longer than 0' });

/**
 * A cron line as Temporal Schedules read it: five fields (minute hour day-of-month month day-of-week), each
 * digits, names, `*`, ranges, steps and lists; or one of the @hourly/@daily/@weekly/@monthly/@yearly shorthands.
 */
export const cronLine = z.string().superRefine((value, ctx) => {
  const why = cronProblem(value);
  if (why) ctx.addIssue({ code: 'custom', message: `must be a cron line such as "0 6 * * 1": ${why}` });
});

const CRON_FIELD =
  /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;
const CRON_SHORTHANDS = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight'];

export function cronProblem(value: string): string | undefined {
  const line = value.trim();
  if (line.startsWith('@'))
    return CRON_SHORTHANDS.includes(line)
      ? undefined
      : `"${line}" is not one of ${CRON_SHORTHANDS.join(', ')}`;
  const fields = line.split(/\s+/);
  if (fields.length !== 5) return `it has ${fields.length} fields, not 5`;
  const bad = fields.find((f) => !CRON_FIELD.test(f));
  return bad === undefined ? undefined : `field "${bad}" is not a number, name, range, step or list`;
}

/** One scheduled drill: `every` a duration or on a `cron` line (UTC), in one mode. */
export const drillSchedule = z
  .object({
    /** Names the schedule (its ID is drill-<pair>-<name>); default: the mode. */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes')
      .optional(),
    mode: drillMode,
    cron: cronLine.optional(),
    every: scheduleDuration.optional(),
    /** Starts the schedule paused (created, not firing until `drctl schedule unpause`). */
    paused: z.boolean().default(false),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.cron === undefined) === (value.every === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: 'give either cron (a cron line, UTC) or every (an interval such as "24h"), exactly one',
      });
  });

/**
 * The drill writer of a game-day drill: numbered writes `POST`ed through the pair's entry point to the application,
 * each `{"item": "...", "client_ref": "<drill>:<n>"}`, acknowledged by a 2xx JSON answer that names the site that
 * served it (`{"site": "gra", ...}`); after the failover, the acknowledged ones missing on the new primary are the
 * lost writes (read from `database`.`table`.`refColumn` with the orchestrator's MySQL account).
 */
const drillWriter = z
  .object({
    url: z.url({
      protocol: /^http$/,
      error: 'must be an http:// URL (the write endpoint through the entry point)',
    }),
    database: z
      .string()
      .regex(/^[A-Za-z0-9_]+$/, 'must be a plain database name')
      .default('app'),
    table: z
      .string()
      .regex(/^[A-Za-z0-9_]+$/, 'must be a plain table name')
      .default('orders'),
    refColumn: z
      .string()
      .regex(/^[A-Za-z0-9_]+$/, 'must be a plain column name')
      .default('client_ref'),
    /** Writes per second. */
    rate: z.number().int().min(1).max(500).default(20),
  })
  .strict();

export const drills = z
  .object({
    /** The folder the drill reports are written to (relative to the runbook's folder). */
    reports: z.string().min(1, 'must name a folder'),
    schedules: z.array(drillSchedule).default([]),
    gameDay: z
      .object({
        /**
         * `auto`: the failover and failback of a game-day drill are approved by the drill itself (a pair kept for
         * drills); `required`: they wait for an approver like any move (the default).
         */
        approval: z.enum(['required', 'auto']).default('required'),
        writer: drillWriter.optional(),
      })
      .strict()
      .default({ approval: 'required' }),
  })
  .strict()
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.schedules.forEach((s, i) => {
      const scheduleName = s.name ?? s.mode;
      if (seen.has(scheduleName))
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', i, 'name'],
          message: `names schedule "${scheduleName}" twice (a schedule without a name is named after its mode)`,
        });
      seen.add(scheduleName);
    });
  });

export type DrillsConfig = z.infer<typeof drills>;
export type DrillScheduleConfig = z.infer<typeof drillSchedule>;
