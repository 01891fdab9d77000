/**
 * Answering and counting votes (Raft §5.2, §5.4.1; thesis §9.6 pre-vote).
 * Starting an election and acting on its outcome are in roles.ts.
 */
import type { RequestVote, RequestVoteResponse } from './types.ts';
import type { Draft, Out } from './state.ts';
import { resetElectionTimer, setHardState } from './state.ts';
import { isUpToDate, lastIndex } from './log.ts';
import { tallyVotes } from './roles.ts';
import { disowned } from './identity.ts';

/** Raft §5.2, §5.4.1; thesis §9.6 for pre-votes. */
export function onRequestVote(s: Draft, out: Out, m: RequestVote): void {
  const free = s.votedFor === m.from || (s.votedFor === null && s.leader === null);
  const couldVote = m.preVote ? m.term > s.term || free : free;
  // UNSAFE (test only): voteWithoutLogCheck skips Raft §5.4.1's up-to-date check.
  const upToDate = s.unsafe.voteWithoutLogCheck === true || isUpToDate(s.log, m.lastLogTerm, m.lastLogIndex);
  // Thesis §4.2.1: a server answers vote requests whatever its own configuration says. A replica may
  // not yet have received the entry that made it a voter, and refusing would leave the candidate's
  // configuration without a quorum (etcd-io/etcd#10998); the candidate counts only its own voters.
  // A disk the cluster did not record under our id holds nothing it may vouch for (identity.ts). Nor does an
  // empty log: it may be a wiped voter's, whose old identity the candidate has not learned; it only helps
  // elect the first leader of an empty cluster.
  // UNSAFE (test only): ignoreDataIds drops both rules.
  const vouches = s.unsafe.ignoreDataIds === true || (!disowned(s) && (lastIndex(s.log) > 0 || m.lastLogIndex === 0));
  const granted = couldVote && upToDate && vouches;
  if (granted && !m.preVote) {
    setHardState(s, out, s.term, m.from);
    resetElectionTimer(s);
  }
  out.messages.push({
    type: 'RequestVoteResponse',
    from: s.id,
    to: m.from,
    term: granted && m.preVote ? m.term : s.term,
    preVote: m.preVote,
    granted,
  });
}

export function onVoteResponse(s: Draft, out: Out, m: RequestVoteResponse): void {
  const ours =
    (s.role === 'pre-candidate' && m.preVote && m.term === (m.granted ? s.term + 1 : s.term)) ||
    (s.role === 'candidate' && !m.preVote && m.term === s.term);
  if (!ours) return;
  s.votes = { ...s.votes, [m.from]: m.granted };
  tallyVotes(s, out);
}
