import { randomUUID } from 'node:crypto';
import { parseTimeValue } from './params';

export type Source = Record<string, unknown>;

export interface StoredDoc {
  id: string;
  source: Source;
  version: number;
  seqNo: number;
  primaryTerm: number;
}

/** One entry of the shard's operation history (soft deletes keep it; CCR reads it). */
export interface Operation {
  seqNo: number;
  primaryTerm: number;
  opType: 'index' | 'delete';
  id: string;
  version: number;
  source?: Source;
}

/** The "ccr" custom metadata of a follower index. */
export interface FollowerMetadata {
  remoteCluster: string;
  leaderIndex: string;
  leaderIndexUuid: string;
}

export interface WriteResult {
  id: string;
  seqNo: number;
  primaryTerm: number;
  version: number;
  result: 'created' | 'updated' | 'deleted' | 'not_found';
}

/** A copy of an index's documents at one moment (the leader's commit a CCR restore copies). */
export interface IndexSnapshot {
  docs: StoredDoc[];
  maxSeqNo: number;
  /** Source bytes of the documents: what the restore transfers, at the CCR recovery rate. */
  sizeInBytes: number;
}

export const FOLLOWING_INDEX_SETTING = 'index.xpack.ccr.following_index';
export const INDEX_VERSION_CREATED = '9009000';

/** Index UUIDs and generated ids look like Elasticsearch's: URL-safe base64 strings. */
export function newUuid(length = 22): string {
  return Buffer.from(randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''), 'hex')
    .toString('base64url')
    .slice(0, length);
}

/**
 * One index with a single primary shard: documents, the operation history with sequence numbers,
 * the searchable view as of the last refresh, and the flat `index.*` settings.
 */
export class EmulatedIndex {
  readonly uuid: string;
  readonly docs = new Map<string, StoredDoc>();
  /** Last version of every id ever written, so a re-created document continues its version. */
  private readonly versions = new Map<string, number>();
  readonly operations: Operation[] = [];
  searchable = new Map<string, StoredDoc>();
  state: 'open' | 'close' = 'open';
  primaryTerm = 1;
  maxSeqNo = -1;
  follower: FollowerMetadata | undefined;
  mappings: Record<string, unknown>;
  lastRefreshAt = Date.now();
  /** Set while the primary shard is being restored (a CCR remote recovery): the shard is not active yet. */
  restoring: { until: number; snapshot: IndexSnapshot; done: () => void } | undefined;

