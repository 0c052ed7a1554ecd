import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, errors } from '@elastic/elasticsearch';
import {
  assertPortsFree,
  logFile,
  runningPid,
  startDaemon,
  stopDaemon,
  tsEntry,
  waitFor,
  waitForDaemon,
} from '../daemon';
import { stackDir, stackPort } from '../settings';
import type { ServiceStatus, StackService } from '../service';
import {
  loadSavedEsState,
  readEsCluster,
  restoreEsClusters,
  saveEsState,
  type SavedEsCluster,
} from './es-state';

/** What the ES emulator's pair is seeded with: leader indices on gra, each followed by rbx, and an auto-follow. */
export interface EsSeed {
  leaderSite: string;
  followerSite: string;
  /** The alias under which rbx knows gra. */
  remoteAlias: string;
  /** Leader indices on gra, followed by same-named indices on rbx, with their seed documents. */
  indices: Record<string, { id: string; doc: Record<string, unknown> }[]>;
  /** Auto-follow pattern on rbx, and a leader index created after it (so that it is auto-followed); absent: none. */
  autoFollow?: {
    name: string;
    leaderPatterns: readonly string[];
    followIndexPattern: string;
    followedIndex: string;
  };
  /** Primary shards of the seeded leader indices (their followers take the same). */
  shards: number;
}

/**
 * The local DR pair's Elasticsearch side (config/runbooks/local.yaml refers to these names): gra is the leader,
 * rbx follows it. The follower holds the remote connection (`cluster.remote.gra` on rbx). Elasticsearch defaults to
 * 1 primary shard since 7.0; 3 keep shard-order bugs (paging, per-shard sequence numbers) visible on the local pair.
 */
export const ES_SEED = {
  leaderSite: 'gra',
  followerSite: 'rbx',
  remoteAlias: 'gra',
  indices: {
    orders: [
      { id: 'o-1001', doc: { customer: 'c-1', total: 42.5, status: 'paid' } },
      { id: 'o-1002', doc: { customer: 'c-2', total: 17.0, status: 'shipped' } },
      { id: 'o-1003', doc: { customer: 'c-1', total: 99.9, status: 'new' } },
    ],
    customers: [
      { id: 'c-1', doc: { name: 'Ada', country: 'FR' } },
      { id: 'c-2', doc: { name: 'Linus', country: 'FI' } },
    ],
  },
  autoFollow: {
    name: 'logs-from-gra',
    leaderPatterns: ['logs-*'],
    followIndexPattern: '{{leader_index}}',
    followedIndex: 'logs-app-000001',
  },
  shards: 3,
} as const satisfies EsSeed;

/** Every follower index a pair seeded with `seed` has on rbx: the seed's leader indices and the auto-followed one. */
export function seededFollowerIndices(seed: EsSeed): string[] {
  return [...Object.keys(seed.indices), ...(seed.autoFollow ? [seed.autoFollow.followedIndex] : [])];
}

/**
 * ES_SEED scaled to `count` follower indices on rbx, for scale measurements: 1 is `orders` alone and 2 adds
 * `customers`, without the auto-follow; 3 is ES_SEED; more adds leader indices `scale-0001`… of one document each.
 */
export function esSeedWithFollowers(count: number): EsSeed {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`follower indices: expected a whole number ≥ 1, got ${count}`);
  const { autoFollow, ...seed } = ES_SEED;
  const base: EsSeed = { ...seed, indices: { ...seed.indices } };
  if (count < 3)
    return {
      ...base,
      indices: Object.fromEntries(Object.entries(base.indices).slice(0, count)),
    };
  const extra = Array.from({ length: count - 3 }, (_, i) => `scale-${String(i + 1).padStart(4, '0')}`);
  return {
    ...base,
    autoFollow,
    indices: {
      ...base.indices,
      ...Object.fromEntries(extra.map((index) => [index, [{ id: '1', doc: { index } }]])),
    },
  };
}

const url = (port: number) => `http://127.0.0.1:${port}`;

/** Where the service lives and listens, read from the environment once, when the service is built. */
interface EsEmulatorPlace {
  spec: { name: string; runDir: string };
  /** The pair as `down` left it, rebuilt at the next start (see es-state.ts). */
  stateFile: string;
  graPort: number;
  rbxPort: number;
}

function place(): EsEmulatorPlace {
  return {
    spec: { name: 'es-emulator', runDir: path.join(stackDir(), 'es-emulator') },
    stateFile: path.join(stackDir(), 'es-emulator', 'state.json'),
    graPort: stackPort('ES_GRA'),
    rbxPort: stackPort('ES_RBX'),
  };
}

