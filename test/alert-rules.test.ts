/**
 * The runbook's alerts section (config/alerts.ts): what it refuses, naming the field; how the receiver maps alerts to
 * pairs and actions (client/alerts/routing.ts); and where it takes its own settings from (client/alerts/settings.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { handledBy } from '../client/alerts/act';
import { alertRules, routeMessage } from '../client/alerts/routing';
import { receiverSettings } from '../client/alerts/settings';
import { matches, parseMatcher } from '../config/alerts';
import { DEFAULT_LOCAL_RUNBOOK, parseRunbook, RunbookError, type LoadedRunbook } from '../config/load';
import type { Runbook } from '../config/schema';
import { firingAlert, resolvedAlert, webhookMessage } from './helpers/alertmanager-messages';

const localText = readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8');

/** The local runbook with its alerts section changed by `edit`; the problems it is refused with, or [] when taken. */
function problemsWith(edit: (alerts: Record<string, unknown>) => void): string[] {
  const doc = parse(localText) as { alerts: Record<string, unknown> };
  edit(doc.alerts);
  try {
    parseRunbook(stringify(doc), 'local.yaml');
    return [];
  } catch (err) {
    if (err instanceof RunbookError) return err.problems;
    throw err;
  }
}

const rule = (fields: Record<string, unknown>) => (a: Record<string, unknown>) => {
  a.rules = [{ name: 'r', matchers: ['alertname="X"'], action: 'failover', ...fields }];
};

