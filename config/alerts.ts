import { z } from 'zod';

/**
 * One label matcher as Alertmanager writes them: `label="value"` (equal), `label!="value"`, `label=~"regex"` or
 * `label!~"regex"` (the regex anchored at both ends, as Alertmanager anchors its own). The quotes are optional.
 */
export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^"]*?))\s*$/;

/** Parses one matcher; a problem is returned as a sentence naming what is wrong. */
export function parseMatcher(text: string): LabelMatcher | { problem: string } {
  const m = MATCHER.exec(text);
  if (!m)
    return {
      problem: `"${text}" is not a matcher: write label="value", label!="value", label=~"regex" or label!~"regex"`,
    };
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '');
  const matcher = { label: m[1]!, op: m[2] as LabelMatcher['op'], value };
  if (matcher.op === '=~' || matcher.op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (err) {
      return { problem: `"${text}": the regex does not compile: ${(err as Error).message}` };
    }
  }
  return matcher;
}

/** Whether an alert's labels satisfy a matcher; a missing label reads as "" (as in Alertmanager). */
export function matches(matcher: LabelMatcher, labels: Record<string, string>): boolean {
  const actual = labels[matcher.label] ?? '';
  switch (matcher.op) {
    case '=':
      return actual === matcher.value;
    case '!=':
      return actual !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(actual);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(actual);
  }
}

const matcherText = z.string().superRefine((value, ctx) => {
  const parsed = parseMatcher(value);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

/**
 * One alert rule of a pair: the alerts whose labels satisfy every matcher start `action` for the runbook's pair.
 * `failover`: the pair's unplanned failover (which still assesses the primary and waits for its approval);
 * `readiness`: only a readiness check of the pair, nothing moves.
 */
const alertRule = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, ".", "_" and "-"'),
    matchers: z
      .array(matcherText)
      .min(1, 'must hold at least one matcher: a rule without one would take every alert'),
    action: z.enum(['failover', 'readiness'], { error: 'must be "failover" or "readiness"' }),
  })
  .strict();

const fileRef = (what: string) =>
  z.string().regex(/^file:.+/, `must be a file reference "file:PATH" naming ${what} (PEM)`);

/**
 * The receiver's own settings (client/alerts/main.ts): where it listens, the bearer token Alertmanager sends (a secret
 * reference), and optionally mutual TLS: its certificate and key, and the CA that signed the clients' certificates
 * (a client without one is refused).
 */
const alertReceiver = z
  .object({
    listen: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65535),
    token: z
      .string()
      .regex(
        /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/,
        'must be a secret reference "env:NAME" or "file:PATH" (the bearer token is never written in a runbook)',
      ),
    tls: z
      .object({
        cert: fileRef('the certificate'),
        key: fileRef('its private key'),
        clientCa: fileRef('the CA'),
      })
      .strict()
      .optional(),
    /** The largest request body taken; a larger one is refused with 413 before it is read whole. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
  })
  .strict();

/** Which Alertmanager alerts start what for this pair, and (in one runbook) the receiver's settings. */
export const alerts = z
  .object({
    receiver: alertReceiver.optional(),
    rules: z.array(alertRule).default([]),
  })
  .strict()
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.rules.forEach((rule, i) => {
      if (seen.has(rule.name))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `duplicate rule "${rule.name}"`,
        });
      seen.add(rule.name);
    });
  });

export type AlertsConfig = z.infer<typeof alerts>;
export type AlertRuleConfig = AlertsConfig['rules'][number];
export type AlertReceiverConfig = NonNullable<AlertsConfig['receiver']>;
