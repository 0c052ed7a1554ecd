import { badRequest, conflict, objectNotFound, serviceNotFound } from './errors';
import type { Faults } from './faults';
import { deploy, taskFinishesAt, taskView, type ChangeRecord, type TaskRecord } from './iplb-tasks';
import type { ApiRequest, Route } from './router';
import type { OvhSchemas } from './schema';
import {
  clone,
  PROTOS,
  type EmulatorClock,
  type EmulatorTiming,
  type Farm,
  type FrontendTcp,
  type IplbConfig,
  type IplbServiceSeed,
  type IplbTask,
  type Proto,
  type ServerStateEntry,
  type ServerTcp,
  stableUuid,
} from './state';

const BASE = '/ipLoadbalancing/{serviceName}';

const FRONTEND_MODEL: Record<Proto, string> = {
  http: 'ipLoadbalancing.frontendHttp.FrontendHttp',
  tcp: 'ipLoadbalancing.frontendTcp.FrontendTcp',
};
const SERVER_MODEL: Record<Proto, string> = {
  http: 'ipLoadbalancing.backendHttpCustomerServer.BackendHTTPServer',
  tcp: 'ipLoadbalancing.backendTcpCustomerServer.BackendTCPServer',
};

interface ServiceRecord {
  serviceName: string;
  zones: string[];
  /** What the API shows and edits. */
  pending: IplbConfig;
  /** What runs: only a finished refresh task changes it. */
  applied: IplbConfig;
  changes: ChangeRecord[];
  tasks: TaskRecord[];
}

/** What tests and the admin endpoint see of one IPLB service. */
export interface IplbServiceView {
  serviceName: string;
  zones: string[];
  pending: IplbConfig;
  applied: IplbConfig;
  pendingChanges: { number: number; zone: string }[];
  tasks: IplbTask[];
}

function numberParam(request: ApiRequest, name: string): number {
  return Number(request.params[name]);
}

function matchesFilter(request: ApiRequest, name: string, value: unknown): boolean {
  const wanted = request.query.get(name);
  return wanted === null || String(value) === wanted;
}

/** IP Load Balancer: frontends, farms, servers, and the refresh protocol with time-driven tasks. */
export class IplbEmulator {
  private readonly services = new Map<string, ServiceRecord>();
  private nextTaskId = 8_000_001;
  private changeSeq = 0;

  constructor(
    seed: readonly IplbServiceSeed[],
    private readonly clock: EmulatorClock,
    private readonly timing: () => EmulatorTiming,
    private readonly faults: Faults,
    private readonly schemas: OvhSchemas,
  ) {
    for (const service of seed) {
      this.services.set(service.serviceName, {
        serviceName: service.serviceName,
        zones: [...service.zones],
        pending: clone(service.config),
        applied: clone(service.config),
        changes: [],
        tasks: [],
      });
    }
  }

  /** Settles every task whose time is up: a `done` refresh deploys its snapshot and clears its pending changes. */
  advance(): void {
    const now = this.clock.now();
    for (const service of this.services.values()) {
      for (const task of service.tasks) {
        if (task.settled || now < taskFinishesAt(task)) continue;
        task.settled = true;
        if (task.fails) continue;
        service.applied = deploy(service.applied, task.snapshot, task.zones);
        service.changes = service.changes.filter(
          (c) => c.seq > task.changeSeq || !task.zones.includes(c.zone),
        );
      }
    }
  }

  serviceNames(): string[] {
    return [...this.services.keys()];
  }

  view(serviceName: string): IplbServiceView | undefined {
    this.advance();
    const service = this.services.get(serviceName);
    if (!service) return undefined;
    return clone({
      serviceName: service.serviceName,
      zones: service.zones,
      pending: service.pending,
      applied: service.applied,
      pendingChanges: this.pendingChanges(service),
      tasks: service.tasks.map((task) => taskView(task, this.clock)),
    });
  }

  /**
   * Sets what OVH's probes report of a server (`serverState`, one entry per Load Balancer instance), in the
   * configuration the API shows and in the running one: probe results are not configuration, no refresh applies them.
   * Returns the entries as the API will show them, or undefined when there is no such service or server.
   */
  setServerState(
    serviceName: string,
    proto: Proto,
    serverId: number,
    entries: Partial<ServerStateEntry>[],
  ): ServerStateEntry[] | undefined {
    const service = this.services.get(serviceName);
    if (!service) return undefined;
    const state = entries.map((e, i) => ({
      checkCode: e.checkCode ?? null,
      checkStatus: e.checkStatus ?? null,
      checkTime: e.checkTime ?? null,
      instanceId: e.instanceId ?? i + 1,
      lastCheckContent: e.lastCheckContent ?? null,
      status: e.status ?? null,
    }));
    const copies = [service.pending, service.applied].flatMap((c) =>
      c.servers[proto].filter((s) => s.serverId === serverId),
    );
    if (copies.length === 0) return undefined;
    for (const server of copies) server.serverState = clone(state);
    return clone(state);
  }