function clients(at: EsEmulatorPlace): { gra: Client; rbx: Client; close: () => Promise<void> } {
  const gra = new Client({ node: url(at.graPort), maxRetries: 0, requestTimeout: 5000 });
  const rbx = new Client({ node: url(at.rbxPort), maxRetries: 0, requestTimeout: 5000 });
  return { gra, rbx, close: async () => void (await Promise.all([gra.close(), rbx.close()])) };
}

async function answers(client: Client): Promise<boolean> {
  try {
    await client.info();
    return true;
  } catch {
    return false;
  }
}

const notFound = (err: unknown) => err instanceof errors.ResponseError && err.statusCode === 404;

async function followerActive(client: Client, index: string): Promise<boolean> {
  const info = await client.ccr.followInfo({ index }).catch((err: unknown) => {
    if (notFound(err)) return undefined;
    throw err;
  });
  return info?.follower_indices.some((f) => f.follower_index === index && f.status === 'active') ?? false;
}

/**
 * Seeds the pair; creates only what is missing, so it is harmless to run again — and it never touches an index
 * that exists, e.g. one promoted by a failover test or demo.
 */
export async function seedEsPair(
  log: (line: string) => void,
  at: EsEmulatorPlace = place(),
  seed: EsSeed = ES_SEED,
): Promise<void> {
  const { gra, rbx, close } = clients(at);
  const created: string[] = [];
  try {
    const graAddress = `127.0.0.1:${at.graPort}`;
    const settings = await rbx.cluster.getSettings({ flat_settings: true });
    const seedsKey = `cluster.remote.${seed.remoteAlias}.seeds`;
    const seeds = settings.persistent?.[seedsKey] as unknown;
    if (!(Array.isArray(seeds) && seeds.length === 1 && seeds[0] === graAddress)) {
      await rbx.cluster.putSettings({ persistent: { [seedsKey]: [graAddress] }, flat_settings: true });
      created.push(`rbx remote ${seed.remoteAlias} → ${graAddress}`);
    }
    for (const [index, docs] of Object.entries(seed.indices)) {
      if (!(await gra.indices.exists({ index }))) {
        await gra.indices.create({
          index,
          settings: { number_of_shards: seed.shards, number_of_replicas: 0 },
        });
        for (const { id, doc } of docs) await gra.index({ index, id, document: doc });
        await gra.indices.refresh({ index });
        created.push(`gra/${index} (${docs.length} documents)`);
      }
    }
    for (const index of Object.keys(seed.indices)) {
      if (!(await rbx.indices.exists({ index }))) {
        await rbx.ccr.follow({
          index,
          remote_cluster: seed.remoteAlias,
          leader_index: index,
          wait_for_active_shards: 1,
        });
        created.push(`rbx/${index} following gra/${index}`);
      }
    }
    if (seed.autoFollow) created.push(...(await seedAutoFollow(gra, rbx, seed, seed.autoFollow)));
  } finally {
    await close();
  }
  log(
    created.length > 0
      ? `es-emulator: seeded ${created.length > 12 ? `${created.length} items` : created.join('; ')}`
      : 'es-emulator: DR pair already seeded',
  );
}

async function seedAutoFollow(
  gra: Client,
  rbx: Client,
  seed: EsSeed,
  autoFollow: NonNullable<EsSeed['autoFollow']>,
): Promise<string[]> {
  const created: string[] = [];
  const { name, leaderPatterns, followIndexPattern, followedIndex } = autoFollow;
  const hasPattern = await rbx.ccr.getAutoFollowPattern({ name }).then(
    () => true,
    (err: unknown) => {
      if (notFound(err)) return false;
      throw err;
    },
  );
  if (!hasPattern) {
    await rbx.ccr.putAutoFollowPattern({
      name,
      remote_cluster: seed.remoteAlias,
      leader_index_patterns: [...leaderPatterns],
      follow_index_pattern: followIndexPattern,
    });
    created.push(`rbx auto-follow pattern ${name} (${leaderPatterns.join(', ')})`);
  }
  if (!(await gra.indices.exists({ index: followedIndex }))) {
    await gra.indices.create({
      index: followedIndex,
      settings: { number_of_shards: seed.shards, number_of_replicas: 0 },
    });
    await gra.index({ index: followedIndex, document: { message: 'stack started', level: 'info' } });
    created.push(`gra/${followedIndex} (auto-followed by rbx)`);
  }
  // Auto-follow creates the follower asynchronously (it polls the leader's cluster state): the pair is seeded
  // only once that follower is there and active, so whoever reads the pair right after `up` sees all of it.
  await waitFor(`rbx auto-follow of gra/${followedIndex}`, () => followerActive(rbx, followedIndex), 30_000);
  return created;
}

