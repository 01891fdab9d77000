/**
 * The replica machine's chart, read from the machine definition itself with
 * `xstate/graph` (so the inspector can never drift from the code), flattened
 * into plain nodes and edges the terminal and web views both draw.
 */
import type { AnyStateMachine, StateValue } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';

export interface StateNodeInfo {
  /** Dotted path below the machine root, e.g. "leader" or "leader.transferring". */
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly depth: number;
}

export interface TransitionInfo {
  readonly source: string;
  readonly target: string;
  /** Event names that take this transition, prettified (`after electionTimeout`). */
  readonly events: readonly string[];
}

export interface StateGraph {
  readonly machineId: string;
  /** Depth-first, in definition order. */
  readonly nodes: readonly StateNodeInfo[];
  /** Transitions between different states, one per (source, target) pair. */
  readonly edges: readonly TransitionInfo[];
  /** Per state, the events it handles without leaving (targetless or self transitions). */
  readonly handled: Readonly<Record<string, readonly string[]>>;
}

export function stateGraphOf(machine: AnyStateMachine): StateGraph {
  const root = toDirectedGraph(machine);
  const machineId = root.id;
  const nodes: StateNodeInfo[] = [];
  const pairs = new Map<string, { source: string; target: string; events: Set<string> }>();
  const handled = new Map<string, Set<string>>();
  const strip = (id: string): string => (id.startsWith(`${machineId}.`) ? id.slice(machineId.length + 1) : id);

  type Node = typeof root;
  const visit = (node: Node, parent: string | null, depth: number): void => {
    const add = (sourceId: string, targetId: string, event: string): void => {
      const source = strip(sourceId);
      const target = strip(targetId);
      if (source === target || target.startsWith(`${source}.`)) {
        let set = handled.get(source);
        if (set === undefined) handled.set(source, (set = new Set()));
        set.add(event);
        return;
      }
      const key = `${source}\u0000${target}`;
      let pair = pairs.get(key);
      if (pair === undefined) pairs.set(key, (pair = { source, target, events: new Set() }));
      pair.events.add(event);
    };
    for (const edge of node.edges) add(edge.source.id, edge.target.id, prettyEvent(edge.label.text));
    // toDirectedGraph leaves out eventless (`always`) transitions; the raft machine changes
    // role only through them (guarded on the role `step` decided), so read them off the node.
    for (const t of (node.stateNode.always ?? []) as readonly AlwaysTransition[]) {
      for (const target of t.target ?? []) add(node.stateNode.id, target.id, alwaysLabel(t));
    }
    for (const child of node.children) {
      const id = strip(child.id);
      nodes.push({ id, key: child.stateNode.key, parent, depth });
      visit(child, id, depth + 1);
    }
  };
  visit(root, null, 0);

  return {
    machineId,
    nodes,
    edges: [...pairs.values()].map((p) => ({ source: p.source, target: p.target, events: [...p.events] })),
    handled: Object.fromEntries([...handled].map(([k, v]) => [k, [...v]])),
  };
}

/** The top-level states (depth 0), the roles in the raft machine. */
export function topLevelStates(graph: StateGraph): StateNodeInfo[] {
  return graph.nodes.filter((n) => n.depth === 0);
}

/**
 * Every active state path for a state value, ancestors included:
 * `{ leader: 'transferring' }` → ["leader", "leader.transferring"].
 */
export function activePaths(value: StateValue): string[] {
  if (typeof value === 'string') return [value];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    out.push(key);
    if (child !== undefined) for (const path of activePaths(child as StateValue)) out.push(`${key}.${path}`);
  }
  return out;
}

/** The top-level state a state value is in (the replica's role), or null for an empty value. */
export function topStateOf(value: StateValue): string | null {
  return activePaths(value)[0] ?? null;
}

/** A readable one-line form of a state value: "leader.transferring". */
export function formatStateValue(value: StateValue): string {
  const paths = activePaths(value);
  const leaves = paths.filter((p) => !paths.some((q) => q.startsWith(`${p}.`)));
  return leaves.join(', ');
}

interface AlwaysTransition {
  readonly target?: readonly { readonly id: string }[] | undefined;
  readonly guard?: unknown;
  readonly description?: string | undefined;
}

/**
 * The transition's own description when the machine gives one (the raft machine
 * states why each role change happens, e.g. "votes from a majority"), else
 * "always" plus the guard's name, e.g. "always [nextRoleIs]".
 */
function alwaysLabel(t: AlwaysTransition): string {
  if (typeof t.description === 'string' && t.description !== '') return t.description;
  const g = t.guard;
  const name = typeof g === 'string' ? g : typeof g === 'object' && g !== null && 'type' in g && typeof g.type === 'string' ? g.type : null;
  return name === null ? 'always' : `always [${name}]`;
}

/** XState names delayed transitions `xstate.after.<delay>.<stateId>`; show them as `after <delay>`. */
export function prettyEvent(event: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after) return `after ${after[1]}`;
  if (event === '') return 'always';
  return event;
}
