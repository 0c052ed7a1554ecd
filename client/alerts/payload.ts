import { z } from 'zod';
import { formatPath } from '../../config/load';

/**
 * Alertmanager's webhook message, version 4 (its docs, `<webhook_config>`, and notify/webhook/webhook.go). Newer
 * Alertmanagers add fields under the same version (`truncatedAlerts`, `notification_reason`, `routeLabels`): every
 * field not read here is let through, so a newer sender is never refused for what it adds.
 */
const labelSet = z.record(z.string(), z.string({ error: 'must be a string' }), {
  error: 'must be an object of string labels',
});

/** RFC 3339 as Go writes it (up to nanoseconds, Z or an offset); firing alerts carry "0001-01-01T00:00:00Z" as endsAt. */
const timestamp = z
  .string({ error: 'must be an RFC 3339 time' })
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/, 'must be an RFC 3339 time')
  .refine((value) => !Number.isNaN(Date.parse(value)), { message: 'must be an RFC 3339 time' });

const status = z.enum(['firing', 'resolved'], { error: 'must be "firing" or "resolved"' });

const alert = z.looseObject({
  status,
  labels: labelSet.refine((labels) => typeof labels.alertname === 'string' && labels.alertname !== '', {
    message: 'must hold an alertname label',
  }),
  annotations: labelSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

/** The most alerts one message may carry (Alertmanager sends all of a group unless max_alerts limits it). */
export const MAX_ALERTS = 1000;

const message = z.looseObject({
  version: z.literal('4', { error: 'must be "4" (Alertmanager\'s webhook message version)' }),
  groupKey: z.string({ error: 'must be a string' }),
  truncatedAlerts: z.number().int().min(0).optional(),
  status,
  receiver: z.string({ error: 'must be a string' }),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string({ error: 'must be a string' }),
  notification_reason: z.string().optional(),
  routeLabels: labelSet.optional(),
  alerts: z
    .array(alert, { error: 'must be a list of alerts' })
    .min(1, 'must hold at least one alert')
    .max(MAX_ALERTS, `must hold at most ${MAX_ALERTS} alerts`),
});

export type WebhookMessage = z.infer<typeof message>;
export type WebhookAlert = WebhookMessage['alerts'][number];

/** The message, or every problem found, each naming its field ("alerts[0].status: must be …"). */
export function readWebhookMessage(body: unknown): { message: WebhookMessage } | { problems: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { problems: ["(root): must be a JSON object (Alertmanager's webhook message)"] };
  const result = message.safeParse(body);
  if (result.success) return { message: result.data };
  // A field failing two checks (a time that is neither RFC 3339 nor a date) is named once.
  return {
    problems: dedupe(
      result.error.issues.map((issue) => {
        const missing = issue.path.length > 0 && valueAt(body, issue.path) === undefined;
        return `${formatPath(issue.path)}: ${missing ? 'is required' : issue.message}`;
      }),
    ),
  };
}

const dedupe = (items: string[]) => [...new Set(items)];

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    value,
  );
}

/** How an alert is named in sentences: its alertname and, when given, its fingerprint. */
export function alertName(alert: WebhookAlert): string {
  return `${alert.labels.alertname}${alert.fingerprint ? ` (${alert.fingerprint})` : ''}`;
}
