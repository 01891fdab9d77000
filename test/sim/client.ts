/**
 * The simulated clients: proposals sent throughout to random replicas,
 * retried on refusal (towards the hinted leader), on a lost replica and on
 * timeout. A proposal is ACKNOWLEDGED when the replica that accepted it has
 * applied, at the accepted index, the entry with the accepted term: exactly
 * when the real runtime answers a client.
 */
import type { Entry, Index, ProposalOutcome, ReplicaId, Term } from '../../actors/raft/types.ts';
import type { EventQueue } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import { InvariantViolation } from './invariants.ts';
import { commandPayload } from './state-machine.ts';

/** How the client reaches replicas; the simulation implements it. */
export interface ClientLink {
  /** Deliver a proposal to a replica's core; false if the replica is down (connection refused). */
  propose(replica: ReplicaId, attemptId: string, data: Uint8Array): boolean;
  /** A proposal was acknowledged: the invariant checker records it. */
  acknowledged(proposal: string, payloadDigest: string, index: Index, term: Term): void;
}

export interface ClientTuning {
  /**
   * Give up on an attempt that has no answer after this long and retry elsewhere
   * (the client's request timeout). It doubles with each timeout of the same
   * proposal, up to MAX_TIMEOUT_DOUBLINGS, so that a slow cluster is not buried
   * under duplicate retries.
   */
  readonly attemptTimeoutMs: number;
  /** Wait between a refusal and the retry. */
  readonly retryBackoffMs: readonly [number, number];
}

interface Proposal {
  readonly id: string;
  readonly data: Uint8Array;
  readonly createdAt: number;
  attempts: number;
  /** Timeouts since the last reset: the next request timeout is base * 2^timeouts. */
  timeouts: number;
  /** Who to try next (a not_leader hint), if anyone. */
  hint: ReplicaId | null;
  live: Attempt | null;
  acked: boolean;
}

interface Attempt {
  readonly id: string;
  readonly proposal: Proposal;
  readonly replica: ReplicaId;
  accepted: { index: Index; term: Term } | null;
  timeout: ReturnType<EventQueue['schedule']> | null;
}

const encoder = new TextEncoder();

/** A proposal's request timeout grows to at most 2^3 = 8 times the base: a retry storm is bounded, a lost attempt still retried. */
const MAX_TIMEOUT_DOUBLINGS = 3;

export class SimulatedClients {
  readonly #queue: EventQueue;
  readonly #random: SeededRandom;
  readonly #replicas: readonly ReplicaId[];
  readonly #link: ClientLink;
  readonly #tuning: ClientTuning;
  readonly #proposals: Proposal[] = [];
  readonly #attempts = new Map<string, Attempt>();
  /** Accepted attempts waiting for their replica to apply (replica -> index -> attempts). */
  readonly #awaitingApply = new Map<ReplicaId, Map<Index, Attempt[]>>();
  #next = 1;
  #outstanding = 0;
  readonly stats = { proposed: 0, attempts: 0, refused: 0, timedOut: 0, acknowledged: 0 };

  constructor(queue: EventQueue, random: SeededRandom, replicas: readonly ReplicaId[], link: ClientLink, tuning: ClientTuning) {
    this.#queue = queue;
    this.#random = random;
    this.#replicas = replicas;
    this.#link = link;
    this.#tuning = tuning;
  }

  /** Proposals not yet acknowledged. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** The oldest unacknowledged proposals, for a liveness report. */
  describeOutstanding(limit = 5): string {
    const open = this.#proposals.filter((p) => !p.acked).slice(0, limit);
    return open.map((p) => `${p.id} (${p.attempts} attempts, since ${p.createdAt.toFixed(0)}ms)`).join(', ');
  }

