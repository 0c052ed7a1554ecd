import type { WebhookAlert, WebhookMessage } from '../../client/alerts/payload';

/** A firing alert as Alertmanager 0.25+ sends it (endsAt zero while it fires). */
export function firingAlert(
  labels: Record<string, string>,
  startsAt = new Date().toISOString(),
): WebhookAlert {
  return {
    status: 'firing',
    labels,
    annotations: { summary: `${labels.alertname} fired` },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example:9090/graph?g0.expr=up',
    fingerprint: Buffer.from(JSON.stringify(labels)).toString('hex').slice(0, 16),
  };
}

/** A version 4 webhook message for `alerts`, with every field Alertmanager sends (newer fields included). */
export function webhookMessage(
  alerts: WebhookAlert[],
  overrides: Record<string, unknown> = {},
): WebhookMessage {
  const common = alerts[0]?.labels ?? {};
  return {
    version: '4',
    groupKey: `{}:{alertname="${common.alertname ?? ''}"}`,
    truncatedAlerts: 0,
    status: alerts.every((a) => a.status === 'resolved') ? 'resolved' : 'firing',
    receiver: 'dr-orchestrator',
    groupLabels: { alertname: common.alertname ?? '' },
    commonLabels: common,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    notification_reason: 'new_alerts',
    routeLabels: {},
    alerts,
    ...overrides,
  } as WebhookMessage;
}

/** The same alert, resolved at `endsAt`. */
export function resolvedAlert(alert: WebhookAlert, endsAt = new Date().toISOString()): WebhookAlert {
  return { ...alert, status: 'resolved', endsAt };
}
