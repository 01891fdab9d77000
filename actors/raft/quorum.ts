/**
 * Quorum arithmetic over a configuration's voters (Raft §5.2, §5.3; thesis §4).
 * Majorities are always counted over the configuration, never over the
 * replicas one happens to hear from; learners never count.
 */
import type { Configuration, Index, ReplicaId } from './types.ts';

/** The number of voters that make a majority: more than half. */
export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters hold, given each voter's
 * matchIndex (missing voters count as 0). Raft §5.3 / Figure 2 "leaders" rule.
 * With no voters at all nothing can be committed: 0.
 */
export function quorumMatchIndex(voters: readonly ReplicaId[], matchIndexOf: (voter: ReplicaId) => Index): Index {
  if (voters.length === 0) return 0;
  const sorted = voters.map(matchIndexOf).sort((a, b) => b - a);
  return sorted[majority(voters.length) - 1] ?? 0;
}

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The outcome of an election so far: won once a majority of voters granted,
 * lost once a majority refused (so a win is no longer possible), else pending.
 * Answers from non-voters are ignored.
 */
export function voteResult(voters: readonly ReplicaId[], answers: Readonly<Record<ReplicaId, boolean>>): VoteResult {
  const need = majority(voters.length);
  let granted = 0;
  let refused = 0;
  for (const voter of voters) {
    const answer = answers[voter];
    if (answer === true) granted += 1;
    else if (answer === false) refused += 1;
  }
  if (voters.length > 0 && granted >= need) return 'won';
  if (voters.length === 0 || refused > voters.length - need) return 'lost';
  return 'pending';
}

/** Whether the given replicas include a majority of the voters. */
export function hasQuorum(voters: readonly ReplicaId[], present: (voter: ReplicaId) => boolean): boolean {
  if (voters.length === 0) return false;
  return voters.filter(present).length >= majority(voters.length);
}

/** Whether `id` votes in `config`. */
export function isVoter(config: Configuration, id: ReplicaId): boolean {
  return config.voters.includes(id);
}

/** Every member of `config` other than `self`: the peers a leader replicates to. */
export function peersOf(config: Configuration, self: ReplicaId): ReplicaId[] {
  const all = [...config.voters, ...config.learners];
  return [...new Set(all)].filter((id) => id !== self);
}
