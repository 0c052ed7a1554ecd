import { esEmulator } from './services/es-emulator';
import { mariadbPair } from './services/mariadb';
import { ovhEmulator } from './services/ovh-emulator';
import { haproxy } from './services/haproxy';
import { perlApps } from './services/perl-app';
import { sshServer } from './services/sshd';
import { webhookReceiver } from './services/webhook-receiver';
import { temporalServer } from './services/temporal-server';
import { orchestratorWorkers, STACK_WORKERS } from './services/worker';
import { alertReceiver } from './services/alert-receiver';
import { alertmanager } from './services/alertmanager';
import { prometheus } from './services/prometheus';
import { ensureApproverKey } from './approval-key';
import { allSettledOrThrow } from './daemon';
import { runningStackRuns, stackPairs } from './running-moves';
import type { ServiceStatus, StackService } from './service';

export type Log = (line: string) => void;

/** The services of the local stack, in start order (see STARTS_AFTER for what may start side by side). */
export function stackServices(log: Log): StackService[] {
  return [
    temporalServer(log),
    mariadbPair(log),
    esEmulator(log),
    perlApps(log),
    haproxy(log),
    sshServer(log),
    webhookReceiver(log),
    // Before the workers, which trust its CA (created at its first start).
    ovhEmulator(log),
    ...orchestratorWorkers(log),
    alertReceiver(log),
    alertmanager(log),
    prometheus(log),
  ];
}

/**
 * What each service needs running before it starts; the others start at once, side by side. The applications
 * connect to MariaDB at start, HAProxy checks the applications, and each worker needs Temporal and trusts the OVH
 * emulator's CA (created at its first start).
 */
const STARTS_AFTER: Record<string, string[]> = {
  'perl-app': ['mariadb'],
  haproxy: ['perl-app'],
  ...Object.fromEntries(STACK_WORKERS.map((w) => [w.name, ['temporal', 'ovh-emulator']])),
  // Alerts flow Prometheus → Alertmanager → receiver: each starts once the one it sends to listens.
  alertmanager: ['alert-receiver'],
  prometheus: ['alertmanager'],
};

/**
 * Runs `act` once on every service, each after `act` has ended (failed or not) on the services `first` names for
 * it, the others side by side; then throws the first failure.
 */
async function inDependencyOrder(
  services: StackService[],
  first: (service: StackService) => StackService[],
  act: (service: StackService) => Promise<void>,
): Promise<void> {
  const done = new Map<string, Promise<void>>();
  const run = (service: StackService): Promise<void> => {
    let running = done.get(service.name);
    if (!running) {
      running = Promise.allSettled(first(service).map(run)).then(() => act(service));
      done.set(service.name, running);
    }
    return running;
  };
  await allSettledOrThrow(services.map(run));
}

/**
 * Starts every service not running yet, each as soon as those it needs are up (a service whose needs failed is
 * not started). When one fails, the others still finish starting (nothing is left half-started), then the first
 * failure is thrown.
 */
export async function stackUp(log: Log): Promise<ServiceStatus[]> {
  // The local runbooks' approvers: read by each run, so made before anything can start one.
  const approval = await ensureApproverKey();
  log(`approval: sign answers as oncall with ${approval.privateKey}`);
  const services = stackServices(log);
  const needs = (service: StackService) =>
    (STARTS_AFTER[service.name] ?? []).map((name) => {
      const needed = services.find((s) => s.name === name);
      if (!needed) throw new Error(`stack: ${service.name} starts after "${name}", which is not a service`);
      return needed;
    });
  const started = new Set<string>();
  await inDependencyOrder(services, needs, async (service) => {
    const missing = needs(service).filter((s) => !started.has(s.name));
    if (missing.length > 0)
      throw new Error(`${service.name} not started: ${missing.map((s) => s.name).join(', ')} did not start`);
    log(`starting ${service.name}`);
    await service.up();
    started.add(service.name);
  });
  return Promise.all(services.map((s) => s.status()));
}

export async function stackStatus(log: Log): Promise<ServiceStatus[]> {
  return Promise.all(stackServices(log).map((s) => s.status()));
}

/** Stops each service once those that need it (STARTS_AFTER) have stopped; the others side by side. */
export async function stackDown(log: Log): Promise<void> {
  const services = stackServices(log);
  const neededBy = (service: StackService) =>
    services.filter((s) => (STARTS_AFTER[s.name] ?? []).includes(service.name));
  await inDependencyOrder(services, neededBy, async (service) => {
    await service.down();
    log(`stopped ${service.name}`);
  });
}

/**
 * Returns the local stack to its initial topology: db-gra-1 primary with the rbx servers its replicas, traffic on
 * gra, the Elasticsearch pair as seeded. Refuses while a run of a stack pair is running (it would resume against
 * the new servers); otherwise stops everything, deletes the state a move leaves (MariaDB data, HAProxy's saved
 * server states, the emulators' saved state), and starts everything again.
 */
export async function stackReset(log: Log): Promise<ServiceStatus[]> {
  const temporal = temporalServer(log);
  await temporal.up();
  const running = await runningStackRuns(stackPairs());
  if (running.length > 0)
    throw new Error(
      `not resetting: ${running.join(', ')} still running; let ${running.length > 1 ? 'them' : 'it'} finish, or ` +
        `cancel ${running.length > 1 ? 'them' : 'it'} (temporal workflow cancel --workflow-id <id>), then reset`,
    );
  await stackDown(log);
  for (const service of stackServices(log)) {
    if (!service.forget) continue;
    await service.forget();
    log(`reset ${service.name}`);
  }
  return stackUp(log);
}

export function formatStatus(statuses: ServiceStatus[]): string {
  return statuses
    .map((s) => {
      const state = s.running ? `up (pid ${s.pids.join(', ')})` : 'down';
      return `${s.name.padEnd(14)} ${state.padEnd(24)} ${s.endpoints.join('  ')}${s.detail ? `\n${' '.repeat(15)}${s.detail}` : ''}`;
    })
    .join('\n');
}
