/**
 * Role changes (Raft §5.1–5.2, thesis §9.6 pre-vote) and keeping the
 * configuration in step with the log (thesis §4.1).
 */
import type { Entry, ReplicaId, Role, Term } from './types.ts';
import type { Draft, Out } from './state.ts';
import { changeRole, resetElectionTimer, setHardState } from './state.ts';
import { appendEntries, lastIndex, lastTerm, latestConfig } from './log.ts';
import { isVoter, peersOf, voteResult } from './quorum.ts';
import { newProgress } from './progress.ts';
import type { Progress } from './progress.ts';
import { broadcastAppend, maybeCommit } from './replication.ts';
import { failAllReads } from './reads.ts';
import { disowned, recordedDataId } from './identity.ts';

/** The role a non-leading replica takes: voters follow, everyone else (learners, non-members) only learns. */
export function restingRole(s: Draft): Role {
  return isVoter(s.config, s.id) ? 'follower' : 'learner';
}

/** Step down (or stay down) at `term`, believing `leader` leads it. */
export function becomeFollower(s: Draft, out: Out, term: Term, leader: ReplicaId | null): void {
  if (term > s.term) setHardState(s, out, term, null);
  if (s.role === 'leader') failAllReads(s, out, leader);
  s.leaderState = null;
  changeRole(s, restingRole(s));
  s.leader = leader;
  s.leaseFresh = false;
  s.votes = {};
  resetElectionTimer(s);
}

/**
 * Start an election. A pre-vote (thesis §9.6) asks for votes at term + 1
 * without changing anyone's term; only if a majority would grant does the
 * real election (term + 1, vote for self) begin. `transfer` skips pre-vote
 * (thesis §3.10) and tells voters not to ignore us for having a leader.
 */
export function campaign(s: Draft, out: Out, kind: 'pre-vote' | 'election', transfer: boolean): void {
  if (!isVoter(s.config, s.id) || disowned(s)) return;
  if (kind === 'pre-vote') {
    changeRole(s, 'pre-candidate');
  } else {
    setHardState(s, out, s.term + 1, s.id);
    changeRole(s, 'candidate');
  }
  s.leader = null;
  s.leaseFresh = false;
  s.leaderState = null;
  s.votes = { [s.id]: true };
  resetElectionTimer(s);
  const voteTerm = kind === 'pre-vote' ? s.term + 1 : s.term;
  for (const voter of s.config.voters) {
    if (voter === s.id) continue;
    out.messages.push({
      type: 'RequestVote',
      from: s.id,
      to: voter,
      term: voteTerm,
      lastLogIndex: lastIndex(s.log),
      lastLogTerm: lastTerm(s.log),
      preVote: kind === 'pre-vote',
      transfer,
    });
  }
  tallyVotes(s, out);
}

/** Act on the votes so far: win (go on to the election, or lead), lose (follow), or wait. */
export function tallyVotes(s: Draft, out: Out): void {
  const result = voteResult(s.config.voters, s.votes);
  if (result === 'pending') return;
  if (result === 'lost') {
    becomeFollower(s, out, s.term, null);
    return;
  }
  if (s.role === 'pre-candidate') campaign(s, out, 'election', false);
  else if (s.role === 'candidate') becomeLeader(s, out);
}

/** Take office: fresh progress for every peer, a no-op entry of this term (thesis §6.4), and the first appends. */
export function becomeLeader(s: Draft, out: Out): void {
  changeRole(s, 'leader');
  s.leader = s.id;
  s.leaseFresh = false;
  s.votes = {};
  s.timerReset = true;
  const progress: Record<ReplicaId, Progress> = {};
  for (const peer of peersOf(s.config, s.id)) progress[peer] = newProgress(lastIndex(s.log) + 1);
  s.leaderState = {
    progress,
    nowMs: 0,
    quorumCheckAtMs: s.timing.electionMinMs,
    round: 0,
    committedOwnTerm: false,
    reads: [],
    readsNextRound: [],
    readsAwaitingCommit: [],
    transfer: null,
    snapshotAnswerByMs: {},
    heardDataIds: {},
  };
  leaderAppend(s, out, { index: lastIndex(s.log) + 1, term: s.term, kind: 'noop' });
  broadcastAppend(s, out, { allowEmpty: true, round: 0 });
  maybeCommit(s, out);
}

/** A leader appends one new entry of its term to its own log. */
export function leaderAppend(s: Draft, out: Out, entry: Entry): void {
  s.log = appendEntries(s.log, [entry]);
  out.entries.push(entry);
  if (entry.kind === 'config') syncConfig(s, out);
}

/**
 * Thesis §4.1: a configuration takes effect as soon as it is in the log,
 * and reverts when truncated away. Keep config, the leader's progress map
 * and the role in step with the log.
 */
export function syncConfig(s: Draft, out: Out): void {
  const { config, index } = latestConfig(s.log);
  const before = s.config;
  s.config = config;
  s.configIndex = index;
  const ls = s.leaderState;
  if (s.role === 'leader' && ls !== null) {
    const progress: Record<ReplicaId, Progress> = {};
    for (const peer of peersOf(config, s.id)) {
      // A member recorded with another data directory (identity.ts) holds nothing its old progress says: probe it afresh,
      // or the leader would wait forever for acknowledgements above a match index the new disk never had.
      const kept = recordedDataId(before, peer) === recordedDataId(config, peer) ? ls.progress[peer] : undefined;
      progress[peer] = kept ?? newProgress(lastIndex(s.log) + 1);
    }
    s.leaderState = { ...ls, progress };
    return;
  }
  const resting = restingRole(s);
  if (s.role === 'learner' && resting === 'follower') {
    changeRole(s, 'follower');
    resetElectionTimer(s);
  } else if (s.role !== 'learner' && resting === 'learner') {
    becomeFollower(s, out, s.term, s.leader);
  }
}
