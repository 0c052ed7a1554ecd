import { Client, type ClientOptions } from '@elastic/elasticsearch';
import { startEsEmulator, type RunningEsEmulator } from '../../dev/es-emulator/emulator';

/**
 * Where the Elasticsearch contract suite runs: the in-process emulator by default, or two real clusters when
 * ES_LEADER_URL and ES_FOLLOWER_URL are set (optional ES_LEADER_API_KEY, ES_FOLLOWER_API_KEY, and
 * ES_LEADER_REMOTE_SEEDS: how the follower cluster reaches the leader's transport port, comma-separated).
 */
export interface EsContractTarget {
  kind: 'emulator' | 'real';
  description: string;
  leader: Client;
  follower: Client;
  /** Seeds the follower cluster uses to reach the leader, for `cluster.remote.<alias>.seeds`. */
  leaderRemoteSeeds: string[];
  close(): Promise<void>;
}

export type TargetChoice =
  { ok: true; open: () => Promise<EsContractTarget> } | { ok: false; reason: string };

export function chooseTarget(env: NodeJS.ProcessEnv = process.env): TargetChoice {
  const leaderUrl = env.ES_LEADER_URL;
  const followerUrl = env.ES_FOLLOWER_URL;
  if (!leaderUrl && !followerUrl) return { ok: true, open: openEmulatorTarget };
  if (!leaderUrl || !followerUrl) {
    return {
      ok: false,
      reason:
        'only one of ES_LEADER_URL and ES_FOLLOWER_URL is set; set both to run against real Elasticsearch, or neither for the emulator',
    };
  }
  return { ok: true, open: () => openRealTarget(env, leaderUrl, followerUrl) };
}

async function openEmulatorTarget(): Promise<EsContractTarget> {
  const emulator: RunningEsEmulator = await startEsEmulator({
    clusters: [{ name: 'leader' }, { name: 'follower' }],
  });
  const leader = new Client({ node: emulator.cluster('leader').url });
  const follower = new Client({ node: emulator.cluster('follower').url });
  return {
    kind: 'emulator',
    description: `the in-process ES emulator (leader ${emulator.cluster('leader').url}, follower ${emulator.cluster('follower').url})`,
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

function clientOptions(node: string, apiKey: string | undefined): ClientOptions {
  return apiKey ? { node, auth: { apiKey } } : { node };
}
