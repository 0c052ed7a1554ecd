import { describe, expect, it } from 'vitest';
import type { TrafficState } from '../activities/traffic';
import { evaluateTrafficReadiness } from '../workflows/checks/traffic-readiness';

const onGra: TrafficState = {
  provider: 'haproxy',
  site: 'gra',
  sites: ['gra'],
  members: [],
  description: 'HAProxy backend app sends traffic to gra.',
};

describe('evaluateTrafficReadiness', () => {
  it('passes when traffic goes to the primary and the provider has nothing more to judge', () => {
    expect(evaluateTrafficReadiness('gra', onGra)).toEqual([
      {
        name: 'traffic.target',
        ok: true,
        sentence: `traffic goes to the primary site gra: ${onGra.description}`,
      },
    ]);
  });

  it("fails on each HAProxy node whose server states a reload would not keep, in the node's own sentence", () => {
    const unsaved =
      'HAProxy at /run/b.sock has no stateFile in the runbook: a reload or restart of it would forget a switch.';
    const checks = evaluateTrafficReadiness('gra', {
      ...onGra,
      checks: [
        {
          name: 'state-saved@/run/a.sock',
          ok: true,
          sentence: 'HAProxy at /run/a.sock has its live server states saved.',
        },
        { name: 'state-saved@/run/b.sock', ok: false, sentence: unsaved },
      ],
    });
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['traffic.target', true],
      ['traffic.state-saved@/run/a.sock', true],
      ['traffic.state-saved@/run/b.sock', false],
    ]);
    expect(checks[2]!.sentence).toBe(unsaved);
  });

  it('fails when traffic goes elsewhere or the configuration read is not live yet', () => {
    expect(evaluateTrafficReadiness('gra', { ...onGra, site: 'rbx', sites: ['rbx'] })[0]!.ok).toBe(false);
    expect(evaluateTrafficReadiness('gra', { ...onGra, live: false })[0]!.ok).toBe(false);
  });
});