  routes(): Route[] {
    const routes: Route[] = [
      { method: 'GET', path: '/ipLoadbalancing', handle: () => this.serviceNames() },
      { method: 'GET', path: BASE, handle: (r) => this.serviceInfo(this.service(r)) },
      { method: 'GET', path: `${BASE}/pendingChanges`, handle: (r) => this.pendingChanges(this.service(r)) },
      { method: 'POST', path: `${BASE}/refresh`, handle: (r) => this.refresh(this.service(r), r) },
      { method: 'GET', path: `${BASE}/task`, handle: (r) => this.listTasks(this.service(r), r) },
      {
        method: 'GET',
        path: `${BASE}/task/{id}`,
        handle: (r) => this.getTask(this.service(r), numberParam(r, 'id')),
      },
    ];
    for (const proto of PROTOS) routes.push(...this.protoRoutes(proto));
    return routes;
  }

  private protoRoutes(proto: Proto): Route[] {
    const frontend = (r: ApiRequest) => this.frontend(this.service(r), proto, numberParam(r, 'frontendId'));
    const farm = (r: ApiRequest) => this.farm(this.service(r), proto, numberParam(r, 'farmId'));
    const server = (r: ApiRequest) =>
      this.server(this.service(r), proto, farm(r), numberParam(r, 'serverId'));
    return [
      {
        method: 'GET',
        path: `${BASE}/${proto}/frontend`,
        handle: (r) =>
          this.service(r)
            .pending.frontends[proto].filter((f) =>
              ['defaultFarmId', 'defaultSslId', 'port', 'zone'].every((k) =>
                matchesFilter(r, k, f[k as keyof FrontendTcp]),
              ),
            )
            .map((f) => f.frontendId),
      },
      { method: 'GET', path: `${BASE}/${proto}/frontend/{frontendId}`, handle: (r) => clone(frontend(r)) },
      {
        method: 'PUT',
        path: `${BASE}/${proto}/frontend/{frontendId}`,
        handle: (r) => this.updateFrontend(this.service(r), proto, frontend(r), r.body),
      },
      {
        method: 'GET',
        path: `${BASE}/${proto}/farm`,
        handle: (r) =>
          this.service(r)
            .pending.farms[proto].filter(
              (f) => matchesFilter(r, 'zone', f.zone) && matchesFilter(r, 'vrackNetworkId', f.vrackNetworkId),
            )
            .map((f) => f.farmId),
      },
      { method: 'GET', path: `${BASE}/${proto}/farm/{farmId}`, handle: (r) => clone(farm(r)) },
      {
        method: 'GET',
        path: `${BASE}/${proto}/farm/{farmId}/server`,
        handle: (r) => {
          const farmId = farm(r).farmId;
          return this.service(r)
            .pending.servers[proto].filter((s) => s.backendId === farmId)
            .filter((s) =>
              ['address', 'status', 'cookie'].every((k) => matchesFilter(r, k, s[k as keyof ServerTcp])),
            )
            .map((s) => s.serverId);
        },
      },
      {
        method: 'GET',
        path: `${BASE}/${proto}/farm/{farmId}/server/{serverId}`,
        handle: (r) => clone(server(r)),
      },
      {
        method: 'PUT',
        path: `${BASE}/${proto}/farm/{farmId}/server/{serverId}`,
        handle: (r) => {
          const target = server(r);
          Object.assign(target, this.writableFields(SERVER_MODEL[proto], r.body));
          this.recordChange(this.service(r), farm(r).zone);
        },
      },
    ];
  }

  private service(request: ApiRequest): ServiceRecord {
    this.advance();
    const name = request.params.serviceName ?? '';
    const service = this.services.get(name);
    if (!service) throw serviceNotFound();
    return service;
  }

  private serviceInfo(service: ServiceRecord) {
    return {
      displayName: null,
      iam: {
        displayName: null,
        id: stableUuid(`ipLoadbalancing/${service.serviceName}`),
        tags: null,
        urn: `urn:v1:eu:resource:ipLoadbalancing:${service.serviceName}`,
      },
      ipLoadbalancing: '127.0.0.1',
      ipv4: '127.0.0.1',
      ipv6: null,
      metricsToken: null,
      offer: 'iplb-lb1',
      orderableZone: [],
      serviceName: service.serviceName,
      sslConfiguration: null,
      state: 'ok',
      vrackEligibility: false,
      vrackName: null,
      zone: [...service.zones],
    };
  }

  private frontend(service: ServiceRecord, proto: Proto, id: number): FrontendTcp {
    const found = service.pending.frontends[proto].find((f) => f.frontendId === id);
    if (!found) throw objectNotFound('frontendId', id);
    return found;
  }

