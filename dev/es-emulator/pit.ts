import { EsError, illegalArgument, type ErrorCause } from './errors';
import type { EmulatedIndex, StoredDoc } from './index-state';

/**
 * Points in time (POST /<index>/_pit, DELETE /_pit, `pit` in a search). Opening one keeps a reader context per
 * shard of the target indices: the shard's searchable documents as of that moment (its last refresh), whatever
 * is written afterwards. Each context has its own id, numbered by the node, and lives `keep_alive` after its last
 * use; a search's `pit.keep_alive` sets a new one. The PIT id lists the contexts (index, shard, context id), so a
 * search with an id whose contexts are gone can say which.
 */

/** One shard's reader context: the documents it saw when the point in time was opened, in doc ID order. */
export interface ShardReaderContext {
  contextId: number;
  index: string;
  indexUuid: string;
  shard: number;
  docs: StoredDoc[];
  keepAliveMs: number;
  lastAccessAt: number;
}

/** What a PIT id refers to, once decoded. */
export interface PitReference {
  cluster: string;
  shards: { index: string; indexUuid: string; shard: number; contextId: number }[];
}

const ID_PREFIX = 'emulator-pit:';

/** A PIT id as ES writes it: URL-safe base64 with `=` padding (Base64.getUrlEncoder()), opaque to clients. */
export function encodePitId(reference: PitReference): string {
  const base64url = Buffer.from(ID_PREFIX + JSON.stringify(reference)).toString('base64url');
  return base64url + '='.repeat((4 - (base64url.length % 4)) % 4);
}

export function decodePitId(id: string): PitReference {
  let text: string;
  try {
    text = Buffer.from(id, 'base64url').toString('utf8');
  } catch {
    text = '';
  }
  if (!text.startsWith(ID_PREFIX)) throw illegalArgument(`invalid point in time id [${id}]`);
  try {
    return JSON.parse(text.slice(ID_PREFIX.length)) as PitReference;
  } catch {
    throw illegalArgument(`invalid point in time id [${id}]`);
  }
}

/** SearchContextMissingException: 404, "No search context found for id [N]". */
export function searchContextMissing(contextId: number): EsError {
  return new EsError(
    404,
    'search_context_missing_exception',
    `No search context found for id [${contextId}]`,
  );
}

/** One failed shard of a search, as ShardSearchFailure renders it. */
export interface ShardFailure {
  shard: number;
  index: string;
  node: string;
  reason: ErrorCause;
  status: number;
}

/**
 * SearchPhaseExecutionException when every shard failed: reason "all shards failed", the grouped shard failures
 * in `failed_shards`, their causes as root causes, and the status of the shard failures.
 */
export class AllShardsFailed extends EsError {
  constructor(
    readonly phase: string,
    readonly failures: ShardFailure[],
  ) {
    super(failures[0]?.status ?? 503, 'search_phase_execution_exception', 'all shards failed', {
      phase,
      grouped: true,
      failed_shards: failures.map(({ shard, index, node, reason }) => ({ shard, index, node, reason })),
    });
  }

  override toBody() {
    const body = super.toBody();
    body.error.root_cause = this.failures.map((f) => ({ type: f.reason.type, reason: f.reason.reason }));
    return body;
  }
}

export class PitRegistry {
  private readonly contexts = new Map<number, ShardReaderContext>();
  private nextContextId = 1;

  constructor(
    private readonly clusterUuid: string,
    private readonly nodeId: string,
  ) {}

  /** Opens a reader context on every shard of `indices`; returns the PIT id and the number of shards. */
  open(indices: EmulatedIndex[], keepAliveMs: number, now: number): { id: string; shards: number } {
    const shards: PitReference['shards'] = [];
    for (const index of [...indices].sort((a, b) => a.name.localeCompare(b.name))) {
      for (const shard of index.shards) {
        const contextId = this.nextContextId++;
        this.contexts.set(contextId, {
          contextId,
          index: index.name,
          indexUuid: index.uuid,
          shard: shard.id,
          docs: shard.searchableInDocIdOrder().map((doc) => structuredClone(doc)),
          keepAliveMs,
          lastAccessAt: now,
        });
        shards.push({ index: index.name, indexUuid: index.uuid, shard: shard.id, contextId });
      }
    }
    return { id: encodePitId({ cluster: this.clusterUuid, shards }), shards: shards.length };
  }

  /**
   * The live contexts of a PIT, in the PIT's shard order (the `_shard_doc` shard index), each touched (and given
   * `keepAliveMs` when set), and the failures of the shards whose context is gone (expired or closed).
   */
  use(
    reference: PitReference,
    keepAliveMs: number | undefined,
    now: number,
  ): { contexts: { context: ShardReaderContext; shardIndex: number }[]; failures: ShardFailure[] } {
    this.reap(now);
    const contexts: { context: ShardReaderContext; shardIndex: number }[] = [];
    const failures: ShardFailure[] = [];
    reference.shards.forEach((ref, shardIndex) => {
      const context = reference.cluster === this.clusterUuid ? this.contexts.get(ref.contextId) : undefined;
      if (!context) {
        const missing = searchContextMissing(ref.contextId);
        failures.push({
          shard: ref.shard,
          index: ref.index,
          node: this.nodeId,
          reason: missing.toCause(),
          status: missing.status,
        });
        return;
      }
      if (keepAliveMs !== undefined) context.keepAliveMs = keepAliveMs;
      context.lastAccessAt = now;
      contexts.push({ context, shardIndex });
    });
    return { contexts, failures };
  }

  /** Frees the PIT's contexts that still exist; `succeeded` only when all of them did. */
  close(reference: PitReference, now: number): { succeeded: boolean; numFreed: number } {
    this.reap(now);
    let numFreed = 0;
    for (const ref of reference.shards) {
      if (reference.cluster === this.clusterUuid && this.contexts.delete(ref.contextId)) numFreed++;
    }
    return { succeeded: numFreed === reference.shards.length, numFreed };
  }

  /** Frees the contexts not used within their keep-alive (ES's reaper does it every `search.keep_alive_interval`). */
  reap(now: number): void {
    for (const [id, context] of this.contexts) {
      if (now - context.lastAccessAt > context.keepAliveMs) this.contexts.delete(id);
    }
  }

  get openContexts(): number {
    return this.contexts.size;
  }

  clear(): void {
    this.contexts.clear();
  }
}
