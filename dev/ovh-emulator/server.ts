import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logger';
import { handleAdmin, type EmulatorControl, type MemberHealthSpec, type ServerStateSpec } from './admin';
import { Authenticator, type OvhCredential } from './auth';
import { CloudDbEmulator, type CloudDbProjectView } from './cloud-db';
import { CloudLbEmulator, type CloudLbRegionView } from './cloud-lb';
import { DnsEmulator, type DnsZoneView } from './dns';
import { API_BASE_PATH, dispatchApiRequest, type ApiReply } from './dispatch';
export { API_BASE_PATH } from './dispatch';
import { invalidUrl, OvhHttpError } from './errors';
import { Faults, type Fault, type FaultSpec } from './faults';
import { OAuth2Issuer, TOKEN_PATH, type OAuth2Stats, type ServiceAccount } from './oauth2';
import { IplbEmulator, type IplbServiceView } from './iplb';
import type { HttpMethod, Route } from './router';
import { OvhSchemas } from './schema';
import { defaultSeed } from './seed';
import {
  DEFAULT_TIMING,
  EmulatorClock,
  type EmulatorTiming,
  type OvhSeed,
  type ServerStateEntry,
} from './state';
import { ensureTlsMaterial } from './tls';

const MAX_BODY_BYTES = 1024 * 1024;

export interface OvhEmulatorOptions {
  /** TCP port on the loopback interface; 0 (the default) picks a free one. */
  port?: number;
  /** Where the CA and server certificate live (created on first use). */
  stateDir: string;
  /** Accepted credentials; a consumer key belongs to its application key. */
  credentials: OvhCredential[];
  /** Accepted OAuth2 service accounts (token endpoint `/auth/oauth2/token`, then bearer tokens). */
  serviceAccounts?: ServiceAccount[];
  /** Lifetime of the bearer tokens issued (default 3600 s). */
  oauth2TokenLifetimeSeconds?: number;
  /** Initial objects; `defaultSeed()` when omitted. `reset()` returns to it. */
  seed?: OvhSeed;
  timing?: Partial<EmulatorTiming>;
  /** How far `X-Ovh-Timestamp` may be from the API clock (default 180 s; the real window is undocumented). */
  timestampToleranceSeconds?: number;
  /** Puts the API clock ahead (positive) or behind the local clock, as a drifting client would see it. */
  clockSkewSeconds?: number;
  /** Keep every API reply in `responses` (for the schema-conformance test). */
  recordResponses?: boolean;
  logger?: Logger;
}

export interface RecordedResponse {
  method: string;
  /** The schema path of the route that answered, when one did. */
  route?: string;
  path: string;
  status: number;
  body: unknown;
}

export interface EmulatorSnapshot {
  iplb: IplbServiceView[];
  dns: DnsZoneView[];
  cloudLb: CloudLbRegionView[];
  cloudDb: CloudDbProjectView[];
  oauth2: OAuth2Stats;
  faults: Fault[];
  timing: EmulatorTiming;
}

