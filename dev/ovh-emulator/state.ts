import { createHash } from 'node:crypto';
import type { CloudDbSeed } from './cloud-db';
import type { CloudLbSeed } from './cloud-lb';

/**
 * The emulated OVH objects. Field names and types follow the models of the shipped schemas
 * (`ipLoadbalancing.frontendHttp.FrontendHttp`, `ipLoadbalancing.backendHttp.BackendHttp`, `domain.zone.Record`...);
 * every property is present, nullable ones as `null`, as the API returns them.
 */
export type Proto = 'http' | 'tcp';
export const PROTOS: readonly Proto[] = ['http', 'tcp'];

export interface FrontendTcp {
  allowedSource: string[] | null;
  dedicatedIpfo: string[] | null;
  defaultFarmId: number | null;
  defaultSslId: number | null;
  deniedSource: string[] | null;
  disabled: boolean;
  displayName: string | null;
  frontendId: number;
  port: string;
  ssl: boolean;
  vrackNetworkId: number | null;
  vrackVrouterId: number | null;
  /** A zone of the service, or `all`. */
  zone: string;
}

export interface FrontendHttp extends FrontendTcp {
  hsts: boolean;
  httpHeader: string[] | null;
  redirectLocation: string | null;
}

export interface BackendProbe {
  forceSsl: boolean | null;
  interval: number | null;
  match: string | null;
  method: string | null;
  negate: boolean | null;
  pattern: string | null;
  port: number | null;
  type: string | null;
  url: string | null;
}

/** `BackendTcp` / `BackendHttp`: the same fields, only the enums of `balance` and `stickiness` differ. */
export interface Farm {
  balance: string | null;
  displayName: string | null;
  farmId: number;
  port: number | null;
  probe: BackendProbe | null;
  stickiness: string | null;
  vrackNetworkId: number | null;
  zone: string;
}

export type ServerStatus = 'active' | 'inactive';

export interface ServerStateEntry {
  checkCode: string | null;
  checkStatus: string | null;
  checkTime: string | null;
  instanceId: number;
  lastCheckContent: string | null;
  status: string | null;
}

export interface ServerTcp {
  address: string;
  backendId: number;
  backup: boolean;
  chain: string | null;
  displayName: string | null;
  onMarkedDown: string | null;
  port: number | null;
  probe: boolean;
  proxyProtocolVersion: string | null;
  serverId: number;
  serverState: ServerStateEntry[];
  ssl: boolean;
  status: ServerStatus;
  weight: number | null;
}

export interface ServerHttp extends ServerTcp {
  cookie: string | null;
}

/** One configuration of an IPLB service: either what the API shows (pending) or what runs (applied). */
export interface IplbConfig {
  frontends: { http: FrontendHttp[]; tcp: FrontendTcp[] };
  farms: { http: Farm[]; tcp: Farm[] };
  servers: { http: ServerHttp[]; tcp: ServerTcp[] };
}

export type TaskStatus = 'blocked' | 'cancelled' | 'doing' | 'done' | 'error' | 'todo';

/** `ipLoadbalancing.Task.Task`. */
export interface IplbTask {
  action: string;
  creationDate: string;
  doneDate: string | null;
  id: number;
  progress: number;
  status: TaskStatus;
  zones: string[];
}

export type RecordType = 'A' | 'AAAA' | 'CAA' | 'CNAME' | 'DKIM' | 'DMARC' | 'DNAME' | 'LOC' | 'MX' | 'NAPTR' | 'NS' | 'PTR' | 'SPF' | 'SRV' | 'SSHFP' | 'TLSA' | 'TXT'; // prettier-ignore

/** `domain.zone.Record`. */
export interface DnsRecord {
  fieldType: RecordType;
  id: number;
  subDomain: string | null;
  target: string;
  ttl: number | null;
  zone: string;
}

export interface IplbServiceSeed {
  serviceName: string;
  /** Zones of the service, e.g. `['gra', 'rbx']`. */
  zones: string[];
  config: IplbConfig;
}

export interface DnsZoneSeed {
  zone: string;
  records: DnsRecord[];
}

export interface OvhSeed {
  iplb: IplbServiceSeed[];
  dns: DnsZoneSeed[];
  /** Public Cloud Load Balancer objects, per project and region. */
  cloudLb?: CloudLbSeed[];
  /** Public Cloud Databases (MySQL) services, per project. */
  cloudDb?: CloudDbSeed[];
}

/** How long emulated asynchronous work takes. */
export interface EmulatorTiming {
  /** A new IPLB task stays `todo` this long, then `doing`... */
  iplbTaskTodoMs: number;
  /** ...this long, then `done` (or `error` when a fault says so). */
  iplbTaskDoingMs: number;
  /** After `POST /domain/zone/{zone}/refresh`, the zone reports `isDeployed: true` after this long. */
  dnsDeployMs: number;
  /** A Public Cloud Load Balancer write keeps the object and its load balancer `updating` this long. */
  cloudLbUpdateMs: number;
  /** A managed database service forked from a backup stays `CREATING` this long, then `READY`. */
  cloudDbCreateMs: number;
}

export const DEFAULT_TIMING: EmulatorTiming = {
  iplbTaskTodoMs: 1000,
  iplbTaskDoingMs: 2000,
  dnsDeployMs: 1000,
  cloudLbUpdateMs: 500,
  cloudDbCreateMs: 2000,
};

/** Wall clock of the emulated API; `skewMs` lets tests put it ahead of or behind the client's clock. */
export class EmulatorClock {
  constructor(public skewMs = 0) {}
  now(): number {
    return Date.now() + this.skewMs;
  }
  iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A UUID derived from a name, so IAM metadata stays the same across restarts. */
export function stableUuid(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
