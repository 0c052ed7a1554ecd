/**
 * The alert path of a scratch pair, as the stack runs it but on free ports in the pair's folder: Debian's Prometheus
 * (probing the primary site's app and scraping the worker), Debian's Alertmanager, and the orchestrator's alert
 * receiver (client/alerts) starting the pair's failover on the worker's task queue, for the bench and the alert
 * end-to-end test. Timings: the stack's (STACK_ALERT_TIMINGS) unless given. After a move, `readings` gives when each
 * part of the path acted.
 */
import path from 'node:path';
import { freePort, waitFor } from '../../dev/stack/daemon';
import type { StackService } from '../../dev/stack/service';
import { alertReceiver } from '../../dev/stack/services/alert-receiver';
import {
  ensureAlertToken,
  STACK_ALERT_TIMINGS,
  type AlertTimings,
} from '../../dev/stack/services/alerting-settings';
import { alertmanager } from '../../dev/stack/services/alertmanager';
import { prometheus } from '../../dev/stack/services/prometheus';
import type { RunbookDocument, ScratchDrPair } from './scratch-dr-pair';
import { temporalAddress } from './worker-process';

/** The alert the primary site's death raises (deploy/compose/prometheus/rules.yml). */
export const SITE_DOWN_ALERT = 'DrPrimarySiteDown';
const RECEIVER_TOKEN = 'alert-receiver/token';

/** The runbook's alerts section: the receiver on `port`, the site-down alert of the pair starting its failover. */
export function alertRules(port: number): (runbook: RunbookDocument) => void {
  return (runbook) => {
    runbook.alerts = {
      receiver: { listen: '127.0.0.1', port, token: `file:${RECEIVER_TOKEN}` },
      rules: [
        {
          name: 'primary-site-down',
          matchers: [`alertname="${SITE_DOWN_ALERT}"`, `pair="${runbook.pair}"`],
          action: 'failover',
        },
      ],
    };
  };
}

/** When each part of the alert path acted on the site-down alert (ms since the epoch). */
export interface AlertReadings {
  /** Prometheus' first evaluation that saw the probe fail (the alert's activeAt). */
  activeAt: number;
  /** When it fired, the `for` held (Alertmanager's startsAt of the alert: Prometheus sends its FiredAt). */
  firedAt: number;
  /** Alertmanager's mean webhook notification latency: the receiver's answer, the failover's start inside it. */
  receiverMs: number;
}

export interface AlertPath {
  /** The bearer token file the receiver checks and Alertmanager sends. */
  tokenFile: string;
  /** The receiver's log. */
  receiverLog: string;
  /** Prometheus' value of `query` (its first series), undefined when it has none. */
  promValue(query: string): Promise<string | undefined>;
  /** Resolves once Prometheus has scraped the primary site up and the worker. */
  watching(): Promise<void>;
  readings(): Promise<AlertReadings>;
  stop(): Promise<void>;
}

export interface AlertPorts {
  receiver: number;
  alertmanager: number;
  prometheus: number;
}

export async function alertPorts(): Promise<AlertPorts> {
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const [receiver, alertmanagerPort, prometheusPort] = ports as [number, number, number];
  return { receiver, alertmanager: alertmanagerPort, prometheus: prometheusPort };
}

/** Starts the alert path of `pair` (whose runbook has `alertRules(ports.receiver)`), its worker on `taskQueue`. */
export async function startAlertPath(
  pair: ScratchDrPair,
  ports: AlertPorts,
  worker: { taskQueue: string; metricsPort: number },
  log: (line: string) => void,
  timings: AlertTimings = STACK_ALERT_TIMINGS,
): Promise<AlertPath> {
  const tokenFile = ensureAlertToken(path.join(pair.dir, RECEIVER_TOKEN));
  const dir = (name: string) => path.join(pair.dir, name);
  const services: StackService[] = [
    alertReceiver(log, () => ({
      port: ports.receiver,
      runbooks: pair.runbookPath,
      tokenFile,
      env: { TEMPORAL_ADDRESS: temporalAddress(), DR_TASK_QUEUE: worker.taskQueue },
      dir: dir('alert-receiver'),
    })),
    alertmanager(log, () => ({
      port: ports.alertmanager,
      receiver: `http://127.0.0.1:${ports.receiver}`,
      tokenFile,
      timings,
      dir: dir('alertmanager'),
    })),
    prometheus(log, () => ({
      port: ports.prometheus,
      pair: pair.pair,
      primarySite: { site: 'gra', address: new URL(pair.appUrl('gra')).host },
      workers: [`127.0.0.1:${worker.metricsPort}`],
      alertmanager: `127.0.0.1:${ports.alertmanager}`,
      timings,
      dir: dir('prometheus'),
    })),
  ];
  const started: StackService[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.down().catch(() => undefined);
  };
  try {
    for (const service of services) {
      started.push(service);
      await service.up();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const prom = `http://127.0.0.1:${ports.prometheus}`;
  const am = `http://127.0.0.1:${ports.alertmanager}`;
  return {
    tokenFile,
    receiverLog: path.join(dir('alert-receiver'), 'alert-receiver.log'),
    promValue: (query) => promValue(prom, query),
    watching: () =>
      waitFor(
        'Prometheus scrapes the primary site up',
        async () => (await promValue(prom, `up{job="dr-primary-site",pair="${pair.pair}"}`)) === '1',
        30_000,
      ),
    readings: () => readings(prom, am, pair.pair),
    stop,
  };
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Prometheus' value of `query` (its first series), undefined when it has none. */
async function promValue(prom: string, query: string): Promise<string | undefined> {
  const body = await getJson<{ data: { result: { value: [number, string] }[] } }>(
    `${prom}/api/v1/query?query=${encodeURIComponent(query)}`,
  ).catch(() => undefined);
  return body?.data.result[0]?.value[1];
}

/**
 * Prometheus' HTTP API (`/api/v1/alerts`: each active alert's activeAt), Alertmanager's (`/api/v2/alerts`: startsAt)
 * and its own metrics (`alertmanager_notification_latency_seconds`, per integration).
 */
async function readings(prom: string, am: string, pair: string): Promise<AlertReadings> {
  const ours = (labels: Record<string, string>) =>
    labels.alertname === SITE_DOWN_ALERT && labels.pair === pair;
  const active = await getJson<{ data: { alerts: { labels: Record<string, string>; activeAt: string }[] } }>(
    `${prom}/api/v1/alerts`,
  );
  const activeAt = active.data.alerts.find((a) => ours(a.labels))?.activeAt;
  const held = await getJson<{ labels: Record<string, string>; startsAt: string }[]>(`${am}/api/v2/alerts`);
  const firedAt = held.find((a) => ours(a.labels))?.startsAt;
  if (!activeAt || !firedAt)
    throw new Error(
      `alert path: ${SITE_DOWN_ALERT} of ${pair} is not active in Prometheus (${activeAt ?? 'missing'}) or not held by Alertmanager (${firedAt ?? 'missing'})`,
    );
  const metrics = await (await fetch(`${am}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const metric = (name: string) =>
    Number(new RegExp(`^${name}\\{[^}]*integration="webhook"[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
  const sum = metric('alertmanager_notification_latency_seconds_sum');
  const count = metric('alertmanager_notification_latency_seconds_count');
  return {
    activeAt: Date.parse(activeAt),
    firedAt: Date.parse(firedAt),
    receiverMs: count > 0 ? Math.round((sum / count) * 1000) : NaN,
  };
}
