import type { EmulatedCluster } from './cluster';
import { illegalArgument } from './errors';
import type { EmulatedIndex } from './index-state';
import {
  parseActiveShardCount,
  parseBooleanParam,
  parseTimeValue,
  simpleMatch,
  splitIndexExpression,
} from './params';

type Status = 'green' | 'yellow' | 'red';
const STATUS_RANK: Record<Status, number> = { green: 0, yellow: 1, red: 2 };
const POLL_INTERVAL_MS = 20;

interface ShardCounts {
  activePrimary: number;
  active: number;
  initializing: number;
  unassigned: number;
}

/**
 * GET /_cluster/health[/<index>]: the wait conditions, their count and the timeout follow
 * TransportClusterHealthAction; a named index that does not exist makes the status red and keeps waiting.
 */
export async function clusterHealth(
  cluster: EmulatedCluster,
  indexExpression: string | undefined,
  query: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const waitForStatus = parseStatus(query.wait_for_status);
  const timeoutMs = parseTimeValue(query.timeout, 30_000, 'timeout');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const snapshot = evaluate(cluster, indexExpression, query, waitForStatus);
    if (snapshot.satisfied)
      return { status: 200, body: { ...snapshot.body, timed_out: false, ...snapshot.tail } };
    if (Date.now() >= deadline || cluster.isDown) {
      return { status: 408, body: { ...snapshot.body, timed_out: true, ...snapshot.tail } };
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_INTERVAL_MS, Math.max(1, deadline - Date.now()))),
    );
  }
}

function evaluate(
  cluster: EmulatedCluster,
  indexExpression: string | undefined,
  query: Record<string, string>,
  waitForStatus: Status | undefined,
): { satisfied: boolean; body: Record<string, unknown>; tail: Record<string, unknown> } {
  const { indices, missing } = resolve(cluster, indexExpression);
  const perIndex = new Map(indices.map((index) => [index.name, shardCounts(cluster, index)] as const));
  const totals = [...perIndex.values()].reduce(
    (sum, c) => ({
      activePrimary: sum.activePrimary + c.activePrimary,
      active: sum.active + c.active,
      initializing: sum.initializing + c.initializing,
      unassigned: sum.unassigned + c.unassigned,
    }),
    { activePrimary: 0, active: 0, initializing: 0, unassigned: 0 },
  );
  let status: Status = [...perIndex.values()].some(primaryInactive)
    ? 'red'
    : totals.unassigned > 0
      ? 'yellow'
      : 'green';
  const forced = cluster.faults.health;
  if (forced && STATUS_RANK[forced] > STATUS_RANK[status]) status = forced;
  if (missing) status = 'red';

  const nodes = cluster.options.nodes;
  let waitCount = 0;
  let readyCount = 0;
  const check = (wanted: boolean, ready: boolean): void => {
    if (!wanted) return;
    waitCount++;
    if (ready) readyCount++;
  };
  check(
    waitForStatus !== undefined,
    waitForStatus !== undefined && STATUS_RANK[status] <= STATUS_RANK[waitForStatus],
  );
  check(parseBooleanParam(query.wait_for_no_relocating_shards, false), true);
  check(parseBooleanParam(query.wait_for_no_initializing_shards, false), true);
  const activeShards = parseActiveShardCount(query.wait_for_active_shards);
  if (activeShards !== undefined && activeShards !== 0) {
    check(true, activeShards === 'all' ? totals.unassigned === 0 : totals.active >= activeShards);
  }
  if (query.wait_for_nodes) check(true, nodesMatch(query.wait_for_nodes, nodes));
  check(indexExpression !== undefined, !missing);

  const body = {
    cluster_name: cluster.name,
    status,
  };
  const tail: Record<string, unknown> = {
    number_of_nodes: nodes,
    number_of_data_nodes: nodes,
    active_primary_shards: totals.activePrimary,
    active_shards: totals.active,
    relocating_shards: 0,
    initializing_shards: totals.initializing,
    unassigned_shards: totals.unassigned,
    unassigned_primary_shards: 0,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: percent(totals),
  };
  if (query.level === 'indices' || query.level === 'shards') {
    tail.indices = Object.fromEntries(
      indices.map((index) => {
        const counts = perIndex.get(index.name) as ShardCounts;
        return [
          index.name,
          {
            status: primaryInactive(counts) ? 'red' : counts.unassigned > 0 ? 'yellow' : 'green',
            number_of_shards: index.numberOfShards,
            number_of_replicas: index.numberOfReplicas,
            active_primary_shards: counts.activePrimary,
            active_shards: counts.active,
            relocating_shards: 0,
            initializing_shards: counts.initializing,
            unassigned_shards: counts.unassigned,
            unassigned_primary_shards: 0,
          },
        ];
      }),
    );
  }
  return { satisfied: readyCount === waitCount, body, tail };
}

/**
 * Replicas need a node other than the primary's: with N nodes at most N - 1 copies of each shard are assigned.
 * While a primary is recovering (a CCR restore) it is initializing and its replicas wait, unassigned.
 */
function shardCounts(cluster: EmulatedCluster, index: EmulatedIndex): ShardCounts {
  const shards = index.numberOfShards;
  const replicas = index.numberOfReplicas;
  if (!index.primaryActive) {
    return { activePrimary: 0, active: 0, initializing: shards, unassigned: shards * replicas };
  }
  const assignedReplicas = Math.min(replicas, cluster.options.nodes - 1);
  return {
    activePrimary: shards,
    active: shards * (1 + assignedReplicas),
    initializing: 0,
    unassigned: shards * (replicas - assignedReplicas),
  };
}

/** An index whose primary shards are not all active is red. */
function primaryInactive(counts: ShardCounts): boolean {
  return counts.initializing > 0;
}

function percent(totals: ShardCounts): number {
  const all = totals.active + totals.initializing + totals.unassigned;
  return all === 0 ? 100.0 : (totals.active / all) * 100;
}

function resolve(
  cluster: EmulatedCluster,
  expression: string | undefined,
): { indices: EmulatedIndex[]; missing: boolean } {
  if (expression === undefined) return { indices: [...cluster.indices.values()], missing: false };
  const found = new Map<string, EmulatedIndex>();
  let missing = false;
  for (const part of splitIndexExpression(expression)) {
    if (part === '_all' || part.includes('*')) {
      for (const index of cluster.indices.values())
        if (simpleMatch(part === '_all' ? '*' : part, index.name)) found.set(index.name, index);
    } else {
      const index = cluster.indices.get(part);
      if (index) found.set(part, index);
      else missing = true;
    }
  }
  return { indices: [...found.values()], missing };
}

function parseStatus(raw: string | undefined): Status | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'green' || raw === 'yellow' || raw === 'red') return raw;
  throw illegalArgument(`unknown cluster health status [${raw}]`);
}

function nodesMatch(expression: string, nodes: number): boolean {
  const match = /^(>=|<=|>|<|ge\(|le\(|gt\(|lt\()?(\d+)\)?$/.exec(expression);
  if (!match) throw illegalArgument(`failed to parse wait_for_nodes [${expression}]`);
  const expected = Number(match[2]);
  switch (match[1]) {
    case '>=':
    case 'ge(':
      return nodes >= expected;
    case '<=':
    case 'le(':
      return nodes <= expected;
    case '>':
    case 'gt(':
      return nodes > expected;
    case '<':
    case 'lt(':
      return nodes < expected;
    default:
      return nodes === expected;
  }
}
