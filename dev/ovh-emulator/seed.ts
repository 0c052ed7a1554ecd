import type { CloudDbSeed, CloudDbServiceSeed, DbBackup, DbEngine } from './cloud-db';
import type { CloudHealthMonitor, CloudLbSeed, CloudMember } from './cloud-lb';
import { stableUuid } from './state';
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
  /** A Public Cloud project with one load balancer in GRA11: an HTTP listener and one pool per site. */
  cloudLb: {
    serviceName: stableUuid('cloud/project').replace(/-/g, ''),
    regionName: 'GRA11',
    loadBalancerId: stableUuid('cloud/lb/app'),
    listenerId: stableUuid('cloud/listener/app-http'),
    pools: { gra: stableUuid('cloud/pool/app-gra'), rbx: stableUuid('cloud/pool/app-rbx') },
    members: { gra: stableUuid('cloud/member/app-gra-1'), rbx: stableUuid('cloud/member/app-rbx-1') },
    healthMonitors: { gra: stableUuid('cloud/hm/app-gra'), rbx: stableUuid('cloud/hm/app-rbx') },
  },
  /**
   * A managed MySQL service of the same project in GRA, whose backups are copied to SBG (OVH's default off-site
   * region for GRA): an older backup and a recent one, both in GRA and SBG.
   */
  cloudDb: {
    serviceName: stableUuid('cloud/project').replace(/-/g, ''),
    clusterId: stableUuid('cloud/database/mysql/app'),
    region: 'GRA',
    backupRegion: 'SBG',
    backups: {
      older: stableUuid('cloud/database/backup/older'),
      latest: stableUuid('cloud/database/backup/latest'),
    },
    host: 'mysql-app.database.cloud.ovh.net',
    port: 20184,
    /** A managed PostgreSQL service of the same project and regions. */
    postgresql: {
      clusterId: stableUuid('cloud/database/postgresql/app'),
      backups: {
        older: stableUuid('cloud/database/backup/pg-older'),
        latest: stableUuid('cloud/database/backup/pg-latest'),
      },
      host: 'postgresql-app.database.cloud.ovh.net',
      port: 20185,
    },
  },
};

export type SeedSite = keyof typeof DEFAULT_SEED_IDS.iplb.farms;

const SEEDED_AT = '2026-01-01T00:00:00Z';

/** An HTTP health monitor (`GET /health`, expecting 200), as OVH's API shows one. */
export function cloudHealthMonitor(id: string, poolId: string, name: string): CloudHealthMonitor {
  return {
    delay: 5,
    httpConfiguration: {
      domainName: 'app.dr.example.test',
      expectedCodes: '200',
      httpMethod: 'GET',
      httpVersion: '1.1',
      urlPath: '/health',
    },
    id,
    maxRetries: 2,
    maxRetriesDown: 3,
    monitorType: 'http',
    name,
    operatingStatus: 'online',
    poolId,
    provisioningStatus: 'active',
    timeout: 3,
  };
}

export function cloudMember(
  fields: Pick<CloudMember, 'id' | 'name' | 'address'> & Partial<CloudMember>,
): CloudMember {
  return {
    operatingStatus: 'online',
    protocolPort: 8080,
    provisioningStatus: 'active',
    weight: 1,
    ...fields,
  };
}

/**
 * One Public Cloud load balancer whose HTTP listener sends traffic to the pool of `site` (gra by default), one pool
 * per site with one member each (the loopback addresses of the IPLB seed) and an HTTP health monitor per pool.
 */
export function cloudLbSeed(site: SeedSite = 'gra'): CloudLbSeed {
  const ids = DEFAULT_SEED_IDS.cloudLb;
  const pool = (s: SeedSite) => ({
    algorithm: 'roundRobin' as const,
    id: ids.pools[s],
    listenerId: null,
    loadbalancerId: ids.loadBalancerId,
    name: `app-${s}`,
    operatingStatus: 'online' as const,
    protocol: 'http',
    provisioningStatus: 'active' as const,
    sessionPersistence: null,
  });
  return {
    serviceName: ids.serviceName,
    regionName: ids.regionName,
    loadBalancers: [
      {
        createdAt: SEEDED_AT,
        flavorId: stableUuid('cloud/flavor/small'),
        floatingIp: null,
        id: ids.loadBalancerId,
        name: 'lb-app',
        operatingStatus: 'online',
        provisioningStatus: 'active',
        region: ids.regionName,
        updatedAt: SEEDED_AT,
        vipAddress: '127.0.0.1',
        vipNetworkId: stableUuid('cloud/network/app'),
        vipSubnetId: stableUuid('cloud/subnet/app'),
      },
    ],
    listeners: [
      {
        allowedCidrs: null,
        certificateId: null,
        defaultPoolId: ids.pools[site],
        description: null,
        id: ids.listenerId,
        loadBalancerIds: [ids.loadBalancerId],
        name: 'app-http',
        operatingStatus: 'online',
        port: 80,
        protocol: 'http',
        provisioningStatus: 'active',
        timeoutClientData: null,
        timeoutMemberData: null,
        tlsVersions: null,
      },
    ],
    pools: [pool('gra'), pool('rbx')],
    members: {
      [ids.pools.gra]: [
        cloudMember({ id: ids.members.gra, name: 'app-gra-1', address: DEFAULT_SEED_IDS.dns.targets.gra }),
      ],
      [ids.pools.rbx]: [
        cloudMember({ id: ids.members.rbx, name: 'app-rbx-1', address: DEFAULT_SEED_IDS.dns.targets.rbx }),
      ],
    },
    healthMonitors: [
      cloudHealthMonitor(ids.healthMonitors.gra, ids.pools.gra, 'hm-app-gra'),
      cloudHealthMonitor(ids.healthMonitors.rbx, ids.pools.rbx, 'hm-app-rbx'),
    ],
  };
}

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
    cloudLb: [cloudLbSeed()],
    cloudDb: [cloudDbSeed()],
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

