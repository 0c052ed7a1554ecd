import type {
  BackendProbe,
  DnsRecord,
  Farm,
  FrontendHttp,
  FrontendTcp,
  OvhSeed,
  ServerHttp,
  ServerTcp,
} from './state';

export function frontendTcp(
  fields: Pick<FrontendTcp, 'frontendId' | 'port' | 'zone'> & Partial<FrontendTcp>,
): FrontendTcp {
  return {
    allowedSource: null,
    dedicatedIpfo: null,
    defaultFarmId: null,
    defaultSslId: null,
    deniedSource: null,
    disabled: false,
    displayName: null,
    ssl: false,
    vrackNetworkId: null,
    vrackVrouterId: null,
    ...fields,
  };
}

export function frontendHttp(
  fields: Pick<FrontendHttp, 'frontendId' | 'port' | 'zone'> & Partial<FrontendHttp>,
): FrontendHttp {
  return { ...frontendTcp(fields), hsts: false, httpHeader: null, redirectLocation: null, ...fields };
}

export function farm(fields: Pick<Farm, 'farmId' | 'zone'> & Partial<Farm>): Farm {
  return {
    balance: null,
    displayName: null,
    port: null,
    probe: null,
    stickiness: null,
    vrackNetworkId: null,
    ...fields,
  };
}

export function serverTcp(
  fields: Pick<ServerTcp, 'serverId' | 'backendId' | 'address'> & Partial<ServerTcp>,
): ServerTcp {
  return {
    backup: false,
    chain: null,
    displayName: null,
    onMarkedDown: null,
    port: null,
    probe: false,
    proxyProtocolVersion: null,
    serverState: [],
    ssl: false,
    status: 'active',
    weight: 1,
    ...fields,
  };
}

export function serverHttp(
  fields: Pick<ServerHttp, 'serverId' | 'backendId' | 'address'> & Partial<ServerHttp>,
): ServerHttp {
  return { ...serverTcp(fields), cookie: null, ...fields };
}

/** An HTTP health probe (`GET <url>`, expecting 200), every 30 s: the farm's view of a healthy application. */
export function httpProbe(url = '/health'): BackendProbe {
  return {
    forceSsl: false,
    interval: 30,
    match: 'status',
    method: 'GET',
    negate: false,
    pattern: '200',
    port: null,
    type: 'http',
    url,
  };
}

/** The IDs of the default seed, for runbooks and tests. */
export const DEFAULT_SEED_IDS = {
  iplb: {
    serviceName: 'loadbalancer-local',
    protocol: 'http' as const,
    frontendId: 4001,
    farms: { gra: 5001, rbx: 5002 },
    servers: { gra: { farmId: 5001, serverId: 6001 }, rbx: { farmId: 5002, serverId: 6002 } },
  },
  dns: {
    zone: 'dr.example.test',
    recordId: 7001,
    subDomain: 'app',
    fieldType: 'A' as const,
    targets: { gra: '127.0.0.1', rbx: '127.0.0.2' },
  },
};

export type SeedSite = keyof typeof DEFAULT_SEED_IDS.iplb.farms;

/** Where the seed sends traffic: the IPLB frontend's farm and the DNS record's target, by site. */
export interface SeedTraffic {
  iplb: SeedSite;
  dns: SeedSite;
}

/**
 * One IPLB service with an HTTP frontend on the `gra` farm and one farm per site (each with one server), and one DNS
 * zone whose `app` A record points at the `gra` target (`traffic` names other sites). Server addresses are loopback
 * so the local stack can use them.
 */
export function defaultSeed(traffic: SeedTraffic = { iplb: 'gra', dns: 'gra' }): OvhSeed {
  const ids = DEFAULT_SEED_IDS;
  const record: DnsRecord = {
    fieldType: ids.dns.fieldType,
    id: ids.dns.recordId,
    subDomain: ids.dns.subDomain,
    target: ids.dns.targets[traffic.dns],
    ttl: 60,
    zone: ids.dns.zone,
  };
  return {
    iplb: [
      {
        serviceName: ids.iplb.serviceName,
        zones: ['gra', 'rbx'],
        config: {
          frontends: {
            http: [
              frontendHttp({
                frontendId: ids.iplb.frontendId,
                port: '80',
                zone: 'all',
                defaultFarmId: ids.iplb.farms[traffic.iplb],
                displayName: 'app',
              }),
            ],
            tcp: [],
          },
          farms: {
            http: [
              farm({
                farmId: ids.iplb.farms.gra,
                zone: 'gra',
                displayName: 'app-gra',
                balance: 'roundrobin',
                port: 8080,
                probe: httpProbe(),
              }),
              farm({
                farmId: ids.iplb.farms.rbx,
                zone: 'rbx',
                displayName: 'app-rbx',
                balance: 'roundrobin',
                port: 8080,
                probe: httpProbe(),
              }),
            ],
            tcp: [],
          },
          servers: {
            http: [
              serverHttp({
                serverId: 6001,
                backendId: ids.iplb.farms.gra,
                address: ids.dns.targets.gra,
                displayName: 'app-gra-1',
              }),
              serverHttp({
                serverId: 6002,
                backendId: ids.iplb.farms.rbx,
                address: ids.dns.targets.rbx,
                displayName: 'app-rbx-1',
              }),
            ],
            tcp: [],
          },
        },
      },
    ],
    dns: [
      {
        zone: ids.dns.zone,
        records: [
          record,
          {
            fieldType: 'NS',
            id: 7002,
            subDomain: '',
            target: 'ns1.dr.example.test.',
            ttl: null,
            zone: ids.dns.zone,
          },
        ],
      },
    ],
  };
}

/**
 * Where the default seed's objects send traffic in a snapshot: the applied frontend's farm and the deployed record's
 * target, by site; undefined when either is missing or points elsewhere than a seeded site.
 */
export function seedTrafficOf(snapshot: {
  iplb: {
    serviceName: string;
    applied: { frontends: { http: { frontendId: number; defaultFarmId: number | null }[] } };
  }[];
  dns: { zone: string; deployedRecords: { id: number; target: string }[] }[];
}): SeedTraffic | undefined {
  const ids = DEFAULT_SEED_IDS;
  const farmId = snapshot.iplb
    .find((s) => s.serviceName === ids.iplb.serviceName)
    ?.applied.frontends.http.find((f) => f.frontendId === ids.iplb.frontendId)?.defaultFarmId;
  const target = snapshot.dns
    .find((z) => z.zone === ids.dns.zone)
    ?.deployedRecords.find((r) => r.id === ids.dns.recordId)?.target;
  const sites = Object.keys(ids.iplb.farms) as SeedSite[];
  const iplb = sites.find((site) => ids.iplb.farms[site] === farmId);
  const dns = sites.find((site) => ids.dns.targets[site] === target);
  return iplb && dns ? { iplb, dns } : undefined;
}
