/**
 * The local stack's alerting services (dev/stack/services/prometheus.ts, alertmanager.ts): their generated
 * configurations pass Prometheus' and Alertmanager's own checkers, the token never appears in them, and Prometheus
 * refuses to start on a primary app that has no /metrics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runningPid } from '../dev/stack/daemon';
import { ensureAlertToken, STACK_ALERT_TIMINGS } from '../dev/stack/services/alerting-settings';
import { alertmanagerConfig } from '../dev/stack/services/alertmanager';
import {
  ALERT_RULES,
  prometheus,
  prometheusConfig,
  stackPrometheusTargets,
} from '../dev/stack/services/prometheus';
import { withEnv } from './helpers/env';

const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-alerting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local stack alerting', () => {
  it("writes an Alertmanager configuration amtool accepts, with the receiver's token by file only", () => {
    const tokenFile = ensureAlertToken(path.join(dir, 'receiver', 'token'));
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(ensureAlertToken(tokenFile)).toBe(tokenFile);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token); // kept, not remade
    const file = path.join(dir, 'alertmanager.yml');
    const text = alertmanagerConfig({
      receiver: 'http://127.0.0.1:19095',
      tokenFile,
      timings: STACK_ALERT_TIMINGS,
    });
    writeFileSync(file, text);
    expect(text).not.toContain(token);
    expect(text).toContain(`credentials_file: ${tokenFile}`);
    expect(text).toContain('url: http://127.0.0.1:19095/alerts');
    const check = spawnSync('/usr/bin/amtool', ['check-config', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('writes a Prometheus configuration promtool accepts, with the rules it alerts on', () => {
    const rules = path.join(dir, 'rules.yml');
    writeFileSync(rules, readFileSync(ALERT_RULES, 'utf8'));
    const file = path.join(dir, 'prometheus.yml');
    writeFileSync(
      file,
      prometheusConfig(
        {
          port: 1,
          pair: 'local',
          primarySite: { site: 'gra', address: '127.0.0.1:18080' },
          workers: ['127.0.0.1:9464', '127.0.0.1:9465'],
          alertmanager: '127.0.0.1:19093',
          timings: STACK_ALERT_TIMINGS,
          dir,
        },
        rules,
      ),
    );
    const config = parse(readFileSync(file, 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    // Both workers in the one job the rules read (`up{job="dr-worker"}`), as compose scrapes its two.
    expect(config.scrape_configs.find((j) => j.job_name === 'dr-worker')?.static_configs).toEqual([
      { targets: ['127.0.0.1:9464', '127.0.0.1:9465'] },
    ]);
    const check = spawnSync('/usr/bin/promtool', ['check', 'config', file], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const count = (readFileSync(ALERT_RULES, 'utf8').match(/^\s+- alert: /gm) ?? []).length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(check.stdout).toContain(`SUCCESS: ${count} rules found`);
  });

  it("scrapes each of the stack's workers on its own metrics port", async () => {
    await withEnv(
      { DR_STACK_PORT_WORKER_METRICS: '21001', DR_STACK_PORT_WORKER_RBX_METRICS: '21002' },
      async () => {
        expect(stackPrometheusTargets().workers).toEqual(['127.0.0.1:21001', '127.0.0.1:21002']);
      },
    );
  });

  it('refuses to start Prometheus on a primary app without /metrics (older code), and starts nothing', async () => {
    const oldApp = http.createServer((_req, res) => res.writeHead(404).end('{"error":"not found"}'));
    await new Promise<void>((resolve) => oldApp.listen(0, '127.0.0.1', resolve));
    try {
      const address = `127.0.0.1:${(oldApp.address() as AddressInfo).port}`;
      const runDir = path.join(dir, 'prometheus');
      const service = prometheus(
        () => undefined,
        () => ({
          port: 0,
          pair: 'local',
          primarySite: { site: 'gra', address },
          workers: ['127.0.0.1:9464'],
          alertmanager: '127.0.0.1:19093',
          timings: STACK_ALERT_TIMINGS,
          dir: runDir,
        }),
      );
      // Port 0 is free for assertPortsFree; the refusal comes before anything starts.
      await expect(service.up()).rejects.toThrow(
        `prometheus: the app of local's primary site gra (${address}) has no /metrics: it runs older code, and its probe would read as the site down and fire DrPrimarySiteDown; restart the apps (drctl stack down, then up) first`,
      );
      expect(runningPid({ name: 'prometheus', runDir })).toBeUndefined();
    } finally {
      await new Promise((resolve) => oldApp.close(resolve));
    }
  });
});
