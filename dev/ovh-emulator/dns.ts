import { badRequest, objectNotFound, serviceNotFound } from './errors';
import { NO_CONTENT, type ApiRequest, type Route } from './router';
import {
  clone,
  stableUuid,
  type DnsRecord,
  type DnsZoneSeed,
  type EmulatorClock,
  type EmulatorTiming,
} from './state';

const BASE = '/domain/zone/{zoneName}';
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

interface ZoneRecord {
  name: string;
  /** What the API shows and edits. */
  records: DnsRecord[];
  /** What the name servers answer: only a finished zone refresh changes it. */
  deployed: DnsRecord[];
  changeSeq: number;
  deployedSeq: number;
  deployment?: { snapshot: DnsRecord[]; seq: number; readyAt: number };
  lastUpdate: string;
}

export interface DnsZoneView {
  zone: string;
  records: DnsRecord[];
  deployedRecords: DnsRecord[];
  isDeployed: boolean;
}

/** DNS zones: records, zone refresh, and the deployment status the refresh drives. */
export class DnsEmulator {
  private readonly zones = new Map<string, ZoneRecord>();

  constructor(
    seed: readonly DnsZoneSeed[],
    private readonly clock: EmulatorClock,
    private readonly timing: () => EmulatorTiming,
  ) {
    for (const zone of seed) {
      const records = clone(zone.records).sort((a, b) => a.id - b.id);
      this.zones.set(zone.zone, {
        name: zone.zone,
        records,
        deployed: clone(records),
        changeSeq: 0,
        deployedSeq: 0,
        lastUpdate: clock.iso(),
      });
    }
  }

  advance(): void {
    const now = this.clock.now();
    for (const zone of this.zones.values()) {
      if (zone.deployment && now >= zone.deployment.readyAt) {
        zone.deployed = zone.deployment.snapshot;
        zone.deployedSeq = zone.deployment.seq;
        zone.deployment = undefined;
      }
    }
  }

  view(name: string): DnsZoneView | undefined {
    this.advance();
    const zone = this.zones.get(name);
    if (!zone) return undefined;
    return clone({
      zone: zone.name,
      records: zone.records,
      deployedRecords: zone.deployed,
      isDeployed: isDeployed(zone),
    });
  }

  zoneNames(): string[] {
    return [...this.zones.keys()];
  }

  routes(): Route[] {
    return [
      { method: 'GET', path: '/domain/zone', handle: () => this.zoneNames() },
      { method: 'GET', path: BASE, handle: (r) => this.zoneInfo(this.zone(r)) },
      { method: 'GET', path: `${BASE}/record`, handle: (r) => this.listRecords(this.zone(r), r) },
      { method: 'GET', path: `${BASE}/record/{id}`, handle: (r) => clone(this.record(this.zone(r), r)) },
      { method: 'PUT', path: `${BASE}/record/{id}`, handle: (r) => this.updateRecord(this.zone(r), r) },
      {
        method: 'POST',
        path: `${BASE}/refresh`,
        handle: (r) => {
          this.refresh(this.zone(r));
          return NO_CONTENT;
        },
      },
      {
        method: 'GET',
        path: `${BASE}/status`,
        handle: (r) => ({ errors: [], isDeployed: isDeployed(this.zone(r)), warnings: [] }),
      },
    ];
  }

  private zone(request: ApiRequest): ZoneRecord {
    this.advance();
    const name = request.params.zoneName ?? '';
    const zone = this.zones.get(name);
    if (!zone) throw serviceNotFound();
    return zone;
  }

  private zoneInfo(zone: ZoneRecord) {
    return {
      dnssecSupported: true,
      hasDnsAnycast: false,
      iam: {
        displayName: null,
        id: stableUuid(`domain/${zone.name}`),
        tags: null,
        urn: `urn:v1:eu:resource:dnsZone:${zone.name}`,
      },
      lastUpdate: zone.lastUpdate,
      name: zone.name,
      nameServers: ['dns1.emulator.invalid', 'ns1.emulator.invalid'],
    };
  }

  private record(zone: ZoneRecord, request: ApiRequest): DnsRecord {
    const id = Number(request.params.id);
    const record = zone.records.find((r) => r.id === id);
    if (!record) throw objectNotFound('id', id);
    return record;
  }

  private listRecords(zone: ZoneRecord, request: ApiRequest): number[] {
    const fieldType = request.query.get('fieldType');
    const subDomain = request.query.get('subDomain');
    return zone.records
      .filter((r) => fieldType === null || r.fieldType === fieldType)
      .filter((r) => subDomain === null || (r.subDomain ?? '') === subDomain)
      .map((r) => r.id);
  }

  /** `domain.zone.RecordUpdate` has no `fieldType`: the schema check has already refused a body that sets it. */
  private updateRecord(zone: ZoneRecord, request: ApiRequest): void {
    const record = this.record(zone, request);
    const update = (request.body ?? {}) as {
      subDomain?: string | null;
      target?: string;
      ttl?: number | null;
    };
    if (update.target !== undefined) checkTarget(record.fieldType, update.target);
    if (update.subDomain !== undefined) record.subDomain = update.subDomain;
    if (update.target !== undefined) record.target = update.target;
    if (update.ttl !== undefined) record.ttl = update.ttl;
    zone.changeSeq += 1;
    zone.lastUpdate = this.clock.iso();
  }

  private refresh(zone: ZoneRecord): void {
    zone.deployment = {
      snapshot: clone(zone.records),
      seq: zone.changeSeq,
      readyAt: this.clock.now() + this.timing().dnsDeployMs,
    };
    this.advance();
  }
}

function isDeployed(zone: ZoneRecord): boolean {
  return zone.deployment === undefined && zone.deployedSeq === zone.changeSeq;
}

function checkTarget(fieldType: DnsRecord['fieldType'], target: string): void {
  if (fieldType === 'A' && !IPV4.test(target)) throw badRequest(`Invalid target for an A record: ${target}`);
  if (fieldType === 'AAAA' && !target.includes(':'))
    throw badRequest(`Invalid target for an AAAA record: ${target}`);
}