  /** A new proposal from some client, to a random replica. */
  submit(): void {
    const id = `p${this.#next++}`;
    const proposal: Proposal = { id, data: encoder.encode(id), createdAt: this.#queue.now, attempts: 0, timeouts: 0, hint: null, live: null, acked: false };
    this.#proposals.push(proposal);
    this.#outstanding++;
    this.stats.proposed++;
    this.#try(proposal);
  }

  /** The core answered a propose (after its Ready persisted). */
  onOutcome(replica: ReplicaId, outcome: ProposalOutcome): void {
    const attempt = this.#attempts.get(outcome.id);
    if (attempt === undefined || attempt.proposal.live !== attempt) return; // abandoned earlier
    if (attempt.replica !== replica) throw new InvariantViolation('core contract', `${replica} answered proposal ${outcome.id} that was sent to ${attempt.replica}`);
    if (!outcome.accepted) {
      this.stats.refused++;
      attempt.proposal.hint = outcome.reason.kind === 'not_leader' ? outcome.reason.leader : null;
      this.#abandon(attempt, true);
      return;
    }
    attempt.accepted = { index: outcome.index, term: outcome.term };
    let byIndex = this.#awaitingApply.get(replica);
    if (byIndex === undefined) this.#awaitingApply.set(replica, (byIndex = new Map()));
    const waiting = byIndex.get(outcome.index);
    if (waiting === undefined) byIndex.set(outcome.index, [attempt]);
    else waiting.push(attempt);
  }

  /** `replica` applied `entry`: answer the attempts it accepted at that index. */
  onApplied(replica: ReplicaId, entry: Entry): void {
    const byIndex = this.#awaitingApply.get(replica);
    const waiting = byIndex?.get(entry.index);
    if (byIndex === undefined || waiting === undefined) return;
    byIndex.delete(entry.index);
    for (const attempt of waiting) {
      if (attempt.proposal.live !== attempt) continue;
      if (entry.term !== attempt.accepted?.term) {
        // Overwritten by another leader's entry: the accepted proposal did not survive; the client retries.
        this.#abandon(attempt, true);
        continue;
      }
      const payload = commandPayload(entry);
      if (payload !== attempt.proposal.id) {
        throw new InvariantViolation(
          'core contract',
          `${replica} accepted ${attempt.id} at (${entry.index}, t${entry.term}) but applied ${payload === null ? `a ${entry.kind} entry` : `"${payload}"`} there`,
        );
      }
      this.#acknowledge(attempt, entry);
    }
  }

  /** `replica` jumped to a snapshot through `index`: answers for those indices are unknown, so those clients retry. */
  onSkipped(replica: ReplicaId, throughIndex: Index): void {
    const byIndex = this.#awaitingApply.get(replica);
    if (byIndex === undefined) return;
    for (const [index, waiting] of [...byIndex]) {
      if (index > throughIndex) continue;
      byIndex.delete(index);
      for (const attempt of waiting) if (attempt.proposal.live === attempt) this.#abandon(attempt, true);
    }
  }

  /** Every fault healed: clients wait at most the base timeout again (a client would reconnect and ask afresh). */
  onHeal(): void {
    for (const proposal of this.#proposals) {
      proposal.timeouts = 0;
      const attempt = proposal.live;
      if (attempt === null || proposal.acked) continue;
      if (attempt.timeout !== null) this.#queue.cancel(attempt.timeout);
      this.#armTimeout(attempt);
    }
  }

  /** `replica` crashed: its clients' connections break and they retry elsewhere. */
  onCrash(replica: ReplicaId): void {
    this.#awaitingApply.delete(replica);
    for (const attempt of [...this.#attempts.values()]) {
      if (attempt.replica === replica && attempt.proposal.live === attempt) {
        attempt.proposal.hint = null;
        this.#abandon(attempt, true);
      }
    }
  }

  #acknowledge(attempt: Attempt, entry: Entry): void {
    const proposal = attempt.proposal;
    this.#link.acknowledged(proposal.id, `t${entry.term} command ${proposal.id}`, entry.index, entry.term);
    this.#clear(attempt);
    proposal.live = null;
    proposal.acked = true;
    this.#outstanding--;
    this.stats.acknowledged++;
  }

  #try(proposal: Proposal): void {
    if (proposal.acked) return;
    const target = proposal.hint ?? this.#random.pick(this.#replicas);
    proposal.hint = null;
    proposal.attempts++;
    this.stats.attempts++;
    const attempt: Attempt = { id: `${proposal.id}.${proposal.attempts}`, proposal, replica: target, accepted: null, timeout: null };
    proposal.live = attempt;
    this.#attempts.set(attempt.id, attempt);
    this.#armTimeout(attempt);
    if (!this.#link.propose(target, attempt.id, proposal.data)) this.#abandon(attempt, true);
  }

  #armTimeout(attempt: Attempt): void {
    const proposal = attempt.proposal;
    const timeoutMs = this.#tuning.attemptTimeoutMs * 2 ** Math.min(proposal.timeouts, MAX_TIMEOUT_DOUBLINGS);
    attempt.timeout = this.#queue.schedule(timeoutMs, `client timeout ${attempt.id}`, () => {
      attempt.timeout = null;
      if (proposal.live !== attempt) return;
      this.stats.timedOut++;
      proposal.timeouts++;
      this.#abandon(attempt, false);
      this.#try(proposal);
    });
  }

  /** Stop waiting on an attempt; with `retryLater`, try again after a backoff. */
  #abandon(attempt: Attempt, retryLater: boolean): void {
    this.#clear(attempt);
    const proposal = attempt.proposal;
    if (proposal.live !== attempt) return;
    proposal.live = null;
    if (!retryLater) return;
    const [low, high] = this.#tuning.retryBackoffMs;
    this.#queue.schedule(this.#random.int(low, high), `client retry ${proposal.id}`, () => {
      if (proposal.live === null) this.#try(proposal);
    });
  }

  #clear(attempt: Attempt): void {
    if (attempt.timeout !== null) this.#queue.cancel(attempt.timeout);
    attempt.timeout = null;
    this.#attempts.delete(attempt.id);
  }
}
