import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stackDir } from '../settings';

/**
 * How fast the stack's alerting reacts: Prometheus' scrape and rule evaluation, how long an alert condition must hold
 * (`for`, written over the rules' own), and Alertmanager's grouping (group_wait before the first notification of a
 * group, group_interval between its updates, repeat_interval before it is sent again unchanged).
 */
export interface AlertTimings {
  scrapeInterval: string;
  evaluationInterval: string;
  /** Over every rule's `for`; absent: the rules' own. */
  alertFor?: string;
  groupWait: string;
  groupInterval: string;
  repeatInterval: string;
}

/**
 * The local stack's: an outage of the primary site reaches the receiver within about 15 s (two-second scrapes, the
 * condition held 10 s, two seconds of grouping), so that the demo tells its story in minutes.
 */
export const STACK_ALERT_TIMINGS: AlertTimings = {
  scrapeInterval: '2s',
  evaluationInterval: '2s',
  alertFor: '10s',
  groupWait: '2s',
  groupInterval: '30s',
  repeatInterval: '4h',
};

/** Where the receiver's bearer token lives in the stack: config/runbooks/local.yaml and Alertmanager both read it. */
export function alertTokenFile(dir: string = path.join(stackDir(), 'alert-receiver')): string {
  return path.join(dir, 'token');
}

/** Makes the receiver's bearer token once (random, mode 600, in a folder of mode 700); kept when it exists. */
export function ensureAlertToken(file: string = alertTokenFile()): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  chmodSync(path.dirname(file), 0o700);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile by the other service
    }
  }
  chmodSync(file, 0o600);
  return file;
}
