import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, conflict, objectNotFound, OvhHttpError, serviceNotFound } from './errors';
import type { ApiRequest, Route } from './router';
import { clone, type EmulatorClock, type EmulatorTiming } from './state';

/**
 * OVH Public Cloud Databases for MySQL and PostgreSQL (`/cloud/project/{serviceName}/database/{mysql,postgresql}`),
 * as the `cloud.project.database.*` models of the shipped `cloud.json` show them: services, their nodes, backups and
 * users (PostgreSQL users have `roles`).
 *
 * The one write that matters for disaster recovery is the fork: `POST …/{engine}` with `forkFrom {serviceId, backupId}`
 * creates a **new** service (new ID, new host name) from a backup, in the region of `nodesPattern`, which must be one
 * of the regions the backup is stored in (`Backup.regions`). Users are not copied; the IP restrictions are those of
 * the creation body. The new service is `CREATING` for `cloudDbCreateMs`, then `READY`. Only forks are served: a
 * creation without `forkFrom` is refused (the emulator has nothing to build a fresh cluster from).
 */
export type DbStatus =
  | 'CREATING'
  | 'DELETING'
  | 'ERROR'
  | 'ERROR_INCONSISTENT_SPEC'
  | 'LOCKED'
  | 'LOCKED_PENDING'
  | 'LOCKED_UPDATING'
  | 'PENDING'
  | 'READY'
  | 'SHELVED'
  | 'UPDATING';

/** `cloud.project.database.service.Endpoint`. */
export interface DbEndpoint {
  component: string;
  domain: string;
  path: string | null;
  port: number | null;
  scheme: string | null;
  ssl: boolean;
  sslMode: string | null;
  uri: string | null;
}

/** `cloud.project.database.service.Node`. */
export interface DbNode {
  createdAt: string;
  flavor: string;
  id: string;
  name: string;
  port: number;
  region: string;
  role: 'ANALYTICS' | 'STANDARD' | null;
  status: DbStatus;
}

/** `cloud.project.database.service.IpRestriction`. */
export interface DbIpRestriction {
  description: string;
  ip: string;
  status: DbStatus;
}

/** `cloud.project.database.Service` (what the emulator stores of it; the view adds the computed fields). */
export interface DbService {
  backupTime: string;
  backups: { pitr: string | null; regions: string[]; retentionDays: number | null; time: string } | null;
  category: 'analysis' | 'operational' | 'streaming';
  createdAt: string;
  description: string;
  disk: { size: number; type: string };
  endpoints: DbEndpoint[];
  engine: DbEngine;
  flavor: string;
  id: string;
  ipRestrictions: DbIpRestriction[];
  maintenanceTime: string;
  networkId: string | null;
  networkType: 'private' | 'public';
  nodeNumber: number;
  nodes: DbNode[];
  plan: string;
  region: string | null;
  status: DbStatus;
  storage: null;
  subnetId: string | null;
  version: string;
}

/** `cloud.project.database.Backup`. */
export interface DbBackup {
  createdAt: string;
  description: string;
  id: string;
  region: string;
  regions: { name: string }[];
  size: { unit: string; value: number };
  status: DbStatus;
  type: 'automatic' | 'manual' | 'none' | 'pitr' | 'snapshot';
}

/** `cloud.project.database.service.User` (MySQL); PostgreSQL's `UserWithRoles` adds `roles`. */
export interface DbUser {
  createdAt: string;
  id: string;
  roles?: string[];
  status: DbStatus;
  username: string;
}

export type DbEngine = 'mysql' | 'postgresql';
export const DB_ENGINES: readonly DbEngine[] = ['mysql', 'postgresql'];

export interface CloudDbServiceSeed {
  service: DbService;
  backups: DbBackup[];
  users: DbUser[];
}

/** The managed databases of one Public Cloud project (`serviceName`). */
export interface CloudDbSeed {
  serviceName: string;
  services: CloudDbServiceSeed[];
}

interface ServiceRecord extends CloudDbServiceSeed {
  /** Until when (API clock, ms) a fork stays `CREATING`; undefined for a seeded service. */
  creatingUntil?: number;
}

/** What tests and the admin endpoint see of one project: every service as the API shows it now. */
export interface CloudDbProjectView {
  serviceName: string;
  services: (CloudDbServiceSeed & { forkedFrom: string | null })[];
}

interface ForkBody {
  description?: string;
  forkFrom?: { serviceId?: string; backupId?: string; pointInTime?: string } | null;
  ipRestrictions?: { ip?: string; description?: string }[];
  nodesPattern?: { flavor?: string; number?: number; region?: string } | null;
  plan?: string;
  version?: string;
}

