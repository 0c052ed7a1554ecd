import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { appUrl, getJson, scratchApp } from './helpers/apps-traffic';

/** The sample Perl app (dev/perl-app) as the stack runs it: gra on the primary, rbx on the read-only replica. */
describe('sample Perl app', () => {
  it('writes and reads orders on the primary site, naming the site in every answer', async () => {
    const ref = randomUUID();
    const created = await getJson(appUrl('gra', '/orders'), {
      method: 'POST',
      body: JSON.stringify({ item: 'book', quantity: 2, client_ref: ref }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      item: 'book',
      quantity: 2,
      client_ref: ref,
      site: 'gra',
      written_at_site: 'gra',
    });
    const id = created.body.id as number;
    expect(await getJson(appUrl('gra', `/orders/${id}`))).toEqual({ status: 200, body: created.body });
    // A retried POST with the same client_ref returns the order it created, not a second one.
    const retried = await getJson(appUrl('gra', '/orders'), {
      method: 'POST',
      body: JSON.stringify({ item: 'book', quantity: 2, client_ref: ref }),
    });
    expect(retried).toEqual({ status: 200, body: created.body });
    expect(await getJson(appUrl('gra', '/orders/999999999'))).toEqual({
      status: 404,
      body: { error: 'order not found', id: 999999999, site: 'gra' },
    });
    expect(await getJson(appUrl('gra', '/orders'), { method: 'POST', body: '{"quantity":1}' })).toEqual({
      status: 400,
      body: { error: 'a JSON body with a non-empty "item" is required', site: 'gra' },
    });
  });

  it('is healthy on the read-only replica but refuses writes there', async () => {
    expect(await getJson(appUrl('rbx'))).toEqual({
      status: 200,
      body: { status: 'ok', site: 'rbx', db: 'ok', db_read_only: true },
    });
    expect(await getJson(appUrl('rbx', '/orders'), { method: 'POST', body: '{"item":"x"}' })).toEqual({
      status: 503,
      body: { error: 'database is read-only', site: 'rbx' },
    });
  });

  it('answers 503 naming its site when its database is unreachable (its /metrics says so); appctl start/stop are idempotent', async () => {
    const { appctl, port } = await scratchApp('sbg', 1);
    try {
      expect(await appctl('start')).toMatch(
        new RegExp(`^app sbg started \\(pid \\d+, http://127.0.0.1:${port}\\)$`),
      );
      expect(await appctl('start')).toMatch(/^app sbg already running \(pid \d+\)$/);
      const health = await getJson(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'fail', site: 'sbg' });
      expect(String(health.body.db)).toMatch(/^error: .*Can't connect/);
      // Prometheus' probe of the site: the app answers, its database does not.
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await metrics.text()).toMatch(
        /^# TYPE dr_app_database_up gauge\ndr_app_database_up\{app_site="sbg"\} 0\n$/m,
      );
      const write = await getJson(`http://127.0.0.1:${port}/orders`, {
        method: 'POST',
        body: '{"item":"x"}',
      });
      expect(write.status).toBe(503);
      expect(write.body.site).toBe('sbg');
    } finally {
      expect(await appctl('stop')).toMatch(/^app sbg stopped \(was pid \d+\)$/);
    }
    expect(await appctl('stop')).toBe('app sbg already stopped');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });
});
