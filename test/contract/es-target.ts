import { Client, type ClientOptions } from '@elastic/elasticsearch';
import { startEsEmulator, type RunningEsEmulator } from '../../dev/es-emulator/emulator';
import { versionedTransport, type EsMajorVersion } from '../../activities/elasticsearch/transport';

/**
 * Where the Elasticsearch contract suite runs: the in-process emulator by default, or two real clusters when
 * ES_LEADER_URL and ES_FOLLOWER_URL are set (optional ES_LEADER_API_KEY, ES_FOLLOWER_API_KEY, and
 * ES_LEADER_REMOTE_SEEDS: how the follower cluster reaches the leader's transport port, comma-separated).
 */
export interface EsContractTarget {
  kind: 'emulator' | 'real';
  /** The major version the emulated clusters run; undefined for real clusters. */
  version?: EsMajorVersion;
  description: string;
  leader: Client;
  follower: Client;
  /** Seeds the follower cluster uses to reach the leader, for `cluster.remote.<alias>.seeds`. */
  leaderRemoteSeeds: string[];
  close(): Promise<void>;
}

/** One run of the suite: a name and how to open its clusters. */
export interface TargetRun {
  name: string;
  open: () => Promise<EsContractTarget>;
}

export type TargetChoice = { ok: true; runs: TargetRun[] } | { ok: false; reason: string };

export function chooseTarget(env: NodeJS.ProcessEnv = process.env): TargetChoice {
  const leaderUrl = env.ES_LEADER_URL;
  const followerUrl = env.ES_FOLLOWER_URL;
  if (!leaderUrl && !followerUrl) {
    return {
      ok: true,
      runs: ([8, 9] as const).map((version) => ({
        name: `emulated Elasticsearch ${version}`,
        open: () => openEmulatorTarget(version),
      })),
    };
  }
  if (!leaderUrl || !followerUrl) {
    return {
      ok: false,
      reason:
        'only one of ES_LEADER_URL and ES_FOLLOWER_URL is set; set both to run against real Elasticsearch, or neither for the emulator',
    };
  }
  return {
    ok: true,
    runs: [{ name: 'real Elasticsearch', open: () => openRealTarget(env, leaderUrl, followerUrl) }],
  };
}

async function openEmulatorTarget(version: EsMajorVersion): Promise<EsContractTarget> {
  const emulator: RunningEsEmulator = await startEsEmulator({
    clusters: [
      { name: 'leader', version },
      { name: 'follower', version },
    ],
  });
  const leader = new Client(clientOptions(emulator.cluster('leader').url, undefined));
  const follower = new Client(clientOptions(emulator.cluster('follower').url, undefined));
  return {
    kind: 'emulator',
    version,
    description: `the in-process ES ${version} emulator (leader ${emulator.cluster('leader').url}, follower ${emulator.cluster('follower').url})`,
    leader,
    follower,
    leaderRemoteSeeds: [emulator.cluster('leader').address],
    close: async () => {
      await Promise.all([leader.close(), follower.close()]);
      await emulator.stop();
    },
  };
}

async function openRealTarget(
  env: NodeJS.ProcessEnv,
  leaderUrl: string,
  followerUrl: string,
): Promise<EsContractTarget> {
  const leader = new Client(clientOptions(leaderUrl, env.ES_LEADER_API_KEY));
  const follower = new Client(clientOptions(followerUrl, env.ES_FOLLOWER_API_KEY));
  const seeds = (env.ES_LEADER_REMOTE_SEEDS ?? `${new URL(leaderUrl).hostname}:9300`)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    kind: 'real',
    description: `real Elasticsearch (leader ${leaderUrl}, follower ${followerUrl}, remote seeds ${seeds.join(',')})`,
    leader,
    follower,
    leaderRemoteSeeds: seeds,
    close: async () => {
      await Promise.all([leader.close(), follower.close()]);
    },
  };
}

/** The activities' transport: it speaks each cluster's major version (read from `GET /`). */
function clientOptions(node: string, apiKey: string | undefined): ClientOptions {
  const Transport = versionedTransport({ site: node, field: 'contract target' });
  return apiKey ? { node, auth: { apiKey }, Transport } : { node, Transport };
}
