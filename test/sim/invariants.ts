/**
 * The safety properties the simulation asserts after every step, over all of
 * history (Raft Figure 3; the client-visible guarantees are checked in
 * runtime-sim.ts, where the clients are). Each check
 * throws an `InvariantViolation` that says which property broke and how.
 */
import type { CoreView, Entry, HardState, Index, ReplicaId, Term } from '../../actors/raft/types.ts';
import { entryDigest } from './digests.ts';

export type InvariantName =
  | 'election safety'
  | 'vote safety'
  | 'log matching'
  | 'leader completeness'
  /** Raft §5.3: an entry is committed only once a majority of the configuration's voters store it. */
  | 'commit without quorum'
  | 'state machine safety'
  | 'acknowledged write lost'
  /** A send with one (sender, requestId) became two messages, or was acknowledged as two. */
  | 'exactly once'
  | 'linearizability'
  | 'storage contract'
  | 'core contract'
  | 'core crashed'
  | 'liveness'
  /** The simulation itself broke (a bug in the harness, not in the core). */
  | 'harness error';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${invariant} violated: ${detail}`);
  }
}

interface CommitRecord {
  readonly index: Index;
  readonly term: Term;
  /** A term at or after the one in which the entry committed: every leader of a later term must hold it. */
  readonly observedTerm: Term;
  readonly by: ReplicaId;
}

/** How a replica's log answers "which term is at index i?" (null: not held, undefined: covered by its snapshot). */
export type TermLookup = (index: Index) => Term | null | undefined;

export class InvariantChecker {
  /** Raft §5.2: at most one leader per term, over all history. */
  readonly #leaders = new Map<Term, ReplicaId>();
  /** Durable votes: replica -> term -> candidate. A vote once cast is never changed. */
  readonly #votes = new Map<ReplicaId, Map<Term, ReplicaId>>();
  /** Log matching: "index:term" -> the entry's digest and the term of the entry before it. */
  readonly #logKeys = new Map<string, { digest: string; prevTerm: Term | null; by: ReplicaId }>();
  /** Committed entries as observed, by index. */
  readonly #committedByIndex = new Map<Index, CommitRecord>();
  /** For each term in which commits were observed, the highest index seen committed then. */
  readonly #highestCommitByTerm = new Map<Term, CommitRecord>();
  get leaderTerms(): number {
    return this.#leaders.size;
  }

  /** A hard state reached disk. Raft Figure 2: votedFor is cast once per term. */
  observeHardState(replica: ReplicaId, hardState: HardState): void {
    if (hardState.votedFor === null) {
      const previous = this.#votes.get(replica)?.get(hardState.term);
      if (previous !== undefined) {
        throw new InvariantViolation('vote safety', `${replica} persisted votedFor=null in term ${hardState.term} after voting for ${previous} in that term`);
      }
      return;
    }
    let votes = this.#votes.get(replica);
    if (votes === undefined) this.#votes.set(replica, (votes = new Map()));
    const previous = votes.get(hardState.term);
    if (previous !== undefined && previous !== hardState.votedFor) {
      throw new InvariantViolation('vote safety', `${replica} voted for ${previous} and then for ${hardState.votedFor} in term ${hardState.term}`);
    }
    votes.set(hardState.term, hardState.votedFor);
  }

  /** Raft §5.2 election safety and §5.4 leader completeness, for a replica's current view. */
  observeView(view: CoreView, termAt: TermLookup): void {
    if (view.role !== 'leader') return;
    const holder = this.#leaders.get(view.term);
    if (holder !== undefined && holder !== view.id) {
      throw new InvariantViolation('election safety', `${holder} and ${view.id} were both leader in term ${view.term}`);
    }
    this.#leaders.set(view.term, view.id);
    // Leader completeness: the highest entry known committed before this term must be in the leader's log.
    // Checking the highest suffices: log matching (checked on every append) gives the prefix.
    let record: CommitRecord | null = null;
    for (const [observedTerm, highest] of this.#highestCommitByTerm) {
      if (observedTerm < view.term && (record === null || highest.index > record.index)) record = highest;
    }
    if (record === null) return;
    const held = termAt(record.index);
    if (held !== undefined && held !== record.term) {
      throw new InvariantViolation(
        'leader completeness',
        `${view.id} leads term ${view.term} but ${held === null ? 'lacks' : `has term ${held} at`} index ${record.index}, ` +
          `committed with term ${record.term} (seen committed by ${record.by} in term ${record.observedTerm})`,
      );
    }
  }

  /** An entry entered a replica's log (as the core's Ready says). `prevTerm` is null when the snapshot hides it. */
  observeAppend(replica: ReplicaId, entry: Entry, prevTerm: Term | null): void {
    const key = `${entry.index}:${entry.term}`;
    const digest = entryDigest(entry);
    const known = this.#logKeys.get(key);
    if (known === undefined) {
      this.#logKeys.set(key, { digest, prevTerm, by: replica });
      return;
    }
    if (known.digest !== digest) {
      throw new InvariantViolation('log matching', `index ${entry.index} term ${entry.term} holds "${known.digest}" at ${known.by} but "${digest}" at ${replica}`);
    }
    if (prevTerm !== null && known.prevTerm !== null && prevTerm !== known.prevTerm) {
      throw new InvariantViolation(
        'log matching',
        `entry (${entry.index}, t${entry.term}) follows term ${known.prevTerm} at ${known.by} but term ${prevTerm} at ${replica}: the logs differ before a matching entry`,
      );
    }
    if (known.prevTerm === null && prevTerm !== null) known.prevTerm = prevTerm;
  }

  /** A replica's view claims `commitIndex`; `term` is its log's term there. */
  observeCommit(view: CoreView, term: Term): void {
    const index = view.commitIndex;
    if (index === 0) return;
    const known = this.#committedByIndex.get(index);
    if (known !== undefined) {
      if (known.term !== term) {
        throw new InvariantViolation('state machine safety', `index ${index} committed with term ${known.term} at ${known.by} but with term ${term} at ${view.id}`);
      }
      return;
    }
    const record: CommitRecord = { index, term, observedTerm: view.term, by: view.id };
    this.#committedByIndex.set(index, record);
    const highest = this.#highestCommitByTerm.get(view.term);
    if (highest === undefined || highest.index < index) this.#highestCommitByTerm.set(view.term, record);
  }


}
