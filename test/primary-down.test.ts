/**
 * The pure judgement of unplanned detection (workflows/checks/primary-down.ts): each system of the primary site is
 * judged by the worker and by its own witnesses only, and the site needs a failover when a critical system is down
 * in each of the last `fall` rounds.
 */
import { describe, expect, it } from 'vitest';
import { judgePrimaryDown, roundSummary } from '../workflows/checks/primary-down';
import type { System } from '../workflows/definitions';
import type { Observation } from '../workflows/systems/system';

const ALL: System[] = ['mysql', 'elasticsearch', 'apps', 'traffic'];

/** What a system's vantages say in one round: both up, both down, the worker alone down, or one of them silent. */
type Seen = 'up' | 'down' | 'worker-only' | 'no-witness' | 'no-worker';

/** The vantages each system has in a scratch pair: the worker's, and the witnesses of that same system. */
const VANTAGES: Record<System, { worker: string[]; witnesses: string[] }> = {
  mysql: { worker: ['worker → db-gra-1'], witnesses: ['db-rbx-1 IO thread', 'db-rbx-2 IO thread'] },
  elasticsearch: { worker: ['worker → ES gra'], witnesses: ['ES rbx → gra'] },
  apps: { worker: ['worker → app app-gra-1'], witnesses: ['HAProxy health check of gra'] },
  traffic: { worker: ['worker → entry point'], witnesses: ['HAProxy health check of gra'] },
  // A managed database restored from backup observes nothing of the primary site (not a detection witness).
  'ovh-database': { worker: [], witnesses: [] },
  redis: { worker: ['worker → redis-gra'], witnesses: ['redis-rbx link'] },
  postgresql: { worker: ['worker → pg-gra'], witnesses: ['pg-rbx WAL receiver'] },
};

function observations(system: System, seen: Seen): Observation[] {
  const { worker, witnesses } = VANTAGES[system];
  const workerDown = seen === 'no-worker' ? undefined : seen !== 'up';
  const witnessDown =
    seen === 'no-witness'
      ? undefined
      : seen === 'worker-only'
        ? false
        : seen === 'no-worker' || seen === 'down';
  const say = (vantage: string, down: boolean | undefined) =>
    down === undefined
      ? `${vantage} cannot tell.`
      : down
        ? `${vantage} sees ${system} down.`
        : `${vantage} sees ${system} up.`;
  return [
    ...worker.map((vantage) => ({
      system,
      vantage,
      kind: 'worker' as const,
      down: workerDown,
      sentence: say(vantage, workerDown),
    })),
    ...witnesses.map((vantage) => ({
      system,
      vantage,
      kind: 'peer' as const,
      down: witnessDown,
      sentence: say(vantage, witnessDown),
    })),
  ];
}

/** One round: every system up except those given. */
const round = (states: Partial<Record<System, Seen>> = {}): Observation[] =>
  ALL.flatMap((system) => observations(system, states[system] ?? 'up'));

const rounds = (n: number, states: Partial<Record<System, Seen>>) =>
  Array.from({ length: n }, () => round(states));