export interface OvhEmulator {
  /** `https://localhost:<port>`; the API lives under `/1.0`. */
  url: string;
  /** The host name to give node-ovh (`host` option); the certificate also covers 127.0.0.1 and ::1. */
  host: string;
  port: number;
  caCertPath: string;
  caPem: string;
  credentials: OvhCredential[];
  serviceAccounts: ServiceAccount[];
  /** What to give node-ovh as `tokenURL` for a service account (it appends `oauth2/token`). */
  tokenUrl: string;
  /** The API routes served, by schema path. */
  routes: { method: HttpMethod; path: string }[];
  addFault(spec: FaultSpec): Fault;
  listFaults(): Fault[];
  removeFault(id: number): boolean;
  clearFaults(): void;
  /** Pending and applied configuration, pending changes and tasks of one IPLB service. */
  iplb(serviceName: string): IplbServiceView | undefined;
  /** Records as edited and as deployed, and the deployment status, of one DNS zone. */
  dns(zone: string): DnsZoneView | undefined;
  /** The Public Cloud load balancing objects of one project's region, statuses as the API shows them now. */
  cloudLb(serviceName: string, regionName: string): CloudLbRegionView | undefined;
  /** The managed database services of one project (forks included), statuses as the API shows them now. */
  cloudDb(serviceName: string): CloudDbProjectView | undefined;
  snapshot(): EmulatorSnapshot;
  setTiming(timing: Partial<EmulatorTiming>): EmulatorTiming;
  /** What the probes report of one IPLB server (its `serverState`); undefined when there is no such server. */
  setServerState(spec: ServerStateSpec): ServerStateEntry[] | undefined;
  /** Whether the health monitor sees a Public Cloud LB member pass; false when there is no such member. */
  setMemberHealth(spec: MemberHealthSpec): boolean;
  setClockSkew(seconds: number): void;
  /** Back to the seed; faults cleared; recorded responses kept. */
  reset(): void;
  responses: RecordedResponse[];
  stop(): Promise<void>;
}

