/** The public entry point's login sessions (the Perl app's POST /login and GET /session, kept in Redis), for e2e tests. */
import { expect } from 'vitest';
import type { ScratchDrPair } from './scratch-dr-pair';

export interface Login {
  at: number;
  user: string;
  outcome: 'acknowledged' | 'refused' | 'unknown';
  session?: string;
  site?: string;
}

/** Logs in through `frontend` (POST /login), a few at a time, until stopped; records every answer. */
export function sessionLoad(frontend: string) {
  const records: Login[] = [];
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      const user = `user-${++n}`;
      try {
        const res = await fetch(`${frontend}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json()) as { session?: string; site?: string };
        records.push(
          res.status === 201
            ? { at: Date.now(), user, outcome: 'acknowledged', session: body.session, site: body.site }
            : { at: Date.now(), user, outcome: 'refused', site: body.site },
        );
      } catch {
        records.push({ at: Date.now(), user, outcome: 'unknown' });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const workers = Array.from({ length: 4 }, () => worker());
  return {
    records,
    acknowledgedBy: (site: string, since = 0) =>
      records.filter((r) => r.outcome === 'acknowledged' && r.site === site && r.at >= since),
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

export async function login(pair: ScratchDrPair, user: string): Promise<string> {
  const res = await fetch(pair.frontendUrl('/login'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { session: string }).session;
}

/** What the entry point says of a session: valid or not, and which site answered. */
export async function sessionSeen(pair: ScratchDrPair, session: string) {
  const res = await fetch(pair.frontendUrl(`/session?session=${session}`));
  return { status: res.status, ...((await res.json()) as { valid?: boolean; user?: string; site?: string }) };
}

/** Every login acknowledged by the load is a session `site`'s Redis holds, for its user. */
export async function expectEveryAcknowledgedSessionOn(
  pair: ScratchDrPair,
  site: 'gra' | 'rbx',
  logins: Login[],
): Promise<void> {
  const redis = pair.redis!.client(site);
  const acknowledged = logins.filter((l) => l.outcome === 'acknowledged');
  const values = await redis.mget(...acknowledged.map((l) => `session:${l.session}`));
  const lost = acknowledged.filter((l, i) => values[i] !== l.user).map((l) => l.user);
  expect(lost).toEqual([]);
}
