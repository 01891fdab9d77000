/**
 * Linearizable reads (thesis §6.4): clients send `readIndex` to random
 * replicas; a read granted at index i is served once that replica has applied
 * through i, and observes the replica's applied index at that moment.
 *
 * Checked for every served read:
 *  - it observes every entry known committed anywhere when it was issued
 *    (no stale read from a deposed leader);
 *  - it observes at least what every read served before it was issued
 *    observed (real-time order between reads).
 */
import type { Index, ReadOutcome, ReplicaId } from '../../actors/raft/types.ts';
import { InvariantViolation } from './invariants.ts';

interface PendingRead {
  readonly id: string;
  readonly replica: ReplicaId;
  readonly issuedAt: number;
  /** The highest commitIndex any replica reported when the read was issued. */
  readonly mustSee: Index;
  /** The most any read served before this one was issued had observed. */
  readonly servedBefore: Index;
  /** Granted at this index; null until the core answers. */
  index: Index | null;
}

/**
 * `local` is a broken runtime that answers every read from its own applied
 * state without asking the core (a stale follower or deposed leader then
 * serves old data): it proves the check can fail.
 */
export const READ_MODES = ['correct', 'local'] as const;
export type ReadMode = (typeof READ_MODES)[number];

export class ReadChecker {
  readonly #pending = new Map<string, PendingRead>();
  #next = 1;
  /** The highest applied index any served read has observed. */
  #servedHigh = 0;
  readonly stats = { issued: 0, refused: 0, served: 0 };

  /** A read is about to be sent to `replica`; returns its id. */
  issue(replica: ReplicaId, now: number, committedAnywhere: Index): string {
    const id = `read${this.#next++}`;
    this.#pending.set(id, { id, replica, issuedAt: now, mustSee: committedAnywhere, servedBefore: this.#servedHigh, index: null });
    this.stats.issued++;
    return id;
  }

  /**
   * The core answered; serve it at once if the replica has already applied far enough.
   * Returns the hinted leader when the read was refused as not_leader (the client asks it next).
   */
  onOutcome(replica: ReplicaId, outcome: ReadOutcome, appliedIndex: Index): ReplicaId | null {
    const read = this.#pending.get(outcome.id);
    if (read === undefined) return null;
    if (read.replica !== replica) throw new InvariantViolation('core contract', `${replica} answered read ${outcome.id} that was sent to ${read.replica}`);
    if (!outcome.ok) {
      this.#pending.delete(read.id);
      this.stats.refused++;
      return outcome.reason.kind === 'not_leader' && outcome.reason.leader !== replica ? outcome.reason.leader : null;
    }
    read.index = outcome.index;
    if (appliedIndex >= outcome.index) this.#serve(read, appliedIndex);
    return null;
  }

  /** The broken `local` runtime: serve a just-issued read from the replica's applied state, as is. */
  serveLocally(id: string, appliedIndex: Index): void {
    const read = this.#pending.get(id);
    if (read !== undefined) this.#serve(read, appliedIndex);
  }

  /** `replica` has applied through `appliedIndex` (an apply or a snapshot install). */
  onApplied(replica: ReplicaId, appliedIndex: Index): void {
    for (const read of this.#pending.values()) {
      if (read.replica === replica && read.index !== null && appliedIndex >= read.index) this.#serve(read, appliedIndex);
    }
  }

  /** `replica` crashed: its reads die with the connection. */
  onCrash(replica: ReplicaId): void {
    for (const read of [...this.#pending.values()]) if (read.replica === replica) this.#pending.delete(read.id);
  }

  #serve(read: PendingRead, observed: Index): void {
    this.#pending.delete(read.id);
    this.stats.served++;
    if (observed < read.mustSee) {
      throw new InvariantViolation(
        'linearizability',
        `${read.id} at ${read.replica} (granted index ${read.index ?? "none, served locally"}) observed applied index ${observed}, ` +
          `but index ${read.mustSee} was already committed when it was issued at ${read.issuedAt.toFixed(2)}ms`,
      );
    }
    if (observed < read.servedBefore) {
      throw new InvariantViolation(
        'linearizability',
        `${read.id} at ${read.replica} observed applied index ${observed}, less than ${read.servedBefore} observed by a read served before it was issued`,
      );
    }
    this.#servedHigh = Math.max(this.#servedHigh, observed);
  }
}