/** A one-line account of both clusters for `stack status`. */
async function describePair(at: EsEmulatorPlace): Promise<string> {
  const { gra, rbx, close } = clients(at);
  try {
    const [graHealth, rbxHealth] = await Promise.all([gra.cluster.health(), rbx.cluster.health()]);
    const remote = (await rbx.cluster.remoteInfo()) as unknown as Record<string, { connected?: boolean }>;
    const followers = (await rbx.ccr.followInfo({ index: '_all' })).follower_indices;
    const stats = (await rbx.ccr.stats()).follow_stats.indices;
    const lag = stats
      .flatMap((s) => s.shards)
      .reduce((sum, s) => sum + Math.max(0, s.leader_global_checkpoint - s.follower_global_checkpoint), 0);
    const active = followers.filter((f) => f.status === 'active').length;
    return (
      `gra ${graHealth.status.toLowerCase()}, rbx ${rbxHealth.status.toLowerCase()}; ` +
      `rbx remote ${ES_SEED.remoteAlias} ${remote[ES_SEED.remoteAlias]?.connected ? 'connected' : 'NOT connected'}; ` +
      `${active}/${followers.length} followers active, lag ${lag} operations`
    );
  } catch (err) {
    return `not answering: ${(err as Error).message}`;
  } finally {
    await close();
  }
}

/**
 * The ES CCR emulator (dev/es-emulator): one process hosting clusters gra and rbx, seeded as a DR pair (`seed`:
 * ES_SEED unless a scratch pair scales it).
 */
export function esEmulator(log: (line: string) => void, seed: EsSeed = ES_SEED): StackService {
  const at = place();
  const spec = () => at.spec;
  return {
    name: 'es-emulator',
    async up() {
      const starting = runningPid(spec()) === undefined;
      if (starting) {
        await assertPortsFree('es-emulator', [
          { name: 'ES_GRA', port: at.graPort },
          { name: 'ES_RBX', port: at.rbxPort },
        ]);
        startDaemon({
          ...spec(),
          ...tsEntry('dev/es-emulator/main.ts'),
          env: {
            ...process.env,
            DR_STACK_PORT_ES_GRA: String(at.graPort),
            DR_STACK_PORT_ES_RBX: String(at.rbxPort),
          },
        });
      }
      const { gra, rbx, close } = clients(at);
      try {
        await waitForDaemon(
          spec(),
          'es-emulator',
          async () => (await answers(gra)) && (await answers(rbx)),
          30_000,
        );
      } finally {
        await close();
      }
      if (!starting) {
        log('es-emulator: already running, left as it is');
        return;
      }
      const saved = loadSavedEsState(at.stateFile);
      if (saved) await restorePair(log, at, saved);
      else await seedEsPair(log, at, seed);
    },
    async status(): Promise<ServiceStatus> {
      const pid = runningPid(spec());
      return {
        name: 'es-emulator',
        running: pid !== undefined,
        pids: pid === undefined ? [] : [pid],
        endpoints: [`gra ${url(at.graPort)}`, `rbx ${url(at.rbxPort)}`],
        detail: pid === undefined ? `log ${logFile(spec())}` : await describePair(at),
      };
    },
    async forget() {
      rmSync(at.stateFile, { force: true });
    },
    async down() {
      if (runningPid(spec()) !== undefined) await savePair(log, at);
      await stopDaemon(spec());
    },
  };
}

/** Saves both clusters for the next start; when it cannot, no older state is left to be restored instead. */
async function savePair(log: (line: string) => void, at: EsEmulatorPlace): Promise<void> {
  const { gra, rbx, close } = clients(at);
  try {
    saveEsState(at.stateFile, [await readEsCluster('gra', gra), await readEsCluster('rbx', rbx)]);
  } catch (err) {
    rmSync(at.stateFile, { force: true });
    log(`es-emulator: state not saved (${(err as Error).message}); the next start seeds the pair again`);
  } finally {
    await close();
  }
}

async function restorePair(log: (line: string) => void, at: EsEmulatorPlace, saved: SavedEsCluster[]) {
  const { gra, rbx, close } = clients(at);
  try {
    await restoreEsClusters(
      saved,
      new Map([
        ['gra', gra],
        ['rbx', rbx],
      ]),
    );
  } catch (err) {
    throw new Error(
      `es-emulator: rebuilding the pair saved in ${at.stateFile} failed: ${(err as Error).message}; ` +
        '`drctl stack reset` starts it again from the seed',
      { cause: err },
    );
  } finally {
    await close();
  }
  log(`es-emulator: restored the pair as the last stop left it (${describeSaved(saved)})`);
}

function describeSaved(saved: SavedEsCluster[]): string {
  return saved
    .map(
      (cluster) =>
        `${cluster.site}: ` +
        (cluster.indices
          .map((i) =>
            i.follower
              ? `${i.name} follows ${i.follower.remoteCluster}/${i.follower.leaderIndex}${i.follower.paused ? ' (paused)' : ''}`
              : `${i.name}${i.writeBlock ? ' (write-blocked)' : ''}`,
          )
          .join(', ') || 'no index'),
    )
    .join('; ');
}
