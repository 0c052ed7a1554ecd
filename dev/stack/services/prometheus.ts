import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import { assertPortsFree, logFile, runningPid, startDaemon, stopDaemon, waitForDaemon } from '../daemon';
import { REPO_ROOT, stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import { STACK_ALERT_TIMINGS, type AlertTimings } from './alerting-settings';
import { STACK_WORKERS } from './worker';

/** The alert rules, one file for the stack and compose (deploy/compose/prometheus/rules.yml). */
export const ALERT_RULES = path.join(REPO_ROOT, 'deploy', 'compose', 'prometheus', 'rules.yml');

/** What Prometheus watches: the workers' metrics, and the primary site's app (its /metrics path) as the pair's probe. */
export interface PrometheusTargets {
  port: number;
  pair: string;
  /** The primary site's name and its app's host:port. */
  primarySite: { site: string; address: string };
  /** Each worker's metrics, host:port (one job, `dr-worker`, as compose scrapes its two). */
  workers: string[];
  /** Alertmanager's host:port. */
  alertmanager: string;
  timings: AlertTimings;
  /** Holds its configuration, rules, data and log. */
  dir: string;
}

/** The local stack's: the local pair's primary app (gra) and the stack's workers and Alertmanager. */
export function stackPrometheusTargets(): PrometheusTargets {
  return {
    port: stackPort('PROMETHEUS'),
    pair: 'local',
    primarySite: { site: 'gra', address: `127.0.0.1:${stackPort('APP_GRA')}` },
    workers: STACK_WORKERS.map((w) => `127.0.0.1:${stackPort(w.metricsPort)}`),
    alertmanager: `127.0.0.1:${stackPort('ALERTMANAGER')}`,
    timings: STACK_ALERT_TIMINGS,
    dir: path.join(stackDir(), 'prometheus'),
  };
}

/**
 * The rules file Prometheus loads: ALERT_RULES as it is, or with every rule's `for` replaced (shorter timings, for
 * tests). Prometheus' own rule format (prometheus.io/docs: "Alerting rules").
 */
function writeRules(t: PrometheusTargets): string {
  const file = path.join(t.dir, 'rules.yml');
  const rules = parse(readFileSync(ALERT_RULES, 'utf8')) as { groups: { rules: { for?: string }[] }[] };
  if (t.timings.alertFor !== undefined)
    for (const group of rules.groups) for (const rule of group.rules) rule.for = t.timings.alertFor;
  writeFileSync(file, stringify(rules));
  return file;
}

/**
 * Prometheus' configuration (prometheus.io/docs, "Configuration"): two scrape jobs whose names the rules use,
 * `dr-worker` and `dr-primary-site`, the latter labelled with the pair and site so that its alerts name them.
 */
export function prometheusConfig(t: PrometheusTargets, rulesFile: string): string {
  return stringify({
    global: {
      scrape_interval: t.timings.scrapeInterval,
      scrape_timeout: t.timings.scrapeInterval,
      evaluation_interval: t.timings.evaluationInterval,
    },
    scrape_configs: [
      { job_name: 'dr-worker', static_configs: [{ targets: t.workers }] },
      {
        job_name: 'dr-primary-site',
        static_configs: [
          { targets: [t.primarySite.address], labels: { pair: t.pair, site: t.primarySite.site } },
        ],
      },
    ],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [t.alertmanager] }] }] },
    rule_files: [rulesFile],
  });
}

/** Debian's Prometheus, scraping the workers and the primary site and sending its alerts to the stack's Alertmanager. */
export function prometheus(
  log: (line: string) => void,
  targets: () => PrometheusTargets = stackPrometheusTargets,
): StackService {
  const spec = () => ({ name: 'prometheus', runDir: targets().dir });
  return {
    name: 'prometheus',
    async up() {
      if (runningPid(spec()) !== undefined) return;
      ensureDebianPackages(STACK_PACKAGES, log);
      const t = targets();
      await assertPortsFree('prometheus', [{ name: 'PROMETHEUS', port: t.port }]);
      await refuseProbeWithoutMetrics(t);
      mkdirSync(path.join(t.dir, 'data'), { recursive: true, mode: 0o700 });
      const config = path.join(t.dir, 'prometheus.yml');
      writeFileSync(config, prometheusConfig(t, writeRules(t)));
      startDaemon({
        ...spec(),
        command: '/usr/bin/prometheus',
        args: [
          `--config.file=${config}`,
          `--storage.tsdb.path=${path.join(t.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${t.port}`,
          '--storage.tsdb.retention.time=2d',
        ],
      });
      await waitForDaemon(spec(), 'prometheus', () => ready(`http://127.0.0.1:${t.port}/-/ready`), 60_000);
      log(
        `prometheus: scraping the workers and ${t.pair}'s primary site ${t.primarySite.site} (http://127.0.0.1:${t.port})`,
      );
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'prometheus',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`http://127.0.0.1:${targets().port}`],
        detail: `log ${logFile(spec())}`,
      };
    },
    async down() {
      await stopDaemon(spec());
    },
  };
}

/**
 * An app that answers but has no /metrics (started from a checkout older than its probe) would read as a primary site
 * down, and its alert would start a failover: refuse to start Prometheus until the apps run the current code.
 */
async function refuseProbeWithoutMetrics(t: PrometheusTargets): Promise<void> {
  let status: number;
  try {
    status = (await fetch(`http://${t.primarySite.address}/metrics`, { signal: AbortSignal.timeout(3000) }))
      .status;
  } catch {
    return; // down: an alert about it is right
  }
  if (status === 404)
    throw new Error(
      `prometheus: the app of ${t.pair}'s primary site ${t.primarySite.site} (${t.primarySite.address}) has no /metrics: it runs older code, and its probe would read as the site down and fire DrPrimarySiteDown; restart the apps (drctl stack down, then up) first`,
    );
}

/** Whether an HTTP GET answers 200 (Prometheus' and Alertmanager's /-/ready). */
export async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}