export class CloudDbEmulator {
  private readonly projects = new Map<string, Map<string, ServiceRecord>>();
  private readonly forkedFrom = new Map<string, string>();

  constructor(
    seed: readonly CloudDbSeed[],
    private readonly clock: EmulatorClock,
    private readonly timing: () => EmulatorTiming,
  ) {
    for (const project of seed) {
      const services = new Map<string, ServiceRecord>();
      for (const s of project.services) services.set(s.service.id, clone(s));
      this.projects.set(project.serviceName, services);
    }
  }

  projectNames(): string[] {
    return [...this.projects.keys()];
  }

  view(serviceName: string): CloudDbProjectView | undefined {
    const services = this.projects.get(serviceName);
    if (!services) return undefined;
    return {
      serviceName,
      services: [...services.values()].map((r) => ({
        service: this.serviceView(r),
        backups: clone(r.backups),
        users: r.users.map((u) => this.userView(r, u)),
        forkedFrom: this.forkedFrom.get(r.service.id) ?? null,
      })),
    };
  }

  routes(): Route[] {
    return DB_ENGINES.flatMap((engine) => this.engineRoutes(engine));
  }

  private engineRoutes(engine: DbEngine): Route[] {
    const BASE = `/cloud/project/{serviceName}/database/${engine}`;
    return [
      {
        method: 'GET',
        path: BASE,
        handle: (r) =>
          [...this.project(r).values()].filter((s) => s.service.engine === engine).map((s) => s.service.id),
      },
      { method: 'POST', path: BASE, handle: (r) => this.fork(r, engine) },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}`,
        handle: (r) => this.serviceView(this.service(r, engine)),
      },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/backup`,
        handle: (r) => this.service(r, engine).backups.map((b) => b.id),
      },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/backup/{backupId}`,
        handle: (r) => clone(this.backup(this.service(r, engine), r.params.backupId ?? '')),
      },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/node`,
        handle: (r) => this.serviceView(this.service(r, engine)).nodes.map((n) => n.id),
      },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/node/{nodeId}`,
        handle: (r) => {
          const nodeId = r.params.nodeId ?? '';
          const node = this.serviceView(this.service(r, engine)).nodes.find((n) => n.id === nodeId);
          if (!node) throw objectNotFound('nodeId', nodeId);
          return node;
        },
      },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/user`,
        handle: (r) => this.service(r, engine).users.map((u) => u.id),
      },
      { method: 'POST', path: `${BASE}/{clusterId}/user`, handle: (r) => this.createUser(r, engine) },
      {
        method: 'GET',
        path: `${BASE}/{clusterId}/user/{userId}`,
        handle: (r) => {
          const record = this.service(r, engine);
          const userId = r.params.userId ?? '';
          const user = record.users.find((u) => u.id === userId);
          if (!user) throw objectNotFound('userId', userId);
          return this.userView(record, user);
        },
      },
    ];
  }

  /** `POST …/{engine}` with `forkFrom`: a new service from a backup, in a region the backup is stored in. */
  private fork(r: ApiRequest, engine: DbEngine): DbService {
    const project = this.project(r);
    const body = (r.body ?? {}) as ForkBody;
    const from = body.forkFrom;
    if (!from) throw badRequest('[forkFrom] the emulator only creates services forked from a backup');
    if (from.backupId !== undefined && from.pointInTime !== undefined) {
      throw badRequest('[forkFrom] backupId is not compatible with pointInTime');
    }
    const source = project.get(from.serviceId ?? '');
    if (!source || source.service.engine !== engine) throw objectNotFound('serviceId', from.serviceId ?? '');
    const region = body.nodesPattern?.region;
    if (!region) throw badRequest('[nodesPattern.region] Property is mandatory');
    const backup = this.forkBackup(source, from);
    if (!backup.regions.some((b) => b.name === region)) {
      throw new OvhHttpError(404, `Backup ${backup.id} is not stored in region ${region}`);
    }
    const record = this.newService(source, body, region);
    project.set(record.service.id, record);
    this.forkedFrom.set(record.service.id, source.service.id);
    return this.serviceView(record);
  }

  /** The backup named by `backupId`, or for `pointInTime` the latest backup taken at or before it. */
  private forkBackup(source: ServiceRecord, from: NonNullable<ForkBody['forkFrom']>): DbBackup {
    if (from.backupId !== undefined) return this.backup(source, from.backupId);
    const at = from.pointInTime === undefined ? Number.NaN : Date.parse(from.pointInTime);
    if (Number.isNaN(at)) throw badRequest('[forkFrom] backupId or pointInTime is mandatory');
    const before = source.backups
      .filter((b) => Date.parse(b.createdAt) <= at)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    const found = before[0];
    if (!found) throw new OvhHttpError(404, `No backup of ${source.service.id} before ${from.pointInTime}`);
    return found;
  }

  private newService(source: ServiceRecord, body: ForkBody, region: string): ServiceRecord {
    const id = randomUUID();
    const now = this.clock.now();
    const createdAt = this.clock.iso(now);
    const number = body.nodesPattern?.number ?? source.service.nodeNumber;
    const flavor = body.nodesPattern?.flavor ?? source.service.flavor;
    const host = `${source.service.engine}-${id.slice(0, 8)}.database.cloud.ovh.net`;
    const port = source.service.endpoints[0]?.port ?? 20184;
    const nodes: DbNode[] = Array.from({ length: number }, (_, i) => ({
      createdAt,
      flavor,
      id: randomUUID(),
      name: `${id.slice(0, 8)}-${i + 1}.database.cloud.ovh.net`,
      port,
      region,
      role: 'STANDARD',
      status: 'READY',
    }));
    const service: DbService = {
      ...clone(source.service),
      backups: {
        pitr: null,
        regions: [region],
        retentionDays: source.service.backups?.retentionDays ?? null,
        time: source.service.backupTime,
      },
      createdAt,
      description: body.description ?? '',
      endpoints: source.service.endpoints.map((e) => ({
        ...clone(e),
        domain: host,
        uri: e.uri === null ? null : e.uri.replace(e.domain, host),
      })),
      flavor,
      id,
      ipRestrictions: (body.ipRestrictions ?? []).map((ip) => ({
        description: ip.description ?? '',
        ip: ip.ip ?? '',
        status: 'READY' as const,
      })),
      nodeNumber: number,
      nodes,
      plan: body.plan ?? source.service.plan,
      region,
      status: 'READY',
      version: body.version ?? source.service.version,
    };
    return {
      service,
      backups: [],
      users: [],
      creatingUntil: now + this.timing().cloudDbCreateMs,
    };
  }

  /**
   * `POST …/user`: refused with 409 while the service is not READY (`Client::Conflict::ServiceNotReady`). PostgreSQL
   * takes `UserWithRolesCreation` and answers `UserWithPasswordAndRoles`.
   */
  private createUser(r: ApiRequest, engine: DbEngine) {
    const record = this.service(r, engine);
    const body = (r.body ?? {}) as { name?: string; roles?: string[] };
    const name = body.name ?? '';
    if (name === '') throw badRequest('[name] Property is mandatory');
    if (this.status(record) !== 'READY') throw conflict(`Service ${record.service.id} is not ready`);
    if (record.users.some((u) => u.username === name)) throw conflict(`User ${name} already exists`);
    const user: DbUser = {
      createdAt: this.clock.iso(),
      id: randomUUID(),
      ...(engine === 'postgresql' ? { roles: body.roles ?? [] } : {}),
      status: 'READY',
      username: name,
    };
    record.users.push(user);
    return { ...this.userView(record, user), password: randomBytes(18).toString('base64url') };
  }

  private status(record: ServiceRecord): DbStatus {
    const creating = record.creatingUntil !== undefined && this.clock.now() < record.creatingUntil;
    return creating ? 'CREATING' : record.service.status;
  }

  private serviceView(record: ServiceRecord) {
    const status = this.status(record);
    const service = clone(record.service);
    const nodes = service.nodes.map((n) => ({ ...n, status: status === 'CREATING' ? status : n.status }));
    const ipRestrictions = service.ipRestrictions.map((ip) => ({
      ...ip,
      status: status === 'CREATING' ? status : ip.status,
    }));
    return { ...service, capabilities: {}, ipRestrictions, nodes, status };
  }

  private userView(record: ServiceRecord, user: DbUser): DbUser {
    return { ...clone(user), status: this.status(record) === 'CREATING' ? 'CREATING' : user.status };
  }

  private project(r: ApiRequest): Map<string, ServiceRecord> {
    const project = this.projects.get(r.params.serviceName ?? '');
    if (!project) throw serviceNotFound();
    return project;
  }

  private service(r: ApiRequest, engine: DbEngine): ServiceRecord {
    const clusterId = r.params.clusterId ?? '';
    const found = this.project(r).get(clusterId);
    if (!found || found.service.engine !== engine) throw objectNotFound('clusterId', clusterId);
    return found;
  }

  private backup(record: ServiceRecord, backupId: string): DbBackup {
    const found = record.backups.find((b) => b.id === backupId);
    if (!found) throw objectNotFound('backupId', backupId);
    return found;
  }
}