interface World {
  auth: Authenticator;
  oauth2: OAuth2Issuer;
  iplb: IplbEmulator;
  dns: DnsEmulator;
  cloudLb: CloudLbEmulator;
  cloudDb: CloudDbEmulator;
  routes: Route[];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function checkTiming(timing: Partial<EmulatorTiming>): Partial<EmulatorTiming> {
  for (const [key, value] of Object.entries(timing)) {
    if (!(key in DEFAULT_TIMING)) throw new RangeError(`unknown timing ${key}`);
    if (!Number.isInteger(value) || (value as number) < 0)
      throw new RangeError(`${key} must be a whole number of ms`);
  }
  return timing;
}

export async function startOvhEmulator(options: OvhEmulatorOptions): Promise<OvhEmulator> {
  const tls = ensureTlsMaterial(options.stateDir);
  const schemas = new OvhSchemas();
  const seed = options.seed ?? defaultSeed();
  const clock = new EmulatorClock((options.clockSkewSeconds ?? 0) * 1000);
  const faults = new Faults();
  let timing: EmulatorTiming = { ...DEFAULT_TIMING, ...checkTiming(options.timing ?? {}) };
  const responses: RecordedResponse[] = [];
  let queryCounter = 0;

  const buildWorld = (): World => {
    const oauth2 = new OAuth2Issuer(
      options.serviceAccounts ?? [],
      clock,
      faults,
      options.oauth2TokenLifetimeSeconds ?? 3600,
    );
    const auth = new Authenticator(
      options.credentials,
      clock,
      faults,
      options.timestampToleranceSeconds ?? 180,
      oauth2,
    );
    const iplb = new IplbEmulator(seed.iplb, clock, () => timing, faults, schemas);
    const dns = new DnsEmulator(seed.dns, clock, () => timing);
    const cloudLb = new CloudLbEmulator(seed.cloudLb ?? [], clock, () => timing);
    const cloudDb = new CloudDbEmulator(seed.cloudDb ?? [], clock, () => timing);
    const routes = [
      ...auth.routes(),
      ...iplb.routes(),
      ...dns.routes(),
      ...cloudLb.routes(),
      ...cloudDb.routes(),
    ];
    for (const route of routes) {
      if (!schemas.operation(route.method, route.path)) {
        throw new Error(`emulator route ${route.method} ${route.path} is not in the OVH API schema`);
      }
    }
    return { auth, oauth2, iplb, dns, cloudLb, cloudDb, routes };
  };
  let world = buildWorld();

  const snapshot = (): EmulatorSnapshot => ({
    iplb: world.iplb.serviceNames().map((name) => world.iplb.view(name) as IplbServiceView),
    dns: world.dns.zoneNames().map((name) => world.dns.view(name) as DnsZoneView),
    cloudLb: world.cloudLb
      .regionKeys()
      .map((r) => world.cloudLb.view(r.serviceName, r.regionName) as CloudLbRegionView),
    cloudDb: world.cloudDb.projectNames().map((name) => world.cloudDb.view(name) as CloudDbProjectView),
    oauth2: { ...world.oauth2.stats },
    faults: faults.list(),
    timing: { ...timing },
  });

  const control: EmulatorControl = {
    addFault: (spec) => faults.add(spec),
    listFaults: () => faults.list(),
    removeFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    reset: () => {
      faults.clear();
      world = buildWorld();
    },
    setTiming: (partial) => {
      timing = { ...timing, ...checkTiming(partial) };
      return { ...timing };
    },
    setServerState: (spec) =>
      world.iplb.setServerState(spec.serviceName, spec.protocol, spec.serverId, spec.serverState),
    setMemberHealth: (spec) =>
      world.cloudLb.setMemberHealth(spec.serviceName, spec.regionName, spec.memberId, spec.healthy),
    snapshot,
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const queryId = `EU.emulator.${Date.now()}.${++queryCounter}`;
    if (status === 204) {
      res.writeHead(204, { 'X-Ovh-QueryId': queryId, ...headers }).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      'X-Ovh-QueryId': queryId,
      ...headers,
    });
    res.end(text);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const started = Date.now();
    const rawUrl = req.url ?? '/';
    let reply: ApiReply & { headers?: Record<string, string> };
    try {
      const rawBody = await readBody(req);
      if (rawUrl.split('?')[0] === TOKEN_PATH) {
        reply = world.oauth2.tokenRequest(req.method ?? 'GET', req.headers, rawBody);
      } else if (rawUrl.startsWith('/_emulator/')) {
        reply = handleAdmin(control, req, rawUrl.split('?')[0] ?? '', rawBody);
      } else if (rawUrl.startsWith(`${API_BASE_PATH}/`)) {
        reply = await dispatchApiRequest(
          { schemas, faults, routes: world.routes, auth: world.auth },
          req,
          rawUrl,
          rawBody,
        );
      } else {
        throw invalidUrl();
      }
    } catch (err) {
      if (err instanceof OvhHttpError) reply = { status: err.status, body: err.body };
      else if (err instanceof RangeError) reply = { status: 400, body: { message: err.message } };
      else {
        options.logger?.error('ovh emulator request failed', { url: rawUrl, error: err });
        reply = { status: 500, body: { message: (err as Error).message } };
      }
    }
    if (options.recordResponses && rawUrl.startsWith(`${API_BASE_PATH}/`)) {
      responses.push({
        method: req.method ?? 'GET',
        route: reply.route?.path,
        path: rawUrl,
        status: reply.status,
        body: reply.body === undefined ? null : structuredClone(reply.body),
      });
    }
    options.logger?.debug('ovh emulator request', {
      method: req.method,
      url: rawUrl,
      status: reply.status,
      ms: Date.now() - started,
    });
    if (!res.destroyed) send(res, reply.status, reply.body, reply.headers);
  };

  const server = https.createServer(
    { key: tls.keyPem, cert: tls.certPem },
    (req, res) => void onRequest(req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://localhost:${port}`,
    host: 'localhost',
    port,
    caCertPath: tls.caCertPath,
    caPem: tls.caPem,
    credentials: options.credentials.map((c) => ({ ...c })),
    serviceAccounts: (options.serviceAccounts ?? []).map((a) => ({ ...a })),
    tokenUrl: `https://localhost:${port}/auth/`,
    routes: world.routes.map(({ method, path }) => ({ method, path })),
    ...control,
    snapshot,
    iplb: (serviceName) => world.iplb.view(serviceName),
    dns: (zone) => world.dns.view(zone),
    cloudLb: (serviceName, regionName) => world.cloudLb.view(serviceName, regionName),
    cloudDb: (serviceName) => world.cloudDb.view(serviceName),
    setClockSkew: (seconds) => {
      clock.skewMs = seconds * 1000;
    },
    responses,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