describe('runbook alerts section', () => {
  it("the local runbook's section is valid, with the receiver's defaults", () => {
    const { runbook } = parseRunbook(localText, 'local.yaml');
    expect(runbook.alerts!.receiver).toEqual({
      listen: '127.0.0.1',
      port: 19095,
      token: 'file:../../.stack/alert-receiver/token',
      maxBodyBytes: 1024 * 1024,
    });
    expect(runbook.alerts!.rules.map((r) => r.action)).toEqual(['failover', 'readiness']);
  });

  it.each([
    [
      'a matcher without an operator',
      rule({ matchers: ['alertname'] }),
      'alerts.rules[0].matchers[0]: "alertname" is not a matcher: write label="value", label!="value", label=~"regex" or label!~"regex"',
    ],
    [
      'a regex that does not compile',
      rule({ matchers: ['site=~"(gra"'] }),
      /^alerts\.rules\[0\]\.matchers\[0\]: "site=~"\(gra"": the regex does not compile: /,
    ],
    [
      'no matcher',
      rule({ matchers: [] }),
      'alerts.rules[0].matchers: must hold at least one matcher: a rule without one would take every alert',
    ],
    [
      'an unknown action',
      rule({ action: 'restart' }),
      'alerts.rules[0].action: must be "failover" or "readiness"',
    ],
    [
      'a rule name twice',
      (a: Record<string, unknown>) => {
        a.rules = [
          { name: 'r', matchers: ['a="1"'], action: 'failover' },
          { name: 'r', matchers: ['a="2"'], action: 'readiness' },
        ];
      },
      'alerts.rules[1].name: duplicate rule "r"',
    ],
    [
      'a token written in clear',
      (a: Record<string, unknown>) => {
        (a.receiver as Record<string, unknown>).token = 's3cret-token';
      },
      'alerts.receiver.token: must be a secret reference "env:NAME" or "file:PATH" (the bearer token is never written in a runbook)',
    ],
    [
      'a port out of range',
      (a: Record<string, unknown>) => {
        (a.receiver as Record<string, unknown>).port = 70000;
      },
      /^alerts\.receiver\.port: /,
    ],
    [
      'a TLS certificate that is not a file reference',
      (a: Record<string, unknown>) => {
        (a.receiver as Record<string, unknown>).tls = {
          cert: '/etc/cert.pem',
          key: 'file:k',
          clientCa: 'file:ca',
        };
      },
      'alerts.receiver.tls.cert: must be a file reference "file:PATH" naming the certificate (PEM)',
    ],
    ['an unknown field', (a: Record<string, unknown>) => (a.route = 'x'), /^alerts: .*"route"/],
  ])('refuses %s, naming the field', (_kind, edit, expected) => {
    const problems = problemsWith(edit);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });
});

describe('label matchers', () => {
  it.each([
    ['alertname="A"', { alertname: 'A' }, true],
    ['alertname="A"', { alertname: 'AB' }, false],
    ['alertname = A', { alertname: 'A' }, true],
    ['site!="gra"', { site: 'rbx' }, true],
    ['site!="gra"', { site: 'gra' }, false],
    ['site=~"gra|rbx"', { site: 'rbx' }, true],
    ['site=~"gr"', { site: 'gra' }, false], // anchored at both ends, as Alertmanager anchors
    ['site!~"g.*"', { site: 'rbx' }, true],
    ['team=""', { site: 'gra' }, true], // a missing label reads as ""
    ['summary="say \\"hi\\""', { summary: 'say "hi"' }, true],
  ])('%s on %j: %s', (text, labels, expected) => {
    const matcher = parseMatcher(text);
    if ('problem' in matcher) throw new Error(matcher.problem);
    expect(matches(matcher, labels)).toBe(expected);
  });
});

describe('routing alerts to pairs', () => {
  const rules = alertRules([
    {
      pair: 'p1',
      alerts: {
        rules: [
          { name: 'db', matchers: ['alertname=~"Dr.*"', 'pair="p1"'], action: 'readiness' },
          { name: 'down', matchers: ['alertname="DrPrimarySiteDown"', 'pair="p1"'], action: 'failover' },
        ],
      },
    } as Runbook,
    {
      pair: 'p2',
      alerts: { rules: [{ name: 'any', matchers: ['alertname="DrPrimarySiteDown"'], action: 'failover' }] },
    } as Runbook,
  ]);
  const down = firingAlert({ alertname: 'DrPrimarySiteDown', pair: 'p1' });
  const db = firingAlert({ alertname: 'DrPrimaryDatabaseUnreachable', pair: 'p1' });

  it("a pair's failover rule wins over its readiness rule, and one alert can concern several pairs", () => {
    const routing = routeMessage(webhookMessage([down, db]), rules);
    expect(routing.decisions.map((d) => [d.pair, d.action, d.rules])).toEqual([
      ['p1', 'failover', ['down']],
      ['p2', 'failover', ['any']],
    ]);
  });

  it('readiness alone when only readiness rules match; unmatched alerts are named', () => {
    const other = firingAlert({ alertname: 'DiskFull' });
    const routing = routeMessage(webhookMessage([db, other]), rules);
    expect(routing.decisions.map((d) => [d.pair, d.action])).toEqual([['p1', 'readiness']]);
    expect(routing.unmatched).toEqual([`DiskFull (${other.fingerprint})`]);
  });

  it('resolved is told only once every failover alert of the pair in the message has resolved', () => {
    const second = firingAlert({ alertname: 'DrPrimarySiteDown', pair: 'p1', instance: 'b' });
    const partly = routeMessage(webhookMessage([resolvedAlert(down), second]), rules);
    expect(partly.decisions.filter((d) => d.pair === 'p1').map((d) => d.action)).toEqual(['failover']);
    const all = routeMessage(webhookMessage([resolvedAlert(down), resolvedAlert(second)]), rules);
    expect(all.decisions.filter((d) => d.pair === 'p1').map((d) => d.action)).toEqual(['resolved']);
    const readinessOnly = routeMessage(webhookMessage([resolvedAlert(db)]), rules);
    expect(readinessOnly.decisions).toEqual([]);
    expect(readinessOnly.ignored).toEqual([`DrPrimaryDatabaseUnreachable (${db.fingerprint}) for p1`]);
  });
});

describe("the receiver's settings", () => {
  const loaded = (file: string, receiver?: object): LoadedRunbook => ({
    file,
    runbook: { pair: file, alerts: receiver ? { receiver, rules: [] } : undefined } as Runbook,
  });
  const settings = { listen: '127.0.0.1', port: 9095, token: 'env:T', maxBodyBytes: 1024 };

  it('come from the runbook that has them; runbooks that give them must agree', () => {
    expect(receiverSettings([loaded('a.yaml'), loaded('b.yaml', settings)])).toEqual({
      config: settings,
      file: 'b.yaml',
    });
    expect(receiverSettings([loaded('a.yaml', settings), loaded('b.yaml', { ...settings })]).file).toBe(
      'a.yaml',
    );
    expect(() =>
      receiverSettings([loaded('a.yaml', settings), loaded('b.yaml', { ...settings, port: 1 })]),
    ).toThrow(
      'alerts.receiver differs between a.yaml and b.yaml: the one receiver has one set of settings; give it in one runbook only',
    );
    expect(() => receiverSettings([loaded('a.yaml')])).toThrow(
      "no runbook has an alerts.receiver section (read: a.yaml): give the receiver's port and token in one",
    );
  });
});

describe('a closed move that started after the alert began', () => {
  it.each([
    ['failover', 'COMPLETED', 'completed', 'ended completed'],
    ['failover', 'COMPLETED', 'rejected', 'ended rejected'],
    ['failover', 'COMPLETED', 'aborted', 'ended aborted'],
    ['failover', 'COMPLETED', 'rolled-back', 'ended rolled-back'],
    ['failback', 'COMPLETED', undefined, 'has completed'],
    ['failover', 'TERMINATED', undefined, 'was terminated'],
    ['failover', 'CANCELLED', undefined, 'was cancelled'],
    // These did not deal with the outage: the alert starts a new failover.
    ['failover', 'COMPLETED', 'dry-run', undefined],
    ['failover', 'COMPLETED', 'not-needed', undefined],
    ['failover', 'COMPLETED', 'refused', undefined],
    ['failover', 'FAILED', undefined, undefined],
  ])('%s %s (%s): %s', (type, status, outcome, expected) => {
    expect(handledBy(type, status, outcome)).toBe(expected);
  });
});