/**
 * The managed MySQL and PostgreSQL services of `DEFAULT_SEED_IDS.cloudDb`, READY in GRA with 2 nodes (Business plan),
 * backups stored in GRA and SBG: one taken `latestBackupAgeMs` before `now` (5 minutes by default) and one a day
 * older; each has one user, app.
 */
export function cloudDbSeed(now = Date.now(), latestBackupAgeMs = 5 * 60_000): CloudDbSeed {
  const ids = DEFAULT_SEED_IDS.cloudDb;
  const mysql = {
    engine: 'mysql' as const,
    clusterId: ids.clusterId,
    backups: ids.backups,
    host: ids.host,
    port: ids.port,
  };
  const postgresql = { engine: 'postgresql' as const, ...ids.postgresql };
  return {
    serviceName: ids.serviceName,
    services: [mysql, postgresql].map((db) => seededDbService(db, now, latestBackupAgeMs)),
  };
}

function seededDbService(
  db: {
    engine: DbEngine;
    clusterId: string;
    backups: { older: string; latest: string };
    host: string;
    port: number;
  },
  now: number,
  latestBackupAgeMs: number,
): CloudDbServiceSeed {
  const { region, backupRegion } = DEFAULT_SEED_IDS.cloudDb;
  const backup = (id: string, ageMs: number): DbBackup => ({
    createdAt: new Date(now - ageMs).toISOString(),
    description: '',
    id,
    region,
    regions: [{ name: region }, { name: backupRegion }],
    size: { unit: 'B', value: 1_073_741_824 },
    status: 'READY',
    type: 'automatic',
  });
  const node = (i: number) => ({
    createdAt: SEEDED_AT,
    flavor: 'db1-4',
    id: stableUuid(`cloud/database/node/${db.engine}-app-${i}`),
    name: `${db.engine}-app-${i}.database.cloud.ovh.net`,
    port: db.port,
    region,
    role: 'STANDARD' as const,
    status: 'READY' as const,
  });
  const postgres = db.engine === 'postgresql';
  return {
    service: {
      backupTime: '02:00:00',
      backups: {
        pitr: new Date(now).toISOString(),
        regions: [region, backupRegion],
        retentionDays: 2,
        time: '02:00:00',
      },
      category: 'operational',
      createdAt: SEEDED_AT,
      description: 'app',
      disk: { size: 80, type: 'high-speed' },
      endpoints: [
        {
          component: db.engine,
          domain: db.host,
          path: '/defaultdb',
          port: db.port,
          scheme: postgres ? 'postgresql' : 'mysql',
          ssl: true,
          sslMode: postgres ? 'require' : 'REQUIRED',
          uri: postgres
            ? `postgresql://avnadmin@${db.host}:${db.port}/defaultdb?sslmode=require`
            : `mysql://avnadmin@${db.host}:${db.port}/defaultdb?ssl-mode=REQUIRED`,
        },
      ],
      engine: db.engine,
      flavor: 'db1-4',
      id: db.clusterId,
      ipRestrictions: [{ description: 'app servers', ip: '203.0.113.0/24', status: 'READY' }],
      maintenanceTime: '03:00:00',
      networkId: null,
      networkType: 'public',
      nodeNumber: 2,
      nodes: [node(1), node(2)],
      plan: 'business',
      region,
      status: 'READY',
      storage: null,
      subnetId: null,
      version: postgres ? '16' : '8',
    },
    backups: [
      backup(db.backups.older, latestBackupAgeMs + 86_400_000),
      backup(db.backups.latest, latestBackupAgeMs),
    ],
    users: [
      {
        createdAt: SEEDED_AT,
        id: stableUuid(`cloud/database/user/${db.engine}-app`),
        ...(postgres ? { roles: [] } : {}),
        status: 'READY',
        username: 'app',
      },
    ],
  };
}
