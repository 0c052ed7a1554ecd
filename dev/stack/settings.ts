import path from 'node:path';
import { packageRoot } from '../../common/package-root';

export const REPO_ROOT = packageRoot();

/** Default loopback ports of the local stack; each can be overridden with DR_STACK_PORT_<NAME>. */
const DEFAULT_PORTS = {
  TEMPORAL: 7233,
  TEMPORAL_UI: 8233,
  TEMPORAL_METRICS: 7239,
  MYSQL_GRA: 13306,
  MYSQL_RBX: 13307,
  MYSQL_RBX2: 13308,
  WORKER_METRICS: 9464,
  WORKER_RBX_METRICS: 9465,
  APP_GRA: 18080,
  APP_RBX: 18081,
  HAPROXY: 18000,
  SSH: 12222,
  OVH: 18443,
  ES_GRA: 19200,
  ES_RBX: 19201,
  WEBHOOK_RECEIVER: 18090,
  PROMETHEUS: 19090,
  ALERTMANAGER: 19093,
  ALERT_RECEIVER: 19095,
} as const;

export type PortName = keyof typeof DEFAULT_PORTS;

export function stackPort(name: PortName, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[`DR_STACK_PORT_${name}`];
  if (raw === undefined || raw === '') return DEFAULT_PORTS[name];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`DR_STACK_PORT_${name}="${raw}" is not a TCP port number (1-65535)`);
  }
  return port;
}

/** Everything the stack writes (data, logs, pid files, generated secrets) lives under this folder. */
export function stackDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DR_STACK_DIR ?? path.join(REPO_ROOT, '.stack'));
}

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.DR_TOOLS_DIR ?? path.join(REPO_ROOT, '.tools'));
}