  constructor(
    readonly name: string,
    readonly settings: Record<string, string>,
    mappings: Record<string, unknown> = {},
    uuid?: string,
  ) {
    this.uuid = uuid ?? newUuid();
    this.settings['index.uuid'] = this.uuid;
    this.mappings = mappings;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** False while the primary shard is recovering (e.g. a CCR restore in progress). */
  get primaryActive(): boolean {
    return this.restoring === undefined;
  }

  get isFollower(): boolean {
    return this.follower !== undefined;
  }

  /** With one shard copy in sync, the global checkpoint is the highest processed sequence number. */
  get globalCheckpoint(): number {
    return this.maxSeqNo;
  }

  get numberOfReplicas(): number {
    return Number(this.settings['index.number_of_replicas'] ?? '1');
  }

  get numberOfShards(): number {
    return Number(this.settings['index.number_of_shards'] ?? '1');
  }

  get refreshIntervalMs(): number {
    try {
      return parseTimeValue(this.settings['index.refresh_interval'], 1000, 'index.refresh_interval');
    } catch {
      return 1000;
    }
  }

  /** A write on the primary: assigns the next sequence number. */
  indexOnPrimary(id: string, source: Source): WriteResult {
    const previous = this.docs.get(id);
    const version = (this.versions.get(id) ?? 0) + 1;
    const seqNo = this.maxSeqNo + 1;
    this.apply({
      seqNo,
      primaryTerm: this.primaryTerm,
      opType: 'index',
      id,
      version,
      source,
    });
    return { id, seqNo, primaryTerm: this.primaryTerm, version, result: previous ? 'updated' : 'created' };
  }

  deleteOnPrimary(id: string): WriteResult {
    const previous = this.docs.get(id);
    const version = (this.versions.get(id) ?? 0) + 1;
    const seqNo = this.maxSeqNo + 1;
    this.apply({
      seqNo,
      primaryTerm: this.primaryTerm,
      opType: 'delete',
      id,
      version,
    });
    return {
      id,
      seqNo,
      primaryTerm: this.primaryTerm,
      version,
      result: previous ? 'deleted' : 'not_found',
    };
  }

  /**
   * A leader operation replayed on a follower: same sequence number, rewritten with the follower's primary term.
   * An operation the shard already holds (at or below its max sequence number, e.g. replayed by a follow task
   * older than a restore) is skipped, as the following engine skips operations processed before.
   */
  applyReplicated(op: Operation): void {
    if (op.seqNo <= this.maxSeqNo) return;
    this.apply({ ...op, primaryTerm: this.primaryTerm });
  }

  /** Operations with a sequence number above `afterSeqNo`, oldest first. */
  operationsAfter(afterSeqNo: number, limit: number): Operation[] {
    const result: Operation[] = [];
    for (const op of this.operations) {
      if (op.seqNo > afterSeqNo) result.push(op);
      if (result.length >= limit) break;
    }
    return result;
  }

  /** The documents and checkpoint of this index now: what a CCR restore of its latest commit copies. */
  snapshot(): IndexSnapshot {
    return {
      docs: [...this.docs.values()].map((doc) => structuredClone(doc)),
      maxSeqNo: this.maxSeqNo,
      sizeInBytes: [...this.docs.values()].reduce(
        (sum, doc) => sum + Buffer.byteLength(JSON.stringify(doc.source)),
        0,
      ),
    };
  }

  /** Copies a snapshot's documents and checkpoint, as the end of a CCR restore of the leader's commit does. */
  restoreFrom(snapshot: IndexSnapshot): void {
    this.docs.clear();
    this.versions.clear();
    this.operations.length = 0;
    for (const doc of snapshot.docs) {
      this.docs.set(doc.id, { ...doc, primaryTerm: this.primaryTerm });
      this.versions.set(doc.id, doc.version);
    }
    this.maxSeqNo = snapshot.maxSeqNo;
    this.refresh();
  }

  refresh(): void {
    this.searchable = new Map(this.docs);
    this.lastRefreshAt = Date.now();
  }

  private apply(op: Operation): void {
    if (op.opType === 'index') {
      this.docs.set(op.id, {
        id: op.id,
        source: op.source ?? {},
        version: op.version,
        seqNo: op.seqNo,
        primaryTerm: op.primaryTerm,
      });
    } else {
      this.docs.delete(op.id);
    }
    this.versions.set(op.id, op.version);
    this.operations.push(op);
    this.maxSeqNo = Math.max(this.maxSeqNo, op.seqNo);
    this.updateDynamicMappings(op.source);
  }

  private updateDynamicMappings(source: Source | undefined): void {
    if (!source) return;
    const properties = (this.mappings.properties ?? {}) as Record<string, unknown>;
    mergeDynamicMapping(properties, source);
    this.mappings = { ...this.mappings, properties };
  }
}

/** Dynamic mapping as ES infers it for JSON values: strings become text with a keyword sub-field. */
function mergeDynamicMapping(properties: Record<string, unknown>, source: Source): void {
  for (const [field, value] of Object.entries(source)) {
    if (value === null || value === undefined) continue;
    if (properties[field] !== undefined && typeof value !== 'object') continue;
    if (typeof value === 'string') {
      properties[field] = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
    } else if (typeof value === 'number') {
      properties[field] = { type: Number.isInteger(value) ? 'long' : 'float' };
    } else if (typeof value === 'boolean') {
      properties[field] = { type: 'boolean' };
    } else if (Array.isArray(value)) {
      const first = value.find((v) => v !== null);
      if (first !== undefined && properties[field] === undefined)
        mergeDynamicMapping(properties, { [field]: first });
    } else if (typeof value === 'object') {
      const existing = properties[field] as { properties?: Record<string, unknown> } | undefined;
      const nested = existing?.properties ?? {};
      mergeDynamicMapping(nested, value as Source);
      properties[field] = { properties: nested };
    }
  }
}
