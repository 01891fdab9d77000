/**
 * The fault injector of the real-runtime simulation: timer-driven faults
 * drawn by the seed's mix (crashes, restarts, partitions, one-way cuts,
 * clock jumps and rates, network weather, leadership transfers and
 * membership changes through the runtime's own operator requests), and
 * reactive ones that hit the few milliseconds after a replica becomes leader
 * or commits.
 */
import type { Configuration, CoreView, RaftTiming, ReplicaId } from '../../actors/raft/types.ts';
import type { EventQueue, SimulatedClock } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import type { SimulatedNetwork } from '../../actors/transport/simulated.ts';
import type { PeerWire } from '../../actors/transport/sim-peer-transport.ts';
import type { FaultMix } from './faults.ts';
import type { BusWire, SimulatedBus } from './sim-bus.ts';
import { CLIENT } from './sim-clients.ts';

/** What the injector sees of a replica. */
export interface FaultTarget {
  readonly id: ReplicaId;
  readonly alive: boolean;
  readonly incarnation: number;
  readonly view: CoreView | null;
  readonly clock: SimulatedClock | null;
}

export interface FaultWorld<N extends FaultTarget> {
  readonly queue: EventQueue;
  /** The fault stream of the seed's generator. */
  readonly random: SeededRandom;
  readonly mix: FaultMix;
  readonly timing: RaftTiming;
  readonly prefix: string;
  readonly nodes: readonly N[];
  readonly peerNet: SimulatedNetwork<PeerWire>;
  readonly busNet: SimulatedNetwork<BusWire>;
  readonly bus: SimulatedBus;
  crash(node: N, why: string): void;
  start(node: N): void;
  /** Lose `node`'s disk and restart it empty under its old id, if the run allows another wipe now; whether it did. */
  wipe(node: N): boolean;
  inFaultPhase(): boolean;
  record(line: string): void;
}

export class FaultInjector<N extends FaultTarget> {
  readonly #w: FaultWorld<N>;
  /** Per seed: the chance that a commit advance is followed by a crash of that replica (react). */
  readonly crashOnCommit: number;

  constructor(world: FaultWorld<N>) {
    this.#w = world;
    this.crashOnCommit = world.random.chance(0.4) ? world.random.pick([0.02, 0.1]) : 0;
  }


  schedule(): void {
    if (!this.#w.inFaultPhase()) return;
    const [low, high] = this.#w.mix.faultIntervalMs;
    this.#w.queue.schedule(this.#w.random.int(low, high), 'fault', () => {
      if (!this.#w.inFaultPhase()) return;
      this.#fault();
      this.schedule();
    });
  }

