/**
 * Fault injection, outside the Elasticsearch API: a cluster down (its listener really closed), a forced
 * health status, slow responses, the link between two clusters cut, a leader index deleted under its followers.
 */

export type HealthFault = 'yellow' | 'red';

export interface ClusterFaultState {
  down: boolean;
  health: HealthFault | null;
  delayMs: number;
}

export interface FaultState {
  clusters: Record<string, ClusterFaultState>;
  cutLinks: [string, string][];
}

export interface FaultController {
  /** Closes the cluster's listener (connections refused) or opens it again on the same port. */
  setClusterDown(cluster: string, down: boolean): Promise<void>;
  /** Forces the health status to at least this colour; `null` (or 'green') clears it. */
  setHealth(cluster: string, health: HealthFault | 'green' | null): void;
  /** Delays every Elasticsearch API response of the cluster by this many milliseconds. */
  setDelay(cluster: string, delayMs: number): void;
  /** Remote connections between the two clusters fail in both directions. */
  cutLink(a: string, b: string): void;
  restoreLink(a: string, b: string): void;
  /** Deletes an index the way DELETE /<index> does, e.g. a leader index under its followers. */
  deleteIndex(cluster: string, index: string): void;
  /** Clears every fault (clusters come back up); with `data: true` also wipes indices, settings and patterns. */
  reset(options?: { data?: boolean }): Promise<void>;
  state(): FaultState;
}

/** Body of POST /_emulator/faults. `cluster` defaults to the cluster whose port received the request. */
export interface FaultRequest {
  cluster?: string;
  down?: boolean;
  health?: HealthFault | 'green' | null;
  delayMs?: number;
  cutLink?: [string, string];
  restoreLink?: [string, string];
  deleteIndex?: string;
}

export class FaultRequestError extends Error {}

export async function applyFaultRequest(
  controller: FaultController,
  request: FaultRequest,
  defaultCluster: string | undefined,
  knownClusters: string[],
): Promise<FaultState> {
  const cluster = request.cluster ?? defaultCluster;
  const needsCluster =
    request.down !== undefined ||
    request.health !== undefined ||
    request.delayMs !== undefined ||
    request.deleteIndex !== undefined;
  if (needsCluster && (cluster === undefined || !knownClusters.includes(cluster))) {
    throw new FaultRequestError(`unknown cluster [${String(cluster)}]; known: ${knownClusters.join(', ')}`);
  }
  for (const pair of [request.cutLink, request.restoreLink]) {
    if (pair === undefined) continue;
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((name) => knownClusters.includes(name))) {
      throw new FaultRequestError(`a link is a pair of known cluster names, got ${JSON.stringify(pair)}`);
    }
  }
  if (
    request.health !== undefined &&
    request.health !== null &&
    !['green', 'yellow', 'red'].includes(request.health)
  ) {
    throw new FaultRequestError(
      `health must be green, yellow, red or null, got ${JSON.stringify(request.health)}`,
    );
  }
  if (request.delayMs !== undefined && !(typeof request.delayMs === 'number' && request.delayMs >= 0)) {
    throw new FaultRequestError(
      `delayMs must be a non-negative number, got ${JSON.stringify(request.delayMs)}`,
    );
  }
  const target = cluster as string;
  if (request.health !== undefined) controller.setHealth(target, request.health);
  if (request.delayMs !== undefined) controller.setDelay(target, request.delayMs);
  if (request.cutLink) controller.cutLink(request.cutLink[0], request.cutLink[1]);
  if (request.restoreLink) controller.restoreLink(request.restoreLink[0], request.restoreLink[1]);
  if (request.deleteIndex !== undefined) controller.deleteIndex(target, request.deleteIndex);
  if (request.down !== undefined) await controller.setClusterDown(target, request.down);
  return controller.state();
}
