/**
 * Fault injection: timer-driven faults drawn from a mix's weights, and
 * reactive faults that hit a leader a moment after it takes office or
 * advances its commit index (see FaultMix).
 */
import type { CoreView, RaftTiming, ReplicaId } from '../../actors/raft/types.ts';
import type { EventQueue } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import type { SimulatedNetwork } from '../../actors/transport/simulated.ts';
import { FAULT_KINDS, type FaultKind, type FaultMix } from './faults.ts';
import type { SimulatedReplica, Wire } from './replica.ts';

/** Membership changes never shrink the voters below this: a 3-voter cluster still survives one fault. */
const MIN_VOTERS = 3;

/** What the injector may see and do in the cluster. */
export interface FaultTarget {
  readonly ids: readonly ReplicaId[];
  /** Every replica, in id order. */
  readonly replicas: readonly SimulatedReplica[];
  readonly network: SimulatedNetwork<Wire>;
  readonly queue: EventQueue;
  /** The fault stream of the seed's random generator. */
  readonly random: SeededRandom;
  readonly mix: FaultMix;
  readonly timing: RaftTiming;
  leader(): SimulatedReplica | null;
  crash(replica: SimulatedReplica): void;
  touch(id: ReplicaId): void;
  inFaultPhase(): boolean;
  nextConfigId(): string;
  record(line: string): void;
}

export class FaultInjector {
  readonly #c: FaultTarget;
  /** Faults carried out, by kind. */
  readonly counts: Partial<Record<FaultKind, number>> = {};

  constructor(target: FaultTarget) {
    this.#c = target;
  }

