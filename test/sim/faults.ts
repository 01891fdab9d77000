/**
 * Fault mixes: which faults a seed injects, how often, and how bad the
 * network weather gets. `swarm` (the default) switches a random subset of
 * fault kinds on per seed ("swarm testing"), which finds more bugs than
 * always running every fault at once; the named mixes aim at one bug class.
 */
import type { RaftTiming } from '../../actors/raft/types.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';

export const FAULT_KINDS = [
  'crash',
  'crashLeader',
  'restart',
  'partition',
  'isolateLeader',
  'oneWay',
  'heal',
  'clockJump',
  'clockRate',
  'weather',
  'transfer',
  'membership',
  /** A down replica's disk is lost; it restarts empty under its old id (a new data identity), and rejoins in the heal phase. */
  'wipe',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const MIX_NAMES = ['swarm', 'calm', 'partitions', 'crashes', 'elections', 'membership', 'wipes'] as const;
export type MixName = (typeof MIX_NAMES)[number];

/** One seed's fault plan, drawn from a named mix. */
export interface FaultMix {
  readonly name: MixName;
  readonly weights: Readonly<Record<FaultKind, number>>;
  /** Gap between two faults, ms of simulated time. */
  readonly faultIntervalMs: readonly [number, number];
  /** Gap between two new client proposals. */
  readonly proposalIntervalMs: readonly [number, number];
  /** At most this many replicas down at once (beyond a minority, the cluster stalls until heal). */
  readonly maxDown: 'minority' | 'majority';
  /** The worst weather a `weather` fault may set. */
  readonly maxDropRate: number;
  readonly maxDuplicateRate: number;
  readonly maxDelayMs: number;
  /** Each persist takes a latency drawn from this range. */
  readonly diskLatencyMs: readonly [number, number];
  /** Snapshot the state machine once this many entries were applied past the last snapshot; null: never. */
  readonly compactEvery: number | null;
  /**
   * Reactive faults, chances in [0, 1]: crash a replica within a few ms of it
   * becoming leader, or of its commitIndex advancing while it leads. They hit
   * the narrow windows (a leader's first appends, a commit not yet spread)
   * that timer-driven faults rarely land in.
   */
  readonly crashNewLeader: number;
  readonly crashAfterCommit: number;
  /** Chance that such a reactive fault isolates the leader (losing its messages in flight) instead of crashing it. */
  readonly reactiveIsolate: number;
  /** Override the core's timing; a short election timeout next to the heartbeat churns leaders (more elections per step). */
  readonly timing?: RaftTiming;
  /** Force the core's maxEntriesPerAppend (one entry per append leaves earlier-term entries alone on a majority, Figure 8). */
  readonly maxEntriesPerAppend?: number;
}

/** Election timeouts just two to four heartbeats long: leaders change often, so a seed sees many more elections per step. */
const CHURN_TIMING: RaftTiming = { heartbeatMs: 40, electionMinMs: 80, electionMaxMs: 160 };

const NONE: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;

export function drawMix(name: MixName, random: SeededRandom): FaultMix {
  const compactEvery = random.chance(0.2) ? null : random.pick([2, 5, 10, 25, 60]);
  const diskLatencyMs: readonly [number, number] = random.pick([[0, 0], [0, 2], [1, 10]] as const);
  const base = {
    name,
    proposalIntervalMs: random.pick([[5, 30], [20, 80], [50, 200]] as const),
    maxDropRate: 0.3,
    maxDuplicateRate: 0.2,
    maxDelayMs: 40,
    diskLatencyMs,
    compactEvery,
    crashNewLeader: 0,
    crashAfterCommit: 0,
    reactiveIsolate: 0.5,
  } as const;
  switch (name) {
    case 'calm':
      return { ...base, weights: NONE, faultIntervalMs: [1000, 1000], maxDown: 'minority', maxDropRate: 0, maxDuplicateRate: 0, maxDelayMs: 5 };
    case 'swarm': {
      // Each kind on with probability 0.6 and a random weight; restart and heal always on, so faults do not just pile up.
      const weights = { ...NONE };
      // Wipes have a mix of their own: drawing them here would change every recorded swarm seed's schedule.
      for (const kind of FAULT_KINDS) if (kind !== 'wipe') weights[kind] = random.chance(0.6) ? random.int(1, 5) : 0;
      weights.restart = Math.max(weights.restart, 2);
      weights.heal = Math.max(weights.heal, 1);
      return {
        ...base,
        weights,
        faultIntervalMs: random.pick([[20, 100], [50, 300], [200, 800]] as const),
        maxDown: random.chance(0.3) ? 'majority' : 'minority',
        crashNewLeader: random.chance(0.3) ? random.pick([0.1, 0.3]) : 0,
        crashAfterCommit: random.chance(0.3) ? random.pick([0.02, 0.1]) : 0,
      };
    }
    case 'partitions':
      // Minority leaders and cut links: what quorumOverReachable gets wrong.
      return {
        ...base,
        weights: { ...NONE, partition: 5, isolateLeader: 4, oneWay: 3, heal: 2, weather: 1 },
        faultIntervalMs: [100, 600],
        proposalIntervalMs: [5, 30],
        maxDown: 'minority',
      };
    case 'crashes':
      // Leaders dying or cut off right after they replicate to a few (Raft Figure 8).
      return {
        ...base,
        weights: { ...NONE, crash: 1, crashLeader: 3, restart: 6, isolateLeader: 2, partition: 1, heal: 4, weather: 1 },
        faultIntervalMs: [10, 150],
        proposalIntervalMs: [40, 150],
        maxDown: 'majority',
        crashNewLeader: 0.4,
        crashAfterCommit: 0.3,
        reactiveIsolate: 0.7,
        timing: CHURN_TIMING,
        compactEvery: null,
        maxEntriesPerAppend: 1,
      };
    case 'membership':
      // Voters removed, re-added as learners and promoted while replicas lag behind partitions and crashes.
      return {
        ...base,
        weights: { ...NONE, membership: 6, partition: 2, isolateLeader: 1, crash: 2, restart: 3, heal: 3 },
        faultIntervalMs: [50, 300],
        proposalIntervalMs: [20, 80],
        maxDown: 'minority',
        timing: CHURN_TIMING,
      };
    case 'wipes':
      // A voter's disk lost under its old id, with the partitions and crashes that let a stale candidate
      // look for its vote: what the data identities (actors/raft/identity.ts) must make harmless.
      return {
        ...base,
        weights: { ...NONE, wipe: 3, crash: 2, crashLeader: 2, restart: 4, partition: 3, isolateLeader: 2, oneWay: 1, heal: 3 },
        faultIntervalMs: [50, 300],
        proposalIntervalMs: [20, 80],
        maxDown: 'minority',
        timing: CHURN_TIMING,
      };
    case 'elections':
      // Lagging replicas that time out and campaign: what voteWithoutLogCheck gets wrong.
      return {
        ...base,
        weights: { ...NONE, crash: 2, crashLeader: 3, restart: 4, isolateLeader: 3, partition: 2, heal: 2, clockJump: 3, membership: 2 },
        faultIntervalMs: [50, 300],
        proposalIntervalMs: [20, 80],
        maxDown: 'minority',
        timing: CHURN_TIMING,
      };
  }
}
