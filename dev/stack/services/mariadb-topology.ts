/** What the stack reads of one running server of its cluster: its read_only flag and whom it replicates from. */
export interface ObservedServer {
  name: string;
  readOnly: boolean;
  /** The port of its replication source (the cluster's servers all listen on loopback), when it replicates. */
  sourcePort?: number;
}

/** The roles the replication links give the servers, and what the stack says about them. */
export interface RecognisedTopology {
  /** The server every replication chain leads to. */
  primary: string;
  /** The servers replicating (directly or through another replica) from the primary. */
  replicas: string[];
  /** Servers that replicate from nobody and are not the primary: an old primary a move fenced and left. */
  fenced: string[];
  /** One sentence when the topology is not the initial one (the first server primary, all others replicas). */
  sentence?: string;
}

/**
 * Recognises the topology the servers' replication links describe: the server the others replicate from is the
 * primary, whatever its read_only flag says (a promoted server restarted read-only by its configuration). Returns
 * undefined when no server replicates (a cluster not bootstrapped yet). Throws, naming the links, when they do not
 * lead to one server (a move stopped half-way, or a source outside the cluster).
 */
export function recogniseTopology(
  label: string,
  servers: ObservedServer[],
  ports: Map<number, string>,
  initialPrimary: string,
): RecognisedTopology | undefined {
  if (!servers.some((s) => s.sourcePort !== undefined)) return undefined;
  const byName = new Map(servers.map((s) => [s.name, s]));
  const sourceOf = (server: ObservedServer): ObservedServer | undefined => {
    if (server.sourcePort === undefined) return undefined;
    const name = ports.get(server.sourcePort);
    const source = name === undefined ? undefined : byName.get(name);
    if (!source)
      throw new Error(
        `${label}: ${server.name} replicates from port ${server.sourcePort}, which is no running server of this ` +
          `cluster; ${RESET_HINT}`,
      );
    return source;
  };
  const rootOf = (server: ObservedServer): string => {
    const seen = new Set<string>();
    let current = server;
    for (let source = sourceOf(current); source; source = sourceOf(current)) {
      if (seen.has(source.name))
        throw new Error(`${label}: ${server.name}'s replication goes round in a circle; ${RESET_HINT}`);
      seen.add(source.name);
      current = source;
    }
    return current.name;
  };
  const replicating = servers.filter((s) => s.sourcePort !== undefined);
  const roots = new Set(replicating.map(rootOf));
  if (roots.size > 1)
    throw new Error(
      `${label}: the replicas lead to ${[...roots].join(' and ')}, not to one primary (${links(replicating, ports)}): ` +
        `a move stopped half-way; let it finish, or ${RESET_HINT}`,
    );
  const [primary] = [...roots] as [string];
  const replicas = replicating.map((s) => s.name);
  const fenced = servers.filter((s) => s.sourcePort === undefined && s.name !== primary).map((s) => s.name);
  const moved = primary !== initialPrimary || fenced.length > 0;
  return {
    primary,
    replicas,
    fenced,
    sentence: moved
      ? `${label}: ${primary} is the primary, as the last move left it (${replicas.join(', ')} ${replicas.length > 1 ? 'replicate' : 'replicates'} from it` +
        (fenced.length > 0
          ? `; ${fenced.join(' and ')}, replicating from nobody, ${fenced.length > 1 ? 'stay' : 'stays'} read-only as the move fenced ${fenced.length > 1 ? 'them' : 'it'}`
          : '') +
        `); \`drctl stack reset\` returns to ${initialPrimary} primary.`
      : undefined,
  };
}

const RESET_HINT = '`drctl stack reset` returns the local stack to its initial topology';

/** What `up` does to the servers it restarted: the roles to set (none to keep them), and what it says. */
export interface RolePlan {
  /** Each made read-only (and configured to restart so). */
  readOnly: string[];
  /** Made writable (and configured to restart so). */
  writable?: string;
  sentence?: string;
}

/**
 * The roles `up` gives the servers it restarted. When `down` recorded every server's role before stopping it, they
 * came back as they were and are kept (a move under way is never undone); the sentence says so when they are not
 * one primary with its replicas. Otherwise (a crash, a server stopped by another way) the replication links decide:
 * the server they lead to is the primary, every other server read-only.
 */
export function planRoles(
  label: string,
  servers: ObservedServer[],
  ports: Map<number, string>,
  initialPrimary: string,
  recordedAtStop: boolean,
): RolePlan | undefined {
  const topology = recogniseTopology(label, servers, ports, initialPrimary);
  if (!topology) return undefined;
  if (!recordedAtStop)
    return {
      readOnly: [...topology.replicas, ...topology.fenced],
      writable: topology.primary,
      sentence: topology.sentence,
    };
  const writable = servers.filter((s) => !s.readOnly).map((s) => s.name);
  if (writable.length === 1 && writable[0] === topology.primary)
    return { readOnly: [], sentence: topology.sentence };
  return {
    readOnly: [],
    sentence:
      `${label}: the servers restarted in the roles recorded at the stop, which are not one primary with its ` +
      `replicas (writable: ${writable.join(', ') || 'none'}; ${links(
        servers.filter((s) => s.sourcePort !== undefined),
        ports,
      )}): ` +
      `a move was under way; let it finish, or ${RESET_HINT}`,
  };
}

function links(replicating: ObservedServer[], ports: Map<number, string>): string {
  return replicating
    .map((s) => `${s.name} from ${ports.get(s.sourcePort!) ?? `port ${s.sourcePort}`}`)
    .join(', ');
}
