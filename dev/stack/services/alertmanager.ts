import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { ALERTS_PATH } from '../../../client/alerts/path';
import { ensureDebianPackages, STACK_PACKAGES } from '../../tools/debian-packages';
import { assertPortsFree, logFile, runningPid, startDaemon, stopDaemon, waitForDaemon } from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import {
  alertTokenFile,
  ensureAlertToken,
  STACK_ALERT_TIMINGS,
  type AlertTimings,
} from './alerting-settings';
import { ready } from './prometheus';

export interface AlertmanagerTargets {
  port: number;
  /** The receiver's base URL (http://host:port); alerts are posted to its /alerts. */
  receiver: string;
  /** The file holding the receiver's bearer token. */
  tokenFile: string;
  timings: AlertTimings;
  dir: string;
}

export function stackAlertmanagerTargets(): AlertmanagerTargets {
  return {
    port: stackPort('ALERTMANAGER'),
    receiver: `http://127.0.0.1:${stackPort('ALERT_RECEIVER')}`,
    tokenFile: alertTokenFile(),
    timings: STACK_ALERT_TIMINGS,
    dir: path.join(stackDir(), 'alertmanager'),
  };
}

/**
 * Alertmanager's configuration (prometheus.io/docs/alerting/latest/configuration: route with child `routes` and
 * `matchers`, `<webhook_config>`, `<http_config>` authorization with credentials_file): the alerts labelled
 * `dr_receiver="orchestrator"` (the rules of the dr-primary-site group) to the orchestrator's receiver, resolved ones
 * too, grouped by alert and pair, with the bearer token read from its file (never written in this file); the others
 * (readiness, drills, replication: for people) to a receiver with no integration, where a deployment adds its pager.
 */
export function alertmanagerConfig(
  t: Pick<AlertmanagerTargets, 'receiver' | 'tokenFile' | 'timings'>,
): string {
  return stringify({
    route: {
      receiver: 'people',
      group_by: ['alertname', 'pair'],
      group_wait: t.timings.groupWait,
      group_interval: t.timings.groupInterval,
      repeat_interval: t.timings.repeatInterval,
      routes: [{ receiver: 'dr-orchestrator', matchers: ['dr_receiver="orchestrator"'] }],
    },
    receivers: [
      { name: 'people' },
      {
        name: 'dr-orchestrator',
        webhook_configs: [
          {
            url: `${t.receiver}${ALERTS_PATH}`,
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials_file: t.tokenFile } },
          },
        ],
      },
    ],
  });
}

/** Debian's Alertmanager (one instance, no cluster), notifying the orchestrator's receiver. */
export function alertmanager(
  log: (line: string) => void,
  targets: () => AlertmanagerTargets = stackAlertmanagerTargets,
): StackService {
  const spec = () => ({ name: 'alertmanager', runDir: targets().dir });
  return {
    name: 'alertmanager',
    async up() {
      if (runningPid(spec()) !== undefined) return;
      ensureDebianPackages(STACK_PACKAGES, log);
      const t = targets();
      await assertPortsFree('alertmanager', [{ name: 'ALERTMANAGER', port: t.port }]);
      mkdirSync(path.join(t.dir, 'data'), { recursive: true, mode: 0o700 });
      ensureAlertToken(t.tokenFile);
      const config = path.join(t.dir, 'alertmanager.yml');
      writeFileSync(config, alertmanagerConfig(t));
      startDaemon({
        ...spec(),
        command: '/usr/bin/prometheus-alertmanager',
        args: [
          `--config.file=${config}`,
          `--storage.path=${path.join(t.dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${t.port}`,
          // One instance: no gossip port (an empty address turns clustering off).
          '--cluster.listen-address=',
        ],
      });
      await waitForDaemon(spec(), 'alertmanager', () => ready(`http://127.0.0.1:${t.port}/-/ready`), 60_000);
      log(`alertmanager: notifying ${t.receiver}${ALERTS_PATH} (http://127.0.0.1:${t.port})`);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'alertmanager',
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
