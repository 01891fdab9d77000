/**
 * The in-memory simulated network: seeded delay, drop, duplication, reordering
 * and partitions (symmetric and one-way), all driven by one `EventQueue` so a
 * whole cluster's traffic replays exactly from its seed.
 *
 * It models NATS core: at most once per copy, no ordering between messages,
 * anything sent across a cut link (or to a node that is down when the message
 * arrives) is silently lost.
 */
import type { SeededRandom } from './sim-random.ts';

export { EventQueue, SimulatedClock, type ScheduledEvent } from './sim-clock.ts';
export { SeededRandom } from './sim-random.ts';

/**
 * What the network schedules deliveries on: the simulation's `EventQueue`
 * (deterministic), or `REAL_TIME` for tests that run real replicas.
 */
export interface DeliveryScheduler {
  schedule(delayMs: number, label: string, run: () => void): unknown;
}

/** Deliveries on real timers: seeded fault decisions, wall-clock timing. */
export const REAL_TIME: DeliveryScheduler = {
  schedule: (delayMs, _label, run) => setTimeout(run, delayMs),
};

/** Node name on the simulated network (a replica id). */
export type NodeId = string;

/** The weather: how the network treats each message. Rates are probabilities in [0, 1]. */
export interface NetworkConditions {
  /** Chance that a message is lost. */
  readonly dropRate: number;
  /** Chance that a message is delivered twice (each copy with its own delay). */
  readonly duplicateRate: number;
  /** Every delivery takes a delay drawn uniformly from [minDelayMs, maxDelayMs]. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Chance that a message is held back by an extra delay up to `reorderDelayMs`, overtaking-style reordering. */
  readonly reorderRate: number;
  readonly reorderDelayMs: number;
}

/** A calm LAN: 1–5 ms, nothing lost. */
export const CALM_NETWORK: NetworkConditions = {
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 5,
  reorderRate: 0,
  reorderDelayMs: 0,
};

/** Counters, for the simulation's summary and for tests. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  /** Lost to a cut link, at send time or on arrival. */
  partitioned: number;
  /** Arrived at a node that was down (not attached). */
  undeliverable: number;
}

export type Receiver<M> = (message: M, from: NodeId) => void;

export class SimulatedNetwork<M> {
  readonly #queue: DeliveryScheduler;
  readonly #random: SeededRandom;
  readonly #describe: (message: M) => string;
  readonly #receivers = new Map<NodeId, Receiver<M>>();
  /** Directed links that are cut, as "from>to". */
  readonly #cut = new Set<string>();
  #conditions: NetworkConditions;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, partitioned: 0, undeliverable: 0 };

  constructor(queue: DeliveryScheduler, random: SeededRandom, conditions: NetworkConditions = CALM_NETWORK, describe: (message: M) => string = () => 'message') {
    this.#queue = queue;
    this.#random = random;
    this.#conditions = validConditions(conditions);
    this.#describe = describe;
  }

  get conditions(): NetworkConditions {
    return this.#conditions;
  }

  setConditions(conditions: Partial<NetworkConditions>): void {
    this.#conditions = validConditions({ ...this.#conditions, ...conditions });
  }

  /** Start delivering messages addressed to `id` (a replica coming up). */
  attach(id: NodeId, receiver: Receiver<M>): void {
    this.#receivers.set(id, receiver);
  }

  /** Stop delivering to `id` (a crash): whatever is in flight to it is lost on arrival. */
  detach(id: NodeId): void {
    this.#receivers.delete(id);
  }

  /**
   * Hand a message to the network; it arrives later, maybe twice, maybe never.
   * `onLost` runs (once, when the last copy is lost) if no copy is delivered:
   * a runtime uses it to model a stream whose failure it would notice.
   */
  send(from: NodeId, to: NodeId, message: M, onLost?: () => void): void {
    this.stats.sent++;
    if (!this.canReach(from, to)) {
      this.stats.partitioned++;
      onLost?.();
      return;
    }
    const c = this.#conditions;
    if (this.#random.chance(c.dropRate)) {
      this.stats.dropped++;
      onLost?.();
      return;
    }
    const copies = this.#random.chance(c.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    const fate = { pending: copies, delivered: false };
    for (let copy = 0; copy < copies; copy++) {
      let delay = c.minDelayMs + this.#random.next() * (c.maxDelayMs - c.minDelayMs);
      if (this.#random.chance(c.reorderRate)) delay += this.#random.next() * c.reorderDelayMs;
      this.#queue.schedule(delay, `deliver ${from}->${to} ${this.#describe(message)}`, () => {
        fate.pending--;
        if (this.#arrive(from, to, message)) fate.delivered = true;
        else if (fate.pending === 0 && !fate.delivered) onLost?.();
      });
    }
  }

  /** Whether a message sent now from `from` would cross to `to` (ignores drop chance). */
  canReach(from: NodeId, to: NodeId): boolean {
    return !this.#cut.has(linkKey(from, to));
  }

  /** Symmetric partition: nodes in different groups cannot talk. Replaces any previous cut. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.#cut.clear();
    for (const [g, group] of groups.entries()) {
      for (const [h, other] of groups.entries()) {
        if (g === h) continue;
        for (const from of group) for (const to of other) this.#cut.add(linkKey(from, to));
      }
    }
  }

  /** One-way cut: `from` can no longer reach `to`; the reverse direction is untouched. */
  cutLink(from: NodeId, to: NodeId): void {
    this.#cut.add(linkKey(from, to));
  }

  /** Cut `id` off from every node in `others`, both ways. */
  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const other of others) {
      if (other === id) continue;
      this.#cut.add(linkKey(id, other));
      this.#cut.add(linkKey(other, id));
    }
  }

  /** Heal every partition and cut link. */
  heal(): void {
    this.#cut.clear();
  }

  /** The directed links currently cut, as "from>to", sorted (for traces and tests). */
  cutLinks(): string[] {
    return [...this.#cut].sort();
  }

  /** Deliver one copy; false if it was lost on arrival. */
  #arrive(from: NodeId, to: NodeId, message: M): boolean {
    // A partition that formed while the message was in flight loses it too.
    if (!this.canReach(from, to)) {
      this.stats.partitioned++;
      return false;
    }
    const receiver = this.#receivers.get(to);
    if (receiver === undefined) {
      this.stats.undeliverable++;
      return false;
    }
    this.stats.delivered++;
    receiver(message, from);
    return true;
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

function validConditions(c: NetworkConditions): NetworkConditions {
  const rates = [c.dropRate, c.duplicateRate, c.reorderRate];
  if (rates.some((r) => !(r >= 0 && r <= 1))) throw new RangeError(`network rates must lie in [0, 1]: ${JSON.stringify(c)}`);
  if (!(c.minDelayMs >= 0 && c.maxDelayMs >= c.minDelayMs && c.reorderDelayMs >= 0) || !Number.isFinite(c.maxDelayMs + c.reorderDelayMs)) {
    throw new RangeError(`network delays need 0 <= minDelayMs <= maxDelayMs, finite: ${JSON.stringify(c)}`);
  }
  return c;
}
