/**
 * The leader's side of log replication (Raft §5.3, §5.4.2, §7): appends
 * batched and pipelined per follower, heartbeats (which also carry the
 * commit index), the commit rule and the snapshot hand-off. The follower's side is follower.ts.
 */
import type { AppendEntries, AppendEntriesResponse, InstallSnapshotResponse, ReplicaId } from './types.ts';
import type { Draft, LeaderState, Out } from './state.ts';
import { commitTo, durableIndex } from './state.ts';
import { HEARTBEAT_SKIP_MIN_ELECTION_BEATS, SNAPSHOT_ANSWER_TIMEOUT_MS } from './limits.ts';
import { lastIndex, lastIndexOfTerm, sliceForAppend, termAt } from './log.ts';
import type { Progress } from './progress.ts';
import {
  acceptedAppend,
  becomeProbe,
  becomeSnapshot,
  canSendEntries,
  contacted,
  heartbeatAnswered,
  heartbeatTick,
  rejectedAppend,
  sentAppend,
  toldCommit,
} from './progress.ts';
import { isVoter, quorumMatchIndex } from './quorum.ts';
import { becomeFollower } from './roles.ts';
import { checkReads, startAwaitingReads } from './reads.ts';
import { maybeSendTimeoutNow } from './transfer.ts';

export function setProgress(s: Draft, peer: ReplicaId, p: Progress): void {
  const ls = s.leaderState;
  if (ls === null) return;
  s.leaderState = { ...ls, progress: { ...ls.progress, [peer]: p } };
}

export function patchLeader(s: Draft, patch: Partial<LeaderState>): void {
  if (s.leaderState !== null) s.leaderState = { ...s.leaderState, ...patch };
}

/**
 * Send one AppendEntries to `peer` if its flow control allows: the entries
 * from its nextIndex, batched by count and bytes. Returns whether a message
 * went out. `allowEmpty` sends even with nothing new (a probe).
 * If the entries it needs are compacted, start a snapshot instead.
 */
export function sendAppend(s: Draft, out: Out, peer: ReplicaId, opts: { allowEmpty: boolean; round: number }): boolean {
  const ls = s.leaderState;
  let p = ls?.progress[peer];
  if (ls === null || p === undefined) return false;
  if (!canSendEntries(p, s.limits.maxInflightAppends)) return false;
  const prev = p.nextIndex - 1;
  const prevTerm = termAt(s.log, prev);
  if (prevTerm === undefined) {
    if (prev < s.log.snapshot.index) {
      // Raft §7: the follower needs entries we compacted: ship the snapshot.
      setProgress(s, peer, becomeSnapshot(p, s.log.snapshot.index));
      patchLeader(s, { snapshotAnswerByMs: { ...ls.snapshotAnswerByMs, [peer]: ls.nowMs + SNAPSHOT_ANSWER_TIMEOUT_MS } });
      out.snapshotsToSend.push({ to: peer, meta: s.log.snapshot });
      return false;
    }
    // nextIndex beyond our log (cannot happen by construction): probe from the end.
    p = { ...becomeProbe(p), nextIndex: lastIndex(s.log) + 1 };
    setProgress(s, peer, p);
    return sendAppend(s, out, peer, opts);
  }
  const entries = sliceForAppend(s.log, p.nextIndex, s.limits.maxEntriesPerAppend, s.limits.maxBytesPerAppend);
  if (entries.length === 0 && !opts.allowEmpty) return false;
  out.messages.push({
    type: 'AppendEntries',
    from: s.id,
    to: peer,
    term: s.term,
    prevLogIndex: prev,
    prevLogTerm: prevTerm,
    entries,
    leaderCommit: s.commitIndex,
    round: opts.round,
  });
  const last = entries.at(-1)?.index;
  if (last !== undefined || p.state === 'probe') p = sentAppend(p, last ?? prev, ls.round);
  setProgress(s, peer, toldCommit(p, Math.min(s.commitIndex, last ?? prev)));
  return true;
}

/** Fill `peer`'s pipeline with whatever it lacks. */
export function replicateTo(s: Draft, out: Out, peer: ReplicaId): boolean {
  let sent = false;
  for (let i = 0; i < s.limits.maxInflightAppends; i += 1) {
    if (!sendAppend(s, out, peer, { allowEmpty: false, round: 0 })) break;
    sent = true;
  }
  return sent;
}