  private farm(service: ServiceRecord, proto: Proto, id: number): Farm {
    const found = service.pending.farms[proto].find((f) => f.farmId === id);
    if (!found) throw objectNotFound('farmId', id);
    return found;
  }

  private server(service: ServiceRecord, proto: Proto, farm: Farm, id: number): ServerTcp {
    const found = service.pending.servers[proto].find(
      (s) => s.serverId === id && s.backendId === farm.farmId,
    );
    if (!found) throw objectNotFound('serverId', id);
    return found;
  }

  /** The writable fields of a PUT body (read-only ones a client sent back are ignored, as the API does). */
  private writableFields(modelName: string, body: unknown): Record<string, unknown> {
    const properties = this.schemas.model(modelName)?.properties ?? {};
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries((body ?? {}) as Record<string, unknown>)) {
      if (properties[key] && !properties[key].readOnly) fields[key] = value;
    }
    return fields;
  }

  private updateFrontend(service: ServiceRecord, proto: Proto, frontend: FrontendTcp, body: unknown): void {
    const fields = this.writableFields(FRONTEND_MODEL[proto], body);
    const farmId = fields.defaultFarmId;
    if (typeof farmId === 'number' && !service.pending.farms[proto].some((f) => f.farmId === farmId)) {
      throw badRequest(`[defaultFarmId] ${proto} farm ${farmId} does not exist on ${service.serviceName}`);
    }
    if (typeof fields.zone === 'string' && fields.zone !== 'all' && !service.zones.includes(fields.zone)) {
      throw badRequest(`[zone] ${fields.zone} is not a zone of ${service.serviceName}`);
    }
    const zonesTouched = new Set([frontend.zone, (fields.zone as string | undefined) ?? frontend.zone]);
    Object.assign(frontend, fields);
    for (const zone of zonesTouched) this.recordChange(service, zone);
  }

  /** Every successful PUT counts as a change of its zone (`all`: of every zone), whether or not a value changed. */
  private recordChange(service: ServiceRecord, zone: string): void {
    const zones = zone === 'all' ? service.zones : [zone];
    for (const z of zones) service.changes.push({ seq: ++this.changeSeq, zone: z });
  }

  private pendingChanges(service: ServiceRecord): { number: number; zone: string }[] {
    const counts = new Map<string, number>();
    for (const change of service.changes) counts.set(change.zone, (counts.get(change.zone) ?? 0) + 1);
    return [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([zone, number]) => ({ number, zone }));
  }

  /**
   * Starts a refresh task. A second refresh while one is `todo`/`doing` is refused with 409: clients must wait for
   * the running task first, as the reference procedure does (the real API's behaviour here is unconfirmed).
   */
  private refresh(service: ServiceRecord, request: ApiRequest): IplbTask {
    const zone = (request.body as { zone?: unknown } | undefined)?.zone;
    if (typeof zone === 'string' && !service.zones.includes(zone)) {
      throw badRequest(`[zone] ${zone} is not a zone of ${service.serviceName}`);
    }
    const running = service.tasks.find((task) => !task.settled);
    if (running)
      throw conflict(`A refresh task (${running.id}) is already in progress on ${service.serviceName}`);
    const timing = this.timing();
    const task: TaskRecord = {
      id: this.nextTaskId++,
      action: 'refreshIplb',
      zones: typeof zone === 'string' ? [zone] : [...service.zones],
      createdAtMs: this.clock.now(),
      todoMs: timing.iplbTaskTodoMs,
      doingMs: timing.iplbTaskDoingMs,
      fails: this.faults.takeRefreshError(service.serviceName),
      snapshot: clone(service.pending),
      changeSeq: this.changeSeq,
      settled: false,
    };
    service.tasks.push(task);
    return taskView(task, this.clock);
  }

  private listTasks(service: ServiceRecord, request: ApiRequest): number[] {
    const within = (value: string | null, from: string | null, to: string | null) =>
      (from === null || (value !== null && Date.parse(value) >= Date.parse(from))) &&
      (to === null || (value !== null && Date.parse(value) <= Date.parse(to)));
    const q = request.query;
    return service.tasks
      .map((task) => taskView(task, this.clock))
      .filter(
        (task) =>
          matchesFilter(request, 'action', task.action) && matchesFilter(request, 'status', task.status),
      )
      .filter((task) => within(task.creationDate, q.get('creationDate.from'), q.get('creationDate.to')))
      .filter((task) => within(task.doneDate, q.get('doneDate.from'), q.get('doneDate.to')))
      .map((task) => task.id);
  }

  private getTask(service: ServiceRecord, id: number): IplbTask {
    const task = service.tasks.find((t) => t.id === id);
    if (!task) throw objectNotFound('id', id);
    return taskView(task, this.clock);
  }
}
