import { esEmulator } from './services/es-emulator';
import { mariadbPair } from './services/mariadb';
import { ovhEmulator } from './services/ovh-emulator';
import { haproxy } from './services/haproxy';
import { perlApps } from './services/perl-app';
import { sshServer } from './services/sshd';
import { temporalServer } from './services/temporal-server';
import { orchestratorWorker } from './services/worker';
import type { ServiceStatus, StackService } from './service';

export type Log = (line: string) => void;

/** The services of the local stack, in start order. */
export function stackServices(log: Log): StackService[] {
  return [
    temporalServer(log),
    mariadbPair(log),
    esEmulator(log),
    perlApps(log),
    haproxy(log),
    sshServer(log),
    // Before the worker, which trusts its CA (created at its first start).
    ovhEmulator(log),
    orchestratorWorker(log),
  ];
}

export async function stackUp(log: Log): Promise<ServiceStatus[]> {
  const services = stackServices(log);
  for (const service of services) {
    log(`starting ${service.name}`);
    await service.up();
  }
  return Promise.all(services.map((s) => s.status()));
}

export async function stackStatus(log: Log): Promise<ServiceStatus[]> {
  return Promise.all(stackServices(log).map((s) => s.status()));
}

export async function stackDown(log: Log): Promise<void> {
  for (const service of stackServices(log).reverse()) {
    await service.down();
    log(`stopped ${service.name}`);
  }
}

export function formatStatus(statuses: ServiceStatus[]): string {
  return statuses
    .map((s) => {
      const state = s.running ? `up (pid ${s.pids.join(', ')})` : 'down';
      return `${s.name.padEnd(12)} ${state.padEnd(24)} ${s.endpoints.join('  ')}${s.detail ? `\n${' '.repeat(13)}${s.detail}` : ''}`;
    })
    .join('\n');
}