  #fault(): void {
    const random = this.#w.random;
    const w = this.#w.mix.weights;
    const kinds = ['crash', 'crashLeader', 'restart', 'partition', 'isolateLeader', 'oneWay', 'heal', 'clockJump', 'clockRate', 'weather', 'transfer', 'membership', 'wipe'] as const;
    const weights = kinds.map((kind) => w[kind]);
    if (weights.every((x) => x <= 0)) return;
    const kind = kinds[random.weighted(weights)]!;
    const up = this.#w.nodes.filter((n) => n.alive);
    const down = this.#w.nodes.filter((n) => !n.alive);
    const maxDown = this.maxDown();
    const leader = up.find((n) => n.view?.role === 'leader');
    const ids = this.#w.nodes.map((n) => n.id);
    const both = (f: (net: SimulatedNetwork<PeerWire> | SimulatedNetwork<BusWire>) => void): void => {
      f(this.#w.peerNet);
      f(this.#w.busNet);
    };
    switch (kind) {
      case 'crash':
      case 'crashLeader': {
        const victim = kind === 'crashLeader' ? leader : up.length > 0 ? random.pick(up) : undefined;
        if (victim && down.length < maxDown) this.#w.crash(victim, `fault ${kind}`);
        return;
      }
      case 'restart':
        if (down.length > 0) this.#w.start(random.pick(down));
        return;
      case 'partition': {
        const shuffled = [...ids].sort(() => random.next() - 0.5);
        const cut = random.int(1, Math.max(1, ids.length - 1));
        both((net) => net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]));
        this.#w.record(`  fault partition ${shuffled.slice(0, cut).join(',')} | ${shuffled.slice(cut).join(',')}`);
        return;
      }
      case 'isolateLeader':
        if (leader) both((net) => net.isolate(leader.id, ids));
        this.#w.record(`  fault isolate ${leader?.id ?? '-'}`);
        return;
      case 'oneWay': {
        const from = random.pick(ids);
        const to = random.pick(ids.filter((id) => id !== from));
        if (from !== undefined && to !== undefined) both((net) => net.cutLink(from, to));
        this.#w.record(`  fault cut ${from}->${to}`);
        return;
      }
      case 'heal':
        both((net) => net.heal());
        this.#w.record('  fault heal');
        return;
      case 'clockJump': {
        const node = up.length > 0 ? random.pick(up) : undefined;
        const ms = random.int(-this.#w.timing.electionMaxMs, this.#w.timing.electionMaxMs);
        node?.clock?.jump(ms);
        this.#w.record(`  fault clock jump ${node?.id ?? '-'} ${ms} ms`);
        return;
      }
      case 'clockRate': {
        const node = up.length > 0 ? random.pick(up) : undefined;
        if (node?.clock) node.clock.rate = random.pick([0.25, 0.5, 2, 4]);
        return;
      }
      case 'weather': {
        const conditions = {
          dropRate: random.next() * this.#w.mix.maxDropRate,
          duplicateRate: random.next() * this.#w.mix.maxDuplicateRate,
          minDelayMs: 0,
          maxDelayMs: random.int(1, this.#w.mix.maxDelayMs),
          reorderRate: random.next() * 0.3,
          reorderDelayMs: random.int(0, this.#w.mix.maxDelayMs),
        };
        both((net) => net.setConditions(conditions));
        this.#w.record(`  fault weather drop=${conditions.dropRate.toFixed(2)} dup=${conditions.duplicateRate.toFixed(2)}`);
        return;
      }
      case 'membership': {
        const config = leader?.view?.config;
        if (config === undefined) return;
        const request = membershipChange(config, ids, random);
        if (request === null) return;
        // Through the runtime's own operator request, like `transfer`.
        this.#w.bus.request(CLIENT, `${this.#w.prefix}.admin.members`, JSON.stringify(request), this.#w.timing.electionMaxMs * 4).catch(() => undefined);
        this.#w.record(`  fault membership ${request.action} ${request.id}`);
        return;
      }
      case 'wipe': {
        const victim = random.pick(this.#w.nodes);
        if (victim !== undefined && this.#w.wipe(victim)) this.#w.record(`  fault wipe ${victim.id}`);
        return;
      }
      case 'transfer': {
        const to = random.pick(ids);
        // Through the runtime's own operator request: any replica takes it and forwards it to the leader.
        this.#w.bus.request(CLIENT, `${this.#w.prefix}.admin.transfer`, JSON.stringify({ to }), this.#w.timing.electionMaxMs * 2).catch(() => undefined);
        this.#w.record(`  fault transfer to ${to}`);
        return;
      }
    }
  }

  /**
   * A reactive fault: crash a replica 0–3 ms after its commit index advanced, i.e. while it persists, applies and
   * answers what just committed. Timer-driven faults rarely land in that window (a few ms per commit).
   */
  react(node: N, chance: number, why: string): void {
    if (!this.#w.inFaultPhase() || !this.#w.random.chance(chance)) return;
    const incarnation = node.incarnation;
    const isolate = node.view?.role === 'leader' && this.#w.random.chance(this.#w.mix.reactiveIsolate);
    this.#w.queue.schedule(this.#w.random.int(0, 3), `fault ${isolate ? 'isolate' : 'crash'} ${node.id} (${why})`, () => {
      const down = this.#w.nodes.filter((n) => !n.alive).length;
      if (!this.#w.inFaultPhase() || !node.alive || node.incarnation !== incarnation) return;
      if (isolate) {
        const ids = this.#w.nodes.map((n) => n.id);
        this.#w.peerNet.isolate(node.id, ids);
        this.#w.busNet.isolate(node.id, ids);
      } else if (down < this.maxDown()) {
        this.#w.crash(node, `reactive: ${why}`);
      }
    });
  }

  maxDown(): number {
    return this.#w.mix.maxDown === 'majority' ? Math.floor(this.#w.nodes.length / 2) + 1 : Math.floor((this.#w.nodes.length - 1) / 2);
  }
}

/** Fewest voters a membership fault leaves: below three, one crash stalls the cluster for the rest of the seed. */
const MIN_VOTERS = 3;

/** A single-server change: add a non-member back as learner, promote a learner, or remove a voter (keeping MIN_VOTERS). */
function membershipChange(config: Configuration, ids: readonly ReplicaId[], random: SeededRandom): { action: 'addLearner' | 'promote' | 'remove'; id: ReplicaId } | null {
  const outside = ids.filter((id) => !config.voters.includes(id) && !config.learners.includes(id));
  const options: { action: 'addLearner' | 'promote' | 'remove'; id: ReplicaId }[] = [
    ...outside.map((id) => ({ action: 'addLearner' as const, id })),
    ...config.learners.map((id) => ({ action: 'promote' as const, id })),
    ...(config.voters.length > MIN_VOTERS ? config.voters.map((id) => ({ action: 'remove' as const, id })) : []),
  ];
  return options.length === 0 ? null : random.pick(options);
}
