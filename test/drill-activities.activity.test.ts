/**
 * The drill's activities: system access against the shared local stack (read-only), the report files, and the
 * writer against an in-process application that answers like the sample app (site named, some writes refused).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, createClients, type ActivityClients } from '../activities';
import { runDrillWriter } from '../activities/drills/writer';
import type { DrillReport } from '../common/drill-report';
import { DEFAULT_LOCAL_RUNBOOK, loadRunbooks } from '../config/load';
import { activityEnvironment, LOCAL_PAIR, localRunbooks, runActivity } from './helpers/local-stack';
import { takeTurns } from './helpers/turns';

// Reads the shared local pair as the stack leaves it: never while a file changes it.
takeTurns('local-pair', 'shared');

describe('drillSystemAccess on the local stack', () => {
  let clients: ActivityClients;
  const env = activityEnvironment();
  beforeAll(() => {
    clients = createClients(localRunbooks());
  });
  afterAll(async () => clients?.close());

  it('checks every endpoint of the runbook with its credentials, one check each', async () => {
    const checks = await runActivity(env, createActivities(clients).drillSystemAccess, { pair: LOCAL_PAIR });
    expect(checks.map((c) => c.name)).toEqual([
      'access.mysql.db-gra-1',
      'access.mysql.db-rbx-1',
      'access.mysql.db-rbx-2',
      'access.elasticsearch.gra',
      'access.elasticsearch.rbx',
      'access.traffic.haproxy',
      'access.apps.app-gra-1.ssh',
      'access.apps.app-gra-1.health',
      'access.apps.app-rbx-1.ssh',
      'access.apps.app-rbx-1.health',
    ]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks[0]!.sentence).toMatch(
      /^access\.mysql\.db-gra-1: dr_orchestrator logs in to db-gra-1 \(10\./,
    );
  });

  it('reports refused credentials as failed checks, without the password', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-runbook-'));
    const doc = parse(readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8')) as { mysql: { password: string } };
    doc.mysql.password = 'env:DR_TEST_DRILL_WRONG_PASSWORD';
    writeFileSync(path.join(dir, 'runbook.yaml'), stringify(doc));
    process.env.DR_TEST_DRILL_WRONG_PASSWORD = 'drill-wrong-password-4711';
    const broken = createClients(loadRunbooks([path.join(dir, 'runbook.yaml')]));
    try {
      const checks = await runActivity(env, createActivities(broken).drillSystemAccess, { pair: LOCAL_PAIR });
      const mysql = checks.filter((c) => c.name.startsWith('access.mysql.'));
      expect(mysql.map((c) => c.ok)).toEqual([false, false, false]);
      expect(mysql[0]!.sentence).toMatch(/Access denied for user 'dr_orchestrator'/);
      expect(JSON.stringify(checks)).not.toContain('drill-wrong-password-4711');
    } finally {
      delete process.env.DR_TEST_DRILL_WRONG_PASSWORD;
      await broken.close();
    }
  });
});

describe('drillWriteReport', () => {
  const env = activityEnvironment();

  it('writes the JSON, Markdown and SVG files to the runbook folder, and says when there is none', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'drill-reports-'));
    const doc = parse(readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8')) as { drills: { reports: string } };
    doc.drills.reports = 'out';
    writeFileSync(path.join(dir, 'runbook.yaml'), stringify(doc));
    const clients = createClients(loadRunbooks([path.join(dir, 'runbook.yaml')]));
    const report: DrillReport = {
      pair: LOCAL_PAIR,
      workflowId: 'drill-local-readiness-2026-12-07T12:00:00Z',
      mode: 'readiness',
      trigger: 'test',
      requestedBy: 'tester',
      startedAt: '2026-12-07T12:00:00.000Z',
      finishedAt: '2026-12-07T12:00:02.000Z',
      outcome: 'passed',
      sentence: 'passed.',
      checks: [{ name: 'traffic.target', ok: true, sentence: 'gra serves.' }],
      lags: { mysql: [], elasticsearch: [] },
      expectedRto: { boundMs: 1000, sentence: 'soon.', parts: [] },
      steps: [],
      decisions: [],
    };
    try {
      const written = await runActivity(env, createActivities(clients).drillWriteReport, {
        pair: LOCAL_PAIR,
        report,
      });
      const base = path.join(dir, 'out', 'drill-local-readiness-2026-12-07T12_00_00Z');
      expect(written.files).toEqual({ json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` });
      expect(JSON.parse(readFileSync(`${base}.json`, 'utf8'))).toEqual({ ...report, files: written.files });
      expect(readFileSync(`${base}.md`, 'utf8')).toContain('| ok | traffic.target | gra serves. |');
      expect(readFileSync(`${base}.svg`, 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    } finally {
      await clients.close();
    }
    const without = parse(readFileSync(DEFAULT_LOCAL_RUNBOOK, 'utf8')) as { drills?: unknown };
    delete without.drills;
    writeFileSync(path.join(dir, 'plain.yaml'), stringify(without));
    const plain = createClients(loadRunbooks([path.join(dir, 'plain.yaml')]));
    try {
      const skipped = await runActivity(env, createActivities(plain).drillWriteReport, {
        pair: LOCAL_PAIR,
        report,
      });
      expect(skipped).toMatchObject({
        written: false,
        description: 'no report files: the runbook of local has no drills.reports folder.',
      });
    } finally {
      await plain.close();
    }
  });
});

describe('the drill writer', () => {
  let server: http.Server;
  let url: string;
  /** Which site answers now; `null`: writes are refused as on a read-only database. */
  let site: string | null = 'gra';
  const stored = new Set<string>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (site === null) {
          res.statusCode = 503;
          res.end(JSON.stringify({ site: 'gra', error: 'database is read-only' }));
          return;
        }
        stored.add(String((JSON.parse(body) as { client_ref: string }).client_ref));
        res.statusCode = 201;
        res.end(JSON.stringify({ site }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('writes until the writes moved to the site, counting acknowledged, refused and the longest stretch without one', async () => {
    site = 'gra';
    const moves = setTimeout(() => (site = null), 300);
    const back = setTimeout(() => (site = 'rbx'), 700);
    const result = await runDrillWriter({
      url,
      ratePerSecond: 50,
      runId: 'drill-test',
      stopWhen: { site: 'rbx', inARow: 5 },
      maxMs: 10_000,
      signal: new AbortController().signal,
      heartbeat: () => undefined,
    });
    clearTimeout(moves);
    clearTimeout(back);
    expect(result.stoppedBecause).toBe('moved');
    expect(result.bySite.gra).toBeGreaterThan(0);
    expect(result.bySite.rbx).toBeGreaterThanOrEqual(5);
    expect(result.failed).toBeGreaterThan(0);
    expect(result.acknowledged + result.failed + result.unknown).toBe(result.attempted);
    expect(result.writeOutageMs).toBeGreaterThanOrEqual(300);
    const acknowledged = result.acknowledgedRanges.flatMap(([a, b]) =>
      Array.from({ length: b - a + 1 }, (_, i) => `drill-test:${a + i}`),
    );
    expect(acknowledged).toHaveLength(result.acknowledged);
    expect(acknowledged.filter((ref) => !stored.has(ref))).toEqual([]);
  });

  it('stops at its time limit when the writes never move, and at once when cancelled', async () => {
    site = 'gra';
    const limited = await runDrillWriter({
      url,
      ratePerSecond: 20,
      runId: 'drill-limit',
      stopWhen: { site: 'rbx', inARow: 5 },
      maxMs: 1000,
      signal: new AbortController().signal,
      heartbeat: () => undefined,
    });
    expect(limited.stoppedBecause).toBe('max-time');
    expect(limited.description).toMatch(/stopped after 1 s without the writes moving to rbx\.$/);
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('cancelled by the test')), 200);
    await expect(
      runDrillWriter({
        url,
        ratePerSecond: 20,
        runId: 'drill-cancel',
        stopWhen: { site: 'rbx', inARow: 5 },
        maxMs: 60_000,
        signal: cancel.signal,
        heartbeat: () => undefined,
      }),
    ).rejects.toThrow('cancelled by the test');
  });
});
