import { readFile, rename, writeFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import { typedFailure } from '../failure';
import { HaproxyBackend, type HaproxyProviderSettings } from './haproxy';
import { dumpServersState, parseServersState, type HaproxyRuntime } from './haproxy-runtime';
import type {
  ProviderContext,
  TrafficCheck,
  TrafficDrainResult,
  TrafficNodeResult,
  TrafficProvider,
  TrafficState,
  TrafficSwitchResult,
  TrafficVerifyResult,
} from './provider';
import { NO_CONTEXT, verifyResult } from './provider';

/** One HAProxy of the pair. */
export interface HaproxyNodeSettings {
  /** Its runtime API socket; names the node in messages. */
  socket: string;
  /** Its `server-state-file`: the switch and the drain write `show servers state` there. */
  stateFile?: string;
  runtime: HaproxyRuntime;
}

interface Node extends HaproxyNodeSettings {
  backend: HaproxyBackend;
}

/** What saving a node's state did: nothing to do, written, or failed (with the sentence). */
type Saved = { action?: string; sentence: string; ok: boolean };

/** One node's change and the saving of its state. */
type NodeChange<R> = { node: Node; result: R; saved?: Saved };

/**
 * The traffic of a pair behind one or more HAProxy nodes (each with the same backend and servers, e.g. a
 * keepalived pair): a switch or a drain changes every node in turn and verifies each, so a retry after a failure on
 * one node finishes the others (each node's change is idempotent). After it, each node's state is written to its
 * `stateFile`, the file its `server-state-file` / `load-server-state-from-file` loads when HAProxy starts: a
 * runtime API change lives in memory only, and a reload or restart would otherwise put the servers back as the
 * configuration has them, i.e. traffic back on the old site (HAProxy 2.6 configuration manual,
 * "load-server-state-from-file": "when starting up, before handling traffic, the new process can apply old states
 * to servers exactly has if no reload occurred").
 */
export class HaproxyTrafficProvider implements TrafficProvider {
  readonly kind = 'haproxy' as const;
  readonly sites: string[];
  private readonly nodes: Node[];

  constructor(
    private readonly settings: Omit<HaproxyProviderSettings, 'socket'>,
    nodes: HaproxyNodeSettings[],
  ) {
    this.sites = Object.keys(settings.servers);
    this.nodes = nodes.map((n) => ({
      ...n,
      backend: new HaproxyBackend({ ...settings, socket: n.socket }, n.runtime),
    }));
  }

  async currentTarget(ctx?: ProviderContext): Promise<TrafficState> {
    const states: TrafficState[] = [];
    for (const node of this.nodes)
      states.push(await this.onNode(node, [], () => node.backend.currentTarget(ctx)));
    const checks = await Promise.all(
      this.nodes.map(async (n, i) => this.named(n, await this.savedCheck(n, states[i]!))),
    );
    return { ...this.merge(states), checks };
  }

  async switchTo(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficSwitchResult> {
    const results = await this.eachNode((node) => node.backend.switchTo(site, ctx));
    const before = this.sites.filter((s) => results.some((r) => r.result.before.includes(s)));
    return { provider: 'haproxy', site, before, propagationSeconds: 0, ...this.summary(results) };
  }

  async drain(site: string, ctx: ProviderContext = NO_CONTEXT): Promise<TrafficDrainResult> {
    const results = await this.eachNode((node) => node.backend.drain(site, ctx));
    return { provider: 'haproxy', site, ...this.summary(results) };
  }

  async verify(site: string, ctx?: ProviderContext): Promise<TrafficVerifyResult> {
    const results: TrafficVerifyResult[] = [];
    for (const node of this.nodes)
      results.push(await this.onNode(node, [], () => node.backend.verify(site, ctx)));
    const checks: TrafficCheck[] = [];
    for (const [i, node] of this.nodes.entries()) {
      checks.push(...results[i]!.checks.map((c) => this.onNodeCheck(node, c)));
      // Only a node whose runbook entry names a stateFile must have saved: the others are judged by readiness.
      if (node.stateFile) checks.push(this.named(node, await this.savedCheck(node, results[i]!.state)));
    }
    const { backend } = this.settings;
    const label =
      this.nodes.length === 1
        ? `HAProxy backend ${backend}`
        : `HAProxy backend ${backend} on ${this.nodes.length} nodes`;
    const verified =
      this.nodes.length === 1
        ? results[0]!.description
        : `${this.nodes.length} HAProxy nodes: ${results.map((r, i) => `${this.nodes[i]!.socket}: ${r.description}`).join(' ')}`;
    return verifyResult(
      { provider: 'haproxy', site, propagationSeconds: 0, state: this.merge(results.map((r) => r.state)) },
      checks,
      label,
      verified,
    );
  }

  /**
   * Runs a change on every node in order, each followed by saving its state. A failure names the node and the
   * nodes already done: running the change again skips them (nothing to change) and finishes the rest.
   */
  private async eachNode<R extends TrafficSwitchResult | TrafficDrainResult>(
    change: (node: Node) => Promise<R>,
  ): Promise<NodeChange<R>[]> {
    const done: NodeChange<R>[] = [];
    for (const node of this.nodes) {
      const result = await this.onNode(
        node,
        done.map((d) => d.node.socket),
        () => change(node),
      );
      done.push({ node, result, saved: await this.save(node, result.state) });
    }
    return done;
  }

  /** What every node's change did, as one result: one node's own sentence, or each node's in turn. */
  private summary(results: NodeChange<TrafficSwitchResult | TrafficDrainResult>[]) {
    const single = results.length === 1 ? results[0]! : undefined;
    return {
      changed: results.some((r) => r.result.changed),
      actions: this.actions(results),
      description: single
        ? `${single.result.description}${single.saved ? ` ${single.saved.sentence}` : ''}`
        : `${results.length} HAProxy nodes: ${results.map((r) => this.nodeSentence(r)).join(' ')}`,
      state: this.merge(results.map((r) => r.result.state)),
      nodes: results.map((r) => this.nodeResult(r)),
    };
  }

  /** Writes the node's `show servers state` to its stateFile unless the file already holds the live states. */
  private async save(node: Node, live: TrafficState): Promise<Saved | undefined> {
    if (!node.stateFile) return undefined;
    const current = await this.savedCheck(node, live);
    if (current.ok)
      return { ok: true, sentence: `Its saved server states (${node.stateFile}) already match.` };
    const file = node.stateFile;
    try {
      const dump = await dumpServersState(node.runtime);
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, dump, { mode: 0o644 });
      await rename(temporary, file);
      return {
        ok: true,
        action: `show servers state > ${file}`,
        sentence: `Saved its server states to ${file}, which HAProxy loads when it starts, so a reload keeps this.`,
      };
    } catch (err) {
      return {
        ok: false,
        sentence: `Could not save its server states to ${file} (${errorText(err)}): a reload or restart of this HAProxy would put its servers back as its configuration has them; fix that, then run this again (it saves).`,
      };
    }
  }

  /**
   * Whether a reload of the node keeps its live server states: its stateFile holds, for every server of the
   * backend, the admin state the node has now. The runtime API does not show the configuration, so whether
   * HAProxy's `server-state-file` names that same file is for the operator (and the docs) to make true.
   */
  private async savedCheck(node: Node, live: TrafficState): Promise<TrafficCheck> {
    const name = 'state-saved';
    const who = `HAProxy at ${node.socket}`;
    if (!node.stateFile) {
      return {
        name,
        ok: false,
        sentence: `${who} has no stateFile in the runbook: a reload or restart of it would forget a switch (put its servers back as its configuration has them) unless its reload saves "show servers state" to its server-state-file first.`,
      };
    }
    let saved: Map<string, string>;
    try {
      const text = await readFile(node.stateFile, 'utf8');
      saved = new Map(
        parseServersState(text)
          .filter((s) => s.backend === this.settings.backend)
          .map((s) => [s.server, s.admin]),
      );
    } catch (err) {
      return {
        name,
        ok: false,
        sentence: `${who} cannot have loaded its saved server states: ${node.stateFile} cannot be read (${errorText(err)}).`,
      };
    }
    const differing = live.members.filter((m) => saved.get(m.name) !== m.state);
    if (differing.length > 0) {
      const words = differing.map((m) => `${m.name} ${saved.get(m.name) ?? 'absent'} there, ${m.state} live`);
      return {
        name,
        ok: false,
        sentence: `${who}'s saved server states (${node.stateFile}) are not its live ones (${words.join('; ')}): a reload would apply the saved ones.`,
      };
    }
    return {
      name,
      ok: true,
      sentence: `${who} has its live server states saved in ${node.stateFile}, which a reload loads.`,
    };
  }

  /** Runs `fn` on a node; with several nodes, its typed failure names the node and the nodes already done. */
  private async onNode<T>(node: Node, done: string[], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (this.nodes.length === 1 || !(err instanceof ApplicationFailure)) throw err;
      const finished =
        done.length > 0 ? ` (already done on ${done.join(', ')}; running it again finishes the rest)` : '';
      throw typedFailure(
        err.type ?? 'TrafficProviderUnreachable',
        `HAProxy at ${node.socket}: ${err.message}${finished}`,
        err.nonRetryable === true,
        err.details?.[0],
      );
    }
  }

  /** With several nodes, a check's name says its node (its sentence already does). */
  private named(node: Node, check: TrafficCheck): TrafficCheck {
    return this.nodes.length === 1 ? check : { ...check, name: `${check.name}@${node.socket}` };
  }

  private onNodeCheck(node: Node, check: TrafficCheck): TrafficCheck {
    if (this.nodes.length === 1) return check;
    return {
      ...check,
      name: `${check.name}@${node.socket}`,
      sentence: `on ${node.socket}, ${check.sentence}`,
    };
  }

  private actions(results: NodeChange<{ actions: string[] }>[]): string[] {
    return results.flatMap(({ node, result, saved }) =>
      [...result.actions, ...(saved?.action ? [saved.action] : [])].map((a) =>
        this.nodes.length === 1 ? a : `${node.socket}: ${a}`,
      ),
    );
  }

  private nodeSentence(r: NodeChange<{ description: string }>): string {
    return `${r.node.socket}: ${r.result.description}${r.saved ? ` ${r.saved.sentence}` : ''}`;
  }

  private nodeResult(r: NodeChange<{ changed: boolean; description: string }>): TrafficNodeResult {
    return {
      node: r.node.socket,
      changed: r.result.changed,
      ...(r.saved ? { stateSaved: r.saved.ok } : {}),
      description: `${r.result.description}${r.saved ? ` ${r.saved.sentence}` : ''}`,
    };
  }

  /** One state for every node: its members named by node when there are several, and one site only if all agree. */
  private merge(states: TrafficState[]): TrafficState {
    if (states.length === 1) return states[0]!;
    const members = states.flatMap((s, i) =>
      s.members.map((m) => ({
        ...m,
        name: `${m.name}@${this.nodes[i]!.socket}`,
        description: `${m.description} on ${this.nodes[i]!.socket}`,
      })),
    );
    const sites = this.sites.filter((site) => states.some((s) => s.sites.includes(site)));
    const agree = states.every((s) => s.sites.join() === states[0]!.sites.join());
    return {
      provider: 'haproxy',
      site: agree && sites.length === 1 ? sites[0] : undefined,
      sites,
      members,
      description: `${states.length} HAProxy nodes${agree ? '' : ' disagree'}: ${states.map((s, i) => `${this.nodes[i]!.socket}: ${s.description}`).join(' ')}`,
    };
  }
}

function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? (err instanceof Error ? err.message : String(err));
}
