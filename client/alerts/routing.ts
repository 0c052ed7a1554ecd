import { matches, parseMatcher, type LabelMatcher } from '../../config/alerts';
import type { Runbook } from '../../config/schema';
import { alertName, type WebhookAlert, type WebhookMessage } from './payload';

export type AlertAction = 'failover' | 'readiness';

export interface PairAlertRule {
  pair: string;
  name: string;
  action: AlertAction;
  matchers: LabelMatcher[];
}

/** The alert rules of every runbook, each with its pair. */
export function alertRules(runbooks: Iterable<Runbook>): PairAlertRule[] {
  return [...runbooks].flatMap((runbook) =>
    (runbook.alerts?.rules ?? []).map((rule) => ({
      pair: runbook.pair,
      name: rule.name,
      action: rule.action,
      // The schema has parsed each matcher already: a problem here cannot happen.
      matchers: rule.matchers.map((m) => parseMatcher(m) as LabelMatcher),
    })),
  );
}

/**
 * What one message asks of one pair: `failover` when an alert of a failover rule fires (the pair's unplanned
 * failover, started or joined), `readiness` when only alerts of readiness rules fire, `resolved` when every alert of
 * the pair's failover rules in the message has resolved (told to the running failover).
 */
export interface PairDecision {
  pair: string;
  action: AlertAction | 'resolved';
  /** The rules that matched, by name. */
  rules: string[];
  /** The alerts behind the decision. */
  alerts: WebhookAlert[];
}

export interface Routing {
  decisions: PairDecision[];
  /** Alerts no rule takes, by name. */
  unmatched: string[];
  /** Resolved alerts of readiness rules: nothing to do for them, by name. */
  ignored: string[];
}

/** Maps every alert of the message to the pairs whose rules take it; a pair's failover rules win over its readiness rules. */
export function routeMessage(message: WebhookMessage, rules: PairAlertRule[]): Routing {
  const byPair = new Map<string, { firing: Map<AlertAction, Hit[]>; resolved: Map<AlertAction, Hit[]> }>();
  const unmatched: string[] = [];
  for (const alert of message.alerts) {
    const hits = pairHits(alert, rules);
    if (hits.length === 0) unmatched.push(alertName(alert));
    for (const hit of hits) {
      const entry = byPair.get(hit.rule.pair) ?? { firing: new Map(), resolved: new Map() };
      byPair.set(hit.rule.pair, entry);
      const bucket = alert.status === 'firing' ? entry.firing : entry.resolved;
      bucket.set(hit.rule.action, [...(bucket.get(hit.rule.action) ?? []), hit]);
    }
  }
  const decisions: PairDecision[] = [];
  const ignored: string[] = [];
  for (const [pair, { firing, resolved }] of byPair) {
    const decide = (action: PairDecision['action'], hits: Hit[]) =>
      decisions.push({
        pair,
        action,
        rules: [...new Set(hits.map((h) => h.rule.name))],
        alerts: [...new Set(hits.map((h) => h.alert))],
      });
    if (firing.has('failover')) decide('failover', firing.get('failover')!);
    else if (resolved.has('failover')) decide('resolved', resolved.get('failover')!);
    if (!firing.has('failover') && firing.has('readiness')) decide('readiness', firing.get('readiness')!);
    ignored.push(...(resolved.get('readiness') ?? []).map((h) => `${alertName(h.alert)} for ${pair}`));
  }
  return { decisions, unmatched, ignored };
}

interface Hit {
  rule: PairAlertRule;
  alert: WebhookAlert;
}

/** The rule that takes the alert for each pair: its first failover rule that matches, else its first readiness rule. */
function pairHits(alert: WebhookAlert, rules: PairAlertRule[]): Hit[] {
  const matching = rules.filter((rule) => rule.matchers.every((m) => matches(m, alert.labels)));
  const pairs = [...new Set(matching.map((r) => r.pair))];
  return pairs.map((pair) => {
    const ofPair = matching.filter((r) => r.pair === pair);
    return { rule: ofPair.find((r) => r.action === 'failover') ?? ofPair[0]!, alert };
  });
}
