import { randomUUID } from 'node:crypto';
import { parseTimeValue } from './params';
import { defaultRoutingNumShards, shardIdFor } from './routing';

export type Source = Record<string, unknown>;

export interface StoredDoc {
  id: string;
  source: Source;
  version: number;
  seqNo: number;
  primaryTerm: number;
  /** Lucene's internal doc ID within the shard: every write of a document gets a new, higher one. */
  docId: number;
  /** The custom routing value it was written with, if any. */
  routing?: string;
}

/** One entry of the shard's operation history (soft deletes keep it; CCR reads it). */
export interface Operation {
  seqNo: number;
  primaryTerm: number;
  opType: 'index' | 'delete';
  id: string;
  version: number;
  source?: Source;
  routing?: string;
}

/** The "ccr" custom metadata of a follower index. */
export interface FollowerMetadata {
  remoteCluster: string;
  leaderIndex: string;
  leaderIndexUuid: string;
}

export interface WriteResult {
  id: string;
  /** The shard that took the write: sequence numbers are per shard. */
  shard: number;
  seqNo: number;
  primaryTerm: number;
  version: number;
  result: 'created' | 'updated' | 'deleted' | 'not_found';
}

/** A copy of one shard's documents at one moment (the leader's commit a CCR restore copies). */
export interface ShardSnapshot {
  docs: StoredDoc[];
  maxSeqNo: number;
}

/** A copy of an index's shards at one moment. */
export interface IndexSnapshot {
  shards: ShardSnapshot[];
  /** Source bytes of the documents: what the restore transfers, at the CCR recovery rate. */
  sizeInBytes: number;
}

export const FOLLOWING_INDEX_SETTING = 'index.xpack.ccr.following_index';
export const INDEX_VERSION_CREATED = '9009000';
export const WRITE_BLOCK_SETTING = 'index.blocks.write';

/** Index UUIDs and generated ids look like Elasticsearch's: URL-safe base64 strings. */
export function newUuid(length = 22): string {
  return Buffer.from(randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, ''), 'hex')
    .toString('base64url')
    .slice(0, length);
}

/**
 * One primary shard: its documents, its operation history with its own sequence numbers (they start at 0 on
 * every shard), and the searchable view as of the last refresh.
 */
export class EmulatedShard {
  readonly docs = new Map<string, StoredDoc>();
  /** Last version of every id ever written, so a re-created document continues its version. */
  private readonly versions = new Map<string, number>();
  readonly operations: Operation[] = [];
  searchable = new Map<string, StoredDoc>();
  maxSeqNo = -1;
  private nextDocId = 0;

  constructor(readonly id: number) {}

  /** With one shard copy in sync, the global checkpoint is the highest processed sequence number. */
  get globalCheckpoint(): number {
    return this.maxSeqNo;
  }

  /** A write on the primary: assigns the shard's next sequence number. */
  write(
    opType: 'index' | 'delete',
    id: string,
    primaryTerm: number,
    source?: Source,
    routing?: string,
  ): WriteResult {
    const previous = this.docs.get(id);
    const version = (this.versions.get(id) ?? 0) + 1;
    const seqNo = this.maxSeqNo + 1;
    this.apply({ seqNo, primaryTerm, opType, id, version, source, routing });
    const result =
      opType === 'index' ? (previous ? 'updated' : 'created') : previous ? 'deleted' : 'not_found';
    return { id, shard: this.id, seqNo, primaryTerm, version, result };
  }

  /**
   * A leader operation replayed on a follower: same sequence number, rewritten with the follower's primary term.
   * An operation the shard already holds (at or below its max sequence number, e.g. replayed by a follow task
   * older than a restore) is skipped, as the following engine skips operations processed before.
   */
  applyReplicated(op: Operation, primaryTerm: number): boolean {
    if (op.seqNo <= this.maxSeqNo) return false;
    this.apply({ ...op, primaryTerm });
    return true;
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

  snapshot(): ShardSnapshot {
    return { docs: [...this.docs.values()].map((doc) => structuredClone(doc)), maxSeqNo: this.maxSeqNo };
  }

  /** Copies a snapshot's documents and checkpoint (the segment files: doc IDs are kept). */
  restoreFrom(snapshot: ShardSnapshot, primaryTerm: number): void {
    this.docs.clear();
    this.versions.clear();
    this.operations.length = 0;
    for (const doc of snapshot.docs) {
      this.docs.set(doc.id, { ...doc, primaryTerm });
      this.versions.set(doc.id, doc.version);
    }
    this.nextDocId = Math.max(0, ...snapshot.docs.map((doc) => doc.docId + 1));
    this.maxSeqNo = snapshot.maxSeqNo;
    this.refresh();
  }

  refresh(): void {
    this.searchable = new Map(this.docs);
  }

  /** The searchable documents in the order of their doc IDs, as a Lucene reader visits them. */
  searchableInDocIdOrder(): StoredDoc[] {
    return [...this.searchable.values()].sort((a, b) => a.docId - b.docId);
  }

  private apply(op: Operation): void {
    if (op.opType === 'index') {
      this.docs.set(op.id, {
        id: op.id,
        source: op.source ?? {},
        version: op.version,
        seqNo: op.seqNo,
        primaryTerm: op.primaryTerm,
        docId: this.nextDocId++,
        ...(op.routing === undefined ? {} : { routing: op.routing }),
      });
    } else {
      this.docs.delete(op.id);
    }
    this.versions.set(op.id, op.version);
    this.operations.push(op);
    this.maxSeqNo = Math.max(this.maxSeqNo, op.seqNo);
  }
}

/**
 * One index: `index.number_of_shards` primary shards (fixed at creation, as the setting is final), documents
 * routed to them by `_routing` (default `_id`), the flat `index.*` settings and the mappings.
 */
export class EmulatedIndex {
  readonly uuid: string;
  readonly shards: EmulatedShard[];
  state: 'open' | 'close' = 'open';
  primaryTerm = 1;
  follower: FollowerMetadata | undefined;
  mappings: Record<string, unknown>;
  lastRefreshAt = Date.now();
  /** Set while the primary shards are being restored (a CCR remote recovery): they are not active yet. */
  restoring: { until: number; snapshot: IndexSnapshot; done: () => void } | undefined;
  private readonly routingNumShards: number;