  /** One timer-driven fault, drawn by the mix's weights. */
  inject(): void {
    const weights = FAULT_KINDS.map((kind) => this.#c.mix.weights[kind]);
    if (weights.every((w) => w <= 0)) return;
    const kind = FAULT_KINDS[this.#c.random.weighted(weights)]!;
    const done = this.#applyFault(kind);
    if (done !== null) {
      this.counts[kind] = (this.counts[kind] ?? 0) + 1;
      this.#c.record(`  fault ${kind}: ${done}`);
    }
  }

  /** Carry out one fault; returns what it did, or null when it did not apply right now. */
  #applyFault(kind: FaultKind): string | null {
    const random = this.#c.random;
    const up = [...this.#c.replicas].filter((r) => r.core !== null);
    const down = [...this.#c.replicas].filter((r) => r.core === null);
    const leader = this.#c.leader();
    const maxDown = this.#maxDown();
    switch (kind) {
      case 'crash':
      case 'crashLeader': {
        if (down.length >= maxDown || up.length === 0) return null;
        const victim = kind === 'crashLeader' && leader !== null ? leader : random.pick(up);
        this.#c.crash(victim);
        return victim.id;
      }
      case 'restart': {
        if (down.length === 0) return null;
        const back = random.pick(down);
        back.start();
        return back.id;
      }
      case 'partition': {
        const shuffled = random.shuffled(this.#c.ids);
        const cut = random.int(1, Math.max(1, this.#c.ids.length - 1));
        const groups = [shuffled.slice(0, cut), shuffled.slice(cut)];
        this.#c.network.partition(groups);
        return groups.map((g) => g.join(',')).join(' | ');
      }
      case 'isolateLeader': {
        if (leader === null) return null;
        this.#c.network.isolate(leader.id, this.#c.ids);
        return leader.id;
      }
      case 'oneWay': {
        const cuts: string[] = [];
        for (let n = random.int(1, this.#c.ids.length); n > 0; n--) {
          const from = random.pick(this.#c.ids);
          const to = random.pick(this.#c.ids.filter((id) => id !== from));
          if (to === undefined) break;
          this.#c.network.cutLink(from, to);
          cuts.push(`${from}>${to}`);
        }
        return cuts.join(' ');
      }
      case 'heal':
        this.#c.network.heal();
        return 'network';
      case 'clockJump': {
        const target = up.length > 0 ? random.pick(up) : null;
        if (target?.clock == null) return null;
        const ms = random.int(-this.#c.timing.electionMaxMs, this.#c.timing.electionMaxMs);
        target.clock.jump(ms);
        return `${target.id} ${ms}ms`;
      }
      case 'clockRate': {
        const target = up.length > 0 ? random.pick(up) : null;
        if (target?.clock == null) return null;
        target.clock.rate = random.pick([0.25, 0.5, 0.8, 1, 1.25, 2, 4]);
        return `${target.id} x${target.clock.rate}`;
      }
      case 'weather': {
        const mix = this.#c.mix;
        const minDelayMs = random.int(0, 5);
        const weather = {
          dropRate: random.chance(0.5) ? 0 : random.next() * mix.maxDropRate,
          duplicateRate: random.chance(0.5) ? 0 : random.next() * mix.maxDuplicateRate,
          minDelayMs,
          maxDelayMs: minDelayMs + random.int(0, mix.maxDelayMs),
          reorderRate: random.chance(0.5) ? 0 : random.next() * 0.3,
          reorderDelayMs: random.int(0, 4 * mix.maxDelayMs),
        };
        this.#c.network.setConditions(weather);
        return `drop=${weather.dropRate.toFixed(2)} dup=${weather.duplicateRate.toFixed(2)} delay=${weather.minDelayMs}-${weather.maxDelayMs} reorder=${weather.reorderRate.toFixed(2)}`;
      }
      case 'membership':
        return this.#changeMembership();
      case 'transfer': {
        if (leader?.core == null) return null;
        const to = random.pick(this.#c.ids.filter((id) => id !== leader.id));
        if (to === undefined) return null;
        this.#c.touch(leader.id);
        leader.core.send({ type: 'transferLeadership', to });
        return `${leader.id} -> ${to}`;
      }
    }
  }

  /** Crash a leader a moment after it took office or advanced its commit (see FaultMix.crashNewLeader). */
  react(replica: SimulatedReplica, before: CoreView | null, view: CoreView): void {
    if (!this.#c.inFaultPhase() || view.role !== 'leader') return;
    const newLeader = before === null || before.role !== 'leader' || before.term !== view.term;
    const committed = !newLeader && before !== null && view.commitIndex > before.commitIndex;
    const chance = newLeader ? this.#c.mix.crashNewLeader : committed ? this.#c.mix.crashAfterCommit : 0;
    if (!this.#c.random.chance(chance)) return;
    const incarnation = replica.incarnation;
    const why = newLeader ? `new leader in t${view.term}` : `leader committed ${view.commitIndex}`;
    // Isolation also loses the messages already in flight, which a crash does not.
    const isolate = this.#c.random.chance(this.#c.mix.reactiveIsolate);
    this.#c.queue.schedule(this.#c.random.int(0, 3), `fault ${isolate ? 'isolate' : 'crash'} ${replica.id} (${why})`, () => {
      if (!this.#c.inFaultPhase() || replica.incarnation !== incarnation || replica.core === null) return;
      if (isolate) {
        this.#c.network.isolate(replica.id, this.#c.ids);
        this.counts.isolateLeader = (this.counts.isolateLeader ?? 0) + 1;
        return;
      }
      const down = [...this.#c.replicas].filter((r) => r.core === null).length;
      if (down >= this.#maxDown()) return;
      this.#c.crash(replica);
      this.counts.crashLeader = (this.counts.crashLeader ?? 0) + 1;
    });
  }

  #maxDown(): number {
    const minority = Math.floor((this.#c.ids.length - 1) / 2);
    return this.#c.mix.maxDown === 'minority' ? minority : Math.min(this.#c.ids.length - 1, minority + 1);
  }

  /**
   * Single-server membership change (thesis §4.1) proposed to the leader:
   * bring a non-member back as a learner, promote a learner, or remove a voter
   * (never below MIN_VOTERS). The outcome is not awaited: refusals are normal.
   */
  #changeMembership(): string | null {
    const leader = this.#c.leader();
    if (leader?.core == null || leader.view === null) return null;
    const { voters, learners } = leader.view.config;
    const outsiders = this.#c.ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const random = this.#c.random;
    let config: { voters: string[]; learners: string[] };
    let what: string;
    if (outsiders.length > 0 && random.chance(0.5)) {
      const id = random.pick(outsiders);
      config = { voters: [...voters], learners: [...learners, id] };
      what = `add learner ${id}`;
    } else if (learners.length > 0 && random.chance(0.7)) {
      const id = random.pick(learners);
      config = { voters: [...voters, id], learners: learners.filter((l) => l !== id) };
      what = `promote ${id}`;
    } else if (voters.length > MIN_VOTERS) {
      const id = random.pick(voters);
      config = { voters: voters.filter((v) => v !== id), learners: [...learners] };
      what = `remove voter ${id}`;
    } else {
      return null;
    }
    this.#c.touch(leader.id);
    leader.core.send({ type: 'proposeConfig', id: this.#c.nextConfigId(), config });
    return `${what} via ${leader.id}`;
  }
}