/** Send every peer what it lacks (and, with allowEmpty, at least a probe). */
export function broadcastAppend(s: Draft, out: Out, opts: { allowEmpty: boolean; round: number }): void {
  for (const peer of Object.keys(s.leaderState?.progress ?? {})) {
    if (opts.allowEmpty) sendAppend(s, out, peer, opts);
    replicateTo(s, out, peer);
  }
}

/**
 * A heartbeat round: every peer gets a message carrying `round` (for read
 * index) and the commit index. A follower in step gets an empty append
 * anchored at its matchIndex, which it always accepts; one being probed
 * gets its probe again. Returns the round number.
 *
 * Under load most heartbeats would follow an append by a few milliseconds:
 * a follower in step that got entries and accepted an append since the last
 * round, with nothing older unanswered, is skipped (`skipsHeartbeat`). That
 * saves a message and its answer per follower per round (a sixth of a
 * follower's messages at 64 writers). Nothing waits on those: the append
 * already reset its election timer, the next append or round carries the
 * commit index, and an append lost since leaves an unanswered append of an
 * older round behind, so the next round is not skipped and finds it
 * (`heartbeatAnswered`).
 */
export function broadcastHeartbeat(s: Draft, out: Out): number {
  const ls = s.leaderState;
  if (ls === null) return 0;
  const round = ls.round + 1;
  const skipping = maySkipHeartbeats(s, ls);
  patchLeader(s, { round });
  for (const peer of Object.keys(ls.progress)) {
    const p = heartbeatTick(s.leaderState!.progress[peer]!);
    setProgress(s, peer, p);
    if (p.state === 'probe') {
      sendAppend(s, out, peer, { allowEmpty: true, round });
      continue;
    }
    if (skipping && skipsHeartbeat(p, ls.round)) continue;
    sendHeartbeat(s, out, peer, p, round);
  }
  return round;
}

/**
 * Whether this round may leave out followers that just got entries: not while
 * a read waits (read index needs every round answered by a quorum, thesis
 * §6.4), and not when the election timeout is only a few heartbeats long.
 */
function maySkipHeartbeats(s: Draft, ls: LeaderState): boolean {
  if (ls.reads.length > 0 || ls.readsNextRound.length > 0 || ls.readsAwaitingCommit.length > 0) return false;
  return s.timing.electionMinMs >= HEARTBEAT_SKIP_MIN_ELECTION_BEATS * s.timing.heartbeatMs;
}

/**
 * A follower in step that, since round `previousRound` left, was sent entries and
 * accepted an append, and whose unanswered appends all left since then too.
 */
function skipsHeartbeat(p: Progress, previousRound: number): boolean {
  if (p.state !== 'replicate' || p.appendRound !== previousRound || p.answeredRound !== previousRound) return false;
  return p.inflight.every((f) => f.round === previousRound);
}

function sendHeartbeat(s: Draft, out: Out, peer: ReplicaId, p: Progress, round: number): void {
  const message = heartbeatTo(s, peer, p, round);
  out.messages.push(message);
  setProgress(s, peer, toldCommit(p, message.leaderCommit));
}

/** Tell a peer a commit index it has the entries for but has not heard yet (only when no heartbeat of ours will). */
function notifyCommit(s: Draft, out: Out, peer: ReplicaId): void {
  const p = s.leaderState?.progress[peer];
  if (p === undefined || p.state === 'snapshot') return;
  if (Math.min(s.commitIndex, p.matchIndex) > p.commitSent) sendHeartbeat(s, out, peer, p, 0);
}

/** An empty append that cannot fail the consistency check: anchored at matchIndex (or the 0 sentinel). */
function heartbeatTo(s: Draft, peer: ReplicaId, p: Progress, round: number): AppendEntries {
  const anchorTerm = termAt(s.log, p.matchIndex);
  const prev = anchorTerm === undefined ? 0 : p.matchIndex;
  return {
    type: 'AppendEntries',
    from: s.id,
    to: peer,
    term: s.term,
    prevLogIndex: prev,
    prevLogTerm: anchorTerm ?? 0,
    entries: [],
    leaderCommit: Math.min(s.commitIndex, prev),
    round,
  };
}

/**
 * Raft §5.3/§5.4.2: commit the highest index a majority of voters hold, but
 * only if it is of the current term (an earlier term's entry is committed
 * only indirectly, Figure 8). The leader counts itself if it is a voter, through
 * what it holds durably (thesis §10.2.1: its appends may leave before its own persist).
 */