  constructor(
    readonly name: string,
    readonly settings: Record<string, string>,
    mappings: Record<string, unknown> = {},
    uuid?: string,
  ) {
    this.uuid = uuid ?? newUuid();
    this.settings['index.uuid'] = this.uuid;
    this.mappings = mappings;
    const shards = Number(this.settings['index.number_of_shards'] ?? '1');
    this.shards = Array.from({ length: shards }, (_, id) => new EmulatedShard(id));
    const routingShards = this.settings['index.number_of_routing_shards'];
    this.routingNumShards = routingShards ? Number(routingShards) : defaultRoutingNumShards(shards);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** False while the primary shards are recovering (e.g. a CCR restore in progress). */
  get primaryActive(): boolean {
    return this.restoring === undefined;
  }

  get isFollower(): boolean {
    return this.follower !== undefined;
  }

  /** `index.blocks.write` is set to true (by the settings API or the add index block API). */
  get writeBlocked(): boolean {
    return this.settings[WRITE_BLOCK_SETTING] === 'true';
  }

  get numberOfReplicas(): number {
    return Number(this.settings['index.number_of_replicas'] ?? '1');
  }

  get numberOfShards(): number {
    return this.shards.length;
  }

  get refreshIntervalMs(): number {
    try {
      return parseTimeValue(this.settings['index.refresh_interval'], 1000, 'index.refresh_interval');
    } catch {
      return 1000;
    }
  }

  /** The shard of a document: by its routing value when it was given one, else by its id. */
  shardFor(id: string, routing?: string): EmulatedShard {
    return this.shards[shardIdFor(routing ?? id, this.shards.length, this.routingNumShards)] as EmulatedShard;
  }

  /** The current (not only refreshed) document, looked up on the shard its routing points to. */
  document(id: string, routing?: string): StoredDoc | undefined {
    return this.shardFor(id, routing).docs.get(id);
  }

  get docCount(): number {
    return this.shards.reduce((sum, shard) => sum + shard.docs.size, 0);
  }

  /** Every current document, shard by shard. */
  allDocs(): StoredDoc[] {
    return this.shards.flatMap((shard) => [...shard.docs.values()]);
  }

  /** A write on the primary of the document's shard. */
  indexOnPrimary(id: string, source: Source, routing?: string): WriteResult {
    const result = this.shardFor(id, routing).write('index', id, this.primaryTerm, source, routing);
    this.updateDynamicMappings(source);
    return result;
  }

  deleteOnPrimary(id: string, routing?: string): WriteResult {
    return this.shardFor(id, routing).write('delete', id, this.primaryTerm, undefined, routing);
  }

  /** A leader shard's operation replayed on the same-numbered shard of this follower. */
  applyReplicated(shard: number, op: Operation): void {
    if ((this.shards[shard] as EmulatedShard).applyReplicated(op, this.primaryTerm))
      this.updateDynamicMappings(op.source);
  }

  /** The documents and checkpoints of this index now: what a CCR restore of its latest commit copies. */
  snapshot(): IndexSnapshot {
    const shards = this.shards.map((shard) => shard.snapshot());
    const sizeInBytes = shards
      .flatMap((shard) => shard.docs)
      .reduce((sum, doc) => sum + Buffer.byteLength(JSON.stringify(doc.source)), 0);
    return { shards, sizeInBytes };
  }

  /** Copies a snapshot shard by shard, as the end of a CCR restore of the leader's commit does. */
  restoreFrom(snapshot: IndexSnapshot): void {
    snapshot.shards.forEach((shard, i) => this.shards[i]?.restoreFrom(shard, this.primaryTerm));
    this.refresh();
  }

  refresh(): void {
    for (const shard of this.shards) shard.refresh();
    this.lastRefreshAt = Date.now();
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
