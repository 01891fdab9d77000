/**
 * Bookkeeping that ties local callers to the core's answers and to apply
 * progress: proposals by id then by (index, term), reads by id, and callers
 * waiting until appliedIndex reaches some index.
 */
import type { Index, ProposalOutcome, ReadOutcome, Term } from '../raft/types.ts';
import { NotLeaderError, ProposalLostError, StoppingError } from './errors.ts';

/** What applying one entry produced, kept briefly so a late proposal outcome can still find its result. */
export interface AppliedResult<R> {
  readonly index: Index;
  readonly term: Term;
  /** The chat reply for a command entry; undefined for noop/config entries. */
  readonly result: R | undefined;
}

/** Remember this many recent apply results: covers a proposal outcome that arrives after its entry applied. */
export const APPLIED_RESULTS_KEPT = 4_096;

export class Waiters<R> {
  private readonly proposalsById = new Map<string, Deferred<R>>();
  private readonly proposalsByIndex = new Map<Index, { term: Term; deferred: Deferred<R> }>();
  private readonly readsById = new Map<string, Deferred<Index>>();
  private appliedWaiters: { index: Index; deferred: Deferred<void> }[] = [];
  private readonly recent = new Map<Index, AppliedResult<R>>();
  private applied: Index;
  /** The apply stage holding back a follower's applies (replica.ts `applyPause`) waits on this; at most one at a time. */
  private wantedSignal: (() => void) | null = null;

  constructor(appliedIndex: Index) {
    this.applied = appliedIndex;
  }

  get appliedIndex(): Index {
    return this.applied;
  }

  /** Register before sending the proposal to the core; resolves with the applied result. */
  expectProposal(id: string): Promise<R> {
    const deferred = defer<R>();
    this.proposalsById.set(id, deferred);
    this.signalWanted();
    return deferred.promise;
  }

  /** Somebody here waits for apply progress (a read, a proposal's result): applies must not be held back. */
  get applyWanted(): boolean {
    return this.appliedWaiters.length > 0 || this.proposalsById.size > 0 || this.proposalsByIndex.size > 0;
  }

  /** Resolves when the next caller starts waiting for apply progress. Only the latest call is woken: there is one apply stage. */
  nextApplyWanted(): Promise<void> {
    this.signalWanted();
    return new Promise((resolve) => (this.wantedSignal = resolve));
  }

  expectRead(id: string): Promise<Index> {
    const deferred = defer<Index>();
    this.readsById.set(id, deferred);
    return deferred.promise;
  }

  /** Forget a caller that gave up (deadline passed); a later answer is dropped. */
  abandon(id: string): void {
    this.proposalsById.delete(id);
    this.readsById.delete(id);
  }

  onProposals(outcomes: readonly ProposalOutcome[]): void {
    for (const outcome of outcomes) {
      const deferred = this.proposalsById.get(outcome.id);
      if (!deferred) continue;
      this.proposalsById.delete(outcome.id);
      if (!outcome.accepted) {
        deferred.reject(outcome.reason.kind === 'not_leader' ? new NotLeaderError(outcome.reason.leader) : new ProposalLostError(`proposal dropped: ${outcome.reason.detail}`));
        continue;
      }
      const done = this.recent.get(outcome.index);
      if (done) {
        settleApplied(deferred, outcome.term, done);
      } else if (outcome.index <= this.applied) {
        deferred.reject(new ProposalLostError(`entry ${outcome.index} applied before its outcome arrived and its result is no longer kept`));
      } else {
        const displaced = this.proposalsByIndex.get(outcome.index);
        displaced?.deferred.reject(new ProposalLostError(`index ${outcome.index} was reused in term ${outcome.term}`));
        this.proposalsByIndex.set(outcome.index, { term: outcome.term, deferred });
      }
    }
  }

  onReads(outcomes: readonly ReadOutcome[]): void {
    for (const outcome of outcomes) {
      const deferred = this.readsById.get(outcome.id);
      if (!deferred) continue;
      this.readsById.delete(outcome.id);
      if (outcome.ok) deferred.resolve(outcome.index);
      else deferred.reject(outcome.reason.kind === 'not_leader' ? new NotLeaderError(outcome.reason.leader) : new ProposalLostError(`read refused: ${outcome.reason.detail}`));
    }
  }

  /** One entry was applied durably: settle its proposal (if local) and wake readers. */
  onApplied(done: AppliedResult<R>): void {
    this.applied = Math.max(this.applied, done.index);
    this.recent.set(done.index, done);
    if (this.recent.size > APPLIED_RESULTS_KEPT) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    const waiting = this.proposalsByIndex.get(done.index);
    if (waiting) {
      this.proposalsByIndex.delete(done.index);
      settleApplied(waiting.deferred, waiting.term, done);
    }
    this.wakeApplied();
  }

  /** A snapshot moved appliedIndex forward without applying entries one by one: proposals below it are unknowable. */
  onSnapshotInstalled(index: Index): void {
    this.applied = Math.max(this.applied, index);
    for (const [at, waiting] of this.proposalsByIndex) {
      if (at <= index) {
        this.proposalsByIndex.delete(at);
        waiting.deferred.reject(new ProposalLostError(`entry ${at} was covered by an installed snapshot; its outcome is unknown`));
      }
    }
    this.wakeApplied();
  }

  /** Resolves once appliedIndex >= index. */
  untilApplied(index: Index): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    const deferred = defer<void>();
    this.appliedWaiters.push({ index, deferred });
    this.signalWanted();
    return deferred.promise;
  }

  /** Fail every waiting caller (shutdown). */
  closeAll(): void {
    const error = new StoppingError();
    for (const deferred of this.proposalsById.values()) deferred.reject(error);
    for (const { deferred } of this.proposalsByIndex.values()) deferred.reject(error);
    for (const deferred of this.readsById.values()) deferred.reject(error);
    for (const { deferred } of this.appliedWaiters) deferred.reject(error);
    this.proposalsById.clear();
    this.proposalsByIndex.clear();
    this.readsById.clear();
    this.appliedWaiters = [];
  }

  private signalWanted(): void {
    const signal = this.wantedSignal;
    this.wantedSignal = null;
    signal?.();
  }

  private wakeApplied(): void {
    if (this.appliedWaiters.length === 0) return;
    const still: typeof this.appliedWaiters = [];
    for (const waiter of this.appliedWaiters) {
      if (waiter.index <= this.applied) waiter.deferred.resolve();
      else still.push(waiter);
    }
    this.appliedWaiters = still;
  }
}

function settleApplied<R>(deferred: Deferred<R>, term: Term, done: AppliedResult<R>): void {
  // Raft §5.3: the entry at our index carries another term, so a later leader overwrote ours.
  if (done.term !== term) deferred.reject(new ProposalLostError(`entry ${done.index} was committed in term ${done.term}, not ${term}: the proposal was overwritten`));
  else deferred.resolve(done.result as R);
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers may give up (deadline) before the answer; never let a late rejection go unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