describe('judgePrimaryDown: each system judged by its own witnesses', () => {
  describe.each(ALL)('only %s of the primary site fails', (system) => {
    const others = ALL.filter((s) => s !== system);

    it('critical: the site needs a failover, and the sentence names the system and its witnesses', () => {
      const verdict = judgePrimaryDown(rounds(3, { [system]: 'down' }), 3, ALL);
      expect(verdict).toMatchObject({ down: true, workerOnly: false, failed: [system] });
      expect(verdict.sentence).toMatch(
        new RegExp(
          `^primary site down: ${system} down for the worker and for its own witnesses, in 3 rounds in a row\\.`,
        ),
      );
      for (const vantage of [...VANTAGES[system].worker, ...VANTAGES[system].witnesses])
        expect(verdict.sentence).toContain(`${vantage} sees ${system} down`);
      for (const other of others) expect(verdict.sentence).toContain(`${other} up: `);
      expect(verdict.systems?.map((v) => [v.system, v.state])).toEqual(
        ALL.map((s) => [s, s === system ? 'down' : 'up']),
      );
    });

    it('not critical: no failover, and the sentence says the runbook does not count it', () => {
      const verdict = judgePrimaryDown(rounds(3, { [system]: 'down' }), 3, others);
      expect(verdict).toMatchObject({ down: false, workerOnly: false, failed: [] });
      expect(verdict.sentence).toMatch(
        new RegExp(
          `^${system} down, but the runbook does not count it as critical \\(detection\\.critical: ${others.join(', ')}\\)\\.`,
        ),
      );
      expect(verdict.sentence).toContain(`${system} (not critical) down: `);
    });

    it("the worker's path to it cut while its own witnesses still reach it: no failover, the worker's path", () => {
      const verdict = judgePrimaryDown(rounds(3, { [system]: 'worker-only' }), 3, ALL);
      expect(verdict).toMatchObject({ down: false, workerOnly: true });
      const { worker, witnesses } = VANTAGES[system];
      expect(verdict.sentence).toBe(
        `the worker cannot reach ${system} of the primary site (${worker.join(', ')}), but its own witnesses still do (${witnesses.join(', ')}): this is a problem of the worker's path, not a failover. ` +
          [system, ...others].map((s) => verdict.systems!.find((v) => v.system === s)!.sentence).join(' '),
      );
    });

    it('no witness of it could tell: it cannot be judged, and the worker alone does not decide', () => {
      const verdict = judgePrimaryDown(rounds(3, { [system]: 'no-witness' }), 3, [system]);
      expect(verdict).toMatchObject({ down: false, workerOnly: false });
      expect(verdict.systems?.find((v) => v.system === system)?.state).toBe('unknown');
      expect(verdict.sentence).toMatch(
        new RegExp(
          `^cannot judge the primary site: no critical system could be judged\\. ${system} cannot be judged \\(no witness of it could tell\\): `,
        ),
      );
    });
  });

  it('MySQL down while Elasticsearch is up: MySQL fails over (a witness of ES says nothing of MySQL)', () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'down' }), 2, ALL);
    expect(verdict).toMatchObject({ down: true, failed: ['mysql'] });
    expect(verdict.sentence).toContain(
      'elasticsearch up: worker → ES gra sees elasticsearch up; ES rbx → gra sees elasticsearch up.',
    );
  });

  it("a system down wins over another system's worker-only path", () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'worker-only', elasticsearch: 'down' }), 2, ALL);
    expect(verdict).toMatchObject({ down: true, workerOnly: false, failed: ['elasticsearch'] });
    expect(verdict.sentence).toContain('mysql unreachable from the worker only: ');
  });

  it('several critical systems down: all named', () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'down', apps: 'down', traffic: 'down' }), 2, ALL);
    expect(verdict.failed).toEqual(['mysql', 'apps', 'traffic']);
    expect(verdict.sentence).toMatch(
      /^primary site down: mysql, apps and traffic down for the worker and for their own witnesses/,
    );
  });

  it('the worker could not tell: the system cannot be judged', () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'no-worker' }), 2, ['mysql']);
    expect(verdict.down).toBe(false);
    expect(verdict.sentence).toContain('mysql cannot be judged (the worker could not tell): ');
  });

  it('a critical system that cannot be judged does not hide another that is down', () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'down', traffic: 'no-witness' }), 2, ALL);
    expect(verdict).toMatchObject({ down: true, failed: ['mysql'] });
    expect(verdict.systems?.find((v) => v.system === 'traffic')?.state).toBe('unknown');
  });

  it('a critical system nothing observed cannot be judged', () => {
    const verdict = judgePrimaryDown([observations('mysql', 'up')], 1, ['mysql', 'traffic']);
    expect(verdict.down).toBe(false);
    expect(verdict.sentence).toBe(
      'the primary site is up. traffic cannot be judged (the worker could not tell): nothing observed it. mysql up: worker → db-gra-1 sees mysql up; db-rbx-1 IO thread sees mysql up; db-rbx-2 IO thread sees mysql up.',
    );
  });

  it('the worker up while a witness says down (a broken replica): not down', () => {
    const broken = round().map((o) => (o.vantage === 'db-rbx-2 IO thread' ? { ...o, down: true } : o));
    const verdict = judgePrimaryDown([broken, broken], 2, ALL);
    expect(verdict).toMatchObject({ down: false, workerOnly: false });
    expect(verdict.sentence).toMatch(/^the primary site is up\. /);
  });

  it('fewer rounds than `fall`: not down yet', () => {
    const verdict = judgePrimaryDown(rounds(2, { mysql: 'down' }), 3, ALL);
    expect(verdict).toMatchObject({ down: false, workerOnly: false });
    expect(verdict.sentence).toMatch(/^only 2 of 3 rounds observed\. mysql down: /);
  });

  it('a system down in some rounds only: not down', () => {
    const verdict = judgePrimaryDown([round({ mysql: 'down' }), round(), round({ mysql: 'down' })], 3, ALL);
    expect(verdict.down).toBe(false);
    expect(verdict.sentence).toMatch(
      /^mysql down in the last round, but no critical system was down in each of the 3 rounds observed\./,
    );
  });

  it('two systems down in turn, neither in every round: not down', () => {
    const verdict = judgePrimaryDown([round({ elasticsearch: 'down' }), round({ mysql: 'down' })], 2, ALL);
    expect(verdict.down).toBe(false);
  });

  it('only the last `fall` rounds count', () => {
    const verdict = judgePrimaryDown([round(), ...rounds(2, { mysql: 'down' })], 2, ALL);
    expect(verdict).toMatchObject({ down: true, failed: ['mysql'] });
  });

  it('summarises a round in a few words, critical systems first', () => {
    const verdict = judgePrimaryDown(
      [round({ mysql: 'down', apps: 'worker-only', traffic: 'no-witness' })],
      1,
      ['mysql', 'elasticsearch'],
    );
    expect(roundSummary(verdict.systems!)).toBe(
      'mysql down, elasticsearch up, apps (not critical) unreachable from the worker only, traffic (not critical) cannot be judged',
    );
  });
});
