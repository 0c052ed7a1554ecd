import { AutoFollowCoordinator } from './auto-follow';
import { ClusterSettings } from './cluster-settings';
import { EsError, indexAlreadyExists, indexNotFound, invalidIndexName } from './errors';
import { EmulatedIndex, INDEX_VERSION_CREATED, newUuid } from './index-state';
import { connectToRemote, type Network, type RemoteConnection } from './remote';
import { PitRegistry } from './pit';
import type { IndexFollowTask } from './replication';

export type ForcedHealth = 'yellow' | 'red';

export interface ClusterFaults {
  down: boolean;
  health: ForcedHealth | undefined;
  delayMs: number;
}

export interface ClusterOptions {
  name: string;
  /** Number of data nodes; replicas beyond `nodes - 1` stay unassigned (yellow), as on a real cluster. */
  nodes: number;
  /** Time between a follower reading leader operations and writing them to its shard. */
  replicationDelayMs: number;
  /** The Elasticsearch major version emulated: `GET /` and the REST compatibility headers it accepts. */
  majorVersion: EsMajorVersion;
}

export type EsMajorVersion = 8 | 9;

export function noFaults(): ClusterFaults {
  return { down: false, health: undefined, delayMs: 0 };
}

/** The state of one emulated Elasticsearch cluster. HTTP lives in server.ts, APIs in api-*.ts. */
export class EmulatedCluster {
  readonly uuid = newUuid();
  /** The id of the cluster's one node (node ids are random UUIDs). */
  readonly nodeId = newUuid();
  readonly indices = new Map<string, EmulatedIndex>();
  readonly settings = new ClusterSettings();
  /** The shard follow tasks of each follower index, by follower index name. */
  readonly followTasks = new Map<string, IndexFollowTask>();
  readonly autoFollow = new AutoFollowCoordinator();
  readonly pits = new PitRegistry(this.uuid, this.nodeId);
  faults: ClusterFaults = noFaults();
  /** Incremented on every metadata change, as the cluster state metadata version is. */
  metadataVersion = 1;
  /** `host:port` this cluster listens on; seeds and proxy addresses of other clusters point here. */
  address = '';

  constructor(
    readonly options: ClusterOptions,
    private readonly network: Network,
  ) {}

  get name(): string {
    return this.options.name;
  }

  get nodeName(): string {
    return `${this.options.name}-node-0`;
  }

  get majorVersion(): EsMajorVersion {
    return this.options.majorVersion;
  }

  get nodeCount(): number {
    return this.options.nodes;
  }

  get isDown(): boolean {
    return this.faults.down;
  }

  /** The index or an index_not_found_exception. */
  index(name: string): EmulatedIndex {
    const index = this.indices.get(name);
    if (!index) throw indexNotFound(name);
    return index;
  }

  createIndex(
    name: string,
    requestSettings: Map<string, string>,
    mappings: Record<string, unknown> = {},
  ): EmulatedIndex {
    validateIndexName(name);
    const existing = this.indices.get(name);
    if (existing) throw indexAlreadyExists(name, existing.uuid);
    const index = new EmulatedIndex(name, defaultIndexSettings(name, requestSettings), mappings);
    this.indices.set(name, index);
    this.metadataVersion++;
    return index;
  }

  deleteIndex(name: string): void {
    const index = this.index(name);
    this.indices.delete(name);
    index.restoring?.done();
    this.followTasks.delete(name);
    this.metadataVersion++;
  }

  connectToRemote(alias: string): RemoteConnection<EmulatedCluster> {
    return connectToRemote<EmulatedCluster>(this, this.settings.effective(), alias, this.network);
  }

  /** Background work of one node: periodic refreshes, shard follow tasks, auto-follow patterns. */
  tick(now: number): void {
    if (this.isDown) return;
    for (const index of this.indices.values()) {
      if (index.restoring && now >= index.restoring.until) finishRestore(index);
      if (index.isOpen && now - index.lastRefreshAt >= index.refreshIntervalMs) index.refresh();
    }
    for (const [name, task] of this.followTasks) {
      const follower = this.indices.get(name);
      if (!follower || follower.uuid !== task.followerIndexUuid) {
        this.followTasks.delete(name);
        continue;
      }
      task.tick(now, follower, () => this.lookupLeader(task), this.options.replicationDelayMs);
    }
    this.autoFollow.tick(this, now);
    this.pits.reap(now);
  }

  resetData(): void {
    const restoring = [...this.indices.values()].filter((index) => index.restoring);
    this.indices.clear();
    for (const index of restoring) index.restoring?.done();
    this.followTasks.clear();
    this.settings.clear();
    this.autoFollow.clear();
    this.pits.clear();
    this.metadataVersion++;
  }

  private lookupLeader(
    task: IndexFollowTask,
  ): { ok: true; index: EmulatedIndex | undefined } | { ok: false; error: EsError } {
    try {
      const connection = this.connectToRemote(task.remoteCluster);
      if (!connection.ok) return { ok: false, error: connection.error };
      return { ok: true, index: connection.cluster.indices.get(task.leaderIndex) };
    } catch (error) {
      if (error instanceof EsError) return { ok: false, error };
      throw error;
    }
  }
}

/** The end of a CCR restore: the leader's commit is in place and the primary shard becomes active. */
function finishRestore(index: EmulatedIndex): void {
  const restoring = index.restoring;
  if (!restoring) return;
  index.restoreFrom(restoring.snapshot);
  index.restoring = undefined;
  restoring.done();
}

/** MetadataCreateIndexService.validateIndexOrAliasName, the rules a REST client can hit. */
export function validateIndexName(name: string): void {
  if (name !== name.toLowerCase()) throw invalidIndexName(name, 'must be lowercase');
  if (/[\\/*?"<>| ,]/.test(name)) {
    // Strings.INVALID_FILENAME_CHARS; ES prints the set, whose order is not stable.
    throw invalidIndexName(name, 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]');
  }
  if (name.includes('#')) throw invalidIndexName(name, "must not contain '#'");
  if (name.includes(':')) throw invalidIndexName(name, "must not contain ':'");
  if (/^[-_+]/.test(name)) throw invalidIndexName(name, "must not start with '_', '-', or '+'");
  const bytes = Buffer.byteLength(name);
  if (bytes > 255) throw invalidIndexName(name, `index name is too long, (${bytes} > 255)`);
  if (name === '.' || name === '..') throw invalidIndexName(name, "must not be '.' or '..'");
}

function defaultIndexSettings(name: string, requested: Map<string, string>): Record<string, string> {
  const settings: Record<string, string> = {
    'index.routing.allocation.include._tier_preference': 'data_content',
    'index.number_of_shards': '1',
    'index.provided_name': name,
    'index.creation_date': String(Date.now()),
    'index.number_of_replicas': '1',
    'index.version.created': INDEX_VERSION_CREATED,
  };
  for (const [key, value] of requested) settings[key.startsWith('index.') ? key : `index.${key}`] = value;
  return settings;
}