export function maybeCommit(s: Draft, out: Out): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null) return;
  let voters = s.config.voters;
  if (s.unsafe.quorumOverReachable) {
    // UNSAFE (test only): count a majority of the peers heard from within the last heartbeat interval, not of the configuration.
    voters = voters.filter((v) => v === s.id || ls.nowMs - (ls.progress[v]?.lastContactMs ?? -Infinity) <= s.timing.heartbeatMs);
  }
  const self = durableIndex(s);
  const candidate = quorumMatchIndex(voters, (v) => (v === s.id ? self : (ls.progress[v]?.matchIndex ?? 0)));
  if (candidate <= s.commitIndex) return;
  const ownTerm = termAt(s.log, candidate) === s.term;
  // UNSAFE (test only): commitEarlierTermByCount commits an earlier term's entry by counting (Figure 8).
  if (!ownTerm && !s.unsafe.commitEarlierTermByCount) return;
  commitTo(s, out, candidate);
  if (ownTerm && !ls.committedOwnTerm) {
    patchLeader(s, { committedOwnTerm: true });
    startAwaitingReads(s, out);
  }
  // No commit-only round here: followers learn the new commit index from the next append or
  // heartbeat (at most heartbeatMs away), which saves a message and its answer per follower per
  // commit. Reads stay linearizable: they go through read index, whose heartbeat round carries it.
  // Thesis §4.2.2: a leader removed from the voters steps down once that configuration
  // commits, after telling the others, since no heartbeat of its own will carry it after that.
  if (s.configIndex <= s.commitIndex && !isVoter(s.config, s.id)) {
    for (const peer of Object.keys(s.leaderState!.progress)) notifyCommit(s, out, peer);
    becomeFollower(s, out, s.term, null);
  }
}

/** The leader's side of an AppendEntries answer. */
export function onAppendResponse(s: Draft, out: Out, m: AppendEntriesResponse): void {
  const ls = s.leaderState;
  let p = ls?.progress[m.from];
  if (ls === null || p === undefined) return;
  p = contacted(p, ls.nowMs);
  if (m.round > 0) {
    p = { ...p, ackedRound: Math.max(p.ackedRound, m.round) };
    p = heartbeatAnswered(p, m.round);
  }
  setProgress(s, m.from, p);
  if (m.success) {
    if (m.matchIndex > lastIndex(s.log)) return; // garbage: claims entries we never sent
    const { progress, advanced } = acceptedAppend(p, m.matchIndex);
    setProgress(s, m.from, { ...progress, answeredRound: ls.round });
    if (advanced) maybeCommit(s, out);
    if (s.role !== 'leader') return;
    maybeSendTimeoutNow(s, out, m.from);
    replicateTo(s, out, m.from);
  } else {
    // Raft §5.3 fast back-off: skip the follower's whole conflicting term at once.
    let hint = m.conflictIndex;
    if (m.conflictTerm > 0) {
      const ours = lastIndexOfTerm(s.log, m.conflictTerm);
      if (ours !== null) hint = ours + 1;
    }
    hint = Math.max(1, Math.min(hint, lastIndex(s.log) + 1));
    const next = rejectedAppend(p, m.matchIndex, hint);
    if (next !== null) {
      setProgress(s, m.from, next);
      sendAppend(s, out, m.from, { allowEmpty: true, round: 0 });
    }
  }
  if (m.round > 0) checkReads(s, out);
}

/** The leader's side of an InstallSnapshot answer. */
export function onSnapshotResponse(s: Draft, out: Out, m: InstallSnapshotResponse): void {
  const ls = s.leaderState;
  let p = ls?.progress[m.from];
  if (ls === null || p === undefined) return;
  p = contacted(p, ls.nowMs);
  if (m.success && m.matchIndex <= lastIndex(s.log)) {
    const { progress, advanced } = acceptedAppend(p, m.matchIndex);
    p = progress.state === 'snapshot' ? becomeProbe(progress) : progress;
    setProgress(s, m.from, p);
    if (advanced) maybeCommit(s, out);
  } else {
    setProgress(s, m.from, becomeProbe(p));
  }
  if (s.role === 'leader') sendAppend(s, out, m.from, { allowEmpty: true, round: 0 });
}
