/**
 * One step of the core: an event in, the new state and at most one Ready out.
 * Pure: the same state and event always give the same result.
 */
import type { Message, RaftEvent, Ready, SnapshotMeta } from './types.ts';
import type { CoreState, Draft, Out } from './state.ts';
import { newOut, toReady } from './state.ts';
import { compactTo, termAt } from './log.ts';
import { becomeFollower, campaign } from './roles.ts';
import { isVoter, hasQuorum } from './quorum.ts';
import { broadcastHeartbeat, maybeCommit, onAppendResponse, onSnapshotResponse, patchLeader, replicateTo, setProgress } from './replication.ts';
import { onAppendEntries, onInstallSnapshot, rejectStale } from './follower.ts';
import { onRequestVote, onVoteResponse } from './election.ts';
import { becomeProbe } from './progress.ts';
import { onReadIndex, readsJoinRound } from './reads.ts';
import { onTransferLeadership } from './transfer.ts';
import { onPropose, onProposeConfig, onProposeMany, recordDataIds } from './proposals.ts';
import { noteDataId, speaksForSender } from './identity.ts';
import { SNAPSHOT_INSTALL_BYTES_PER_MS, SNAPSHOT_INSTALL_MIN_MS } from './limits.ts';
import { isWellFormedEvent } from './validate.ts';
import { assertRolePath } from './transitions.ts';

/** Timer expiries, raised by the machine's delayed transitions. */
export type TimerEvent =
  /** Pre-candidate and candidate: the randomized election timeout ran out. */
  | { readonly type: 'electionTimeout' }
  /** Follower: another heartbeatMs passed (election timeout and lease are counted in these). */
  | { readonly type: 'electionTick' }
  | { readonly type: 'heartbeat' };

export type CoreEvent = RaftEvent | TimerEvent;

export interface StepResult {
  readonly state: CoreState;
  readonly ready: Ready | null;
}

/**
 * Throws IllegalRoleChangeError if the step changed role in a way Raft does
 * not allow (transitions.ts): a bug in the core, so it must fail loudly.
 */
export function step(state: CoreState, event: CoreEvent): StepResult {
  // The machine enters every recorded role before the next event; a bare step caller need not.
  const s: Draft = { ...state, rolePath: [] };
  const out = newOut();
  if (event.type !== 'electionTimeout' && event.type !== 'electionTick' && event.type !== 'heartbeat' && !isWellFormedEvent(event)) {
    refuseMalformed(out, event);
    return finish(state, s, out, event);
  }
  switch (event.type) {
    case 'message':
      onMessage(s, out, event.message);
      break;
    case 'propose':
      onPropose(s, out, event.id, event.data);
      break;
    case 'proposeMany':
      onProposeMany(s, out, event.proposals);
      break;
    case 'proposeConfig':
      onProposeConfig(s, out, event.id, event.config);
      break;
    case 'readIndex':
      onReadIndex(s, out, event.id);
      break;
    case 'transferLeadership':
      onTransferLeadership(s, out, event.to);
      break;
    case 'compacted':
      onCompacted(s, event.meta);
      break;
    case 'unreachable':
      onUnreachable(s, out, event.peer);
      break;
    case 'snapshotDelivered':
      onSnapshotDelivered(s, event.peer, event.bytes);
      break;
    case 'persisted':
      onPersisted(s, out, event.index, event.term);
      break;
    case 'electionTimeout':
      onElectionTimeout(s, out);
      break;
    case 'electionTick':
      onElectionTick(s, out);
      break;
    case 'heartbeat':
      onHeartbeat(s, out);
      break;
  }
  return finish(state, s, out, event);
}

function finish(before: CoreState, s: Draft, out: Out, event: CoreEvent): StepResult {
  assertRolePath(before.role, s.rolePath, s.role, eventName(event));
  // A step starts a fresh path, so keep what the machine has not entered yet in front of it.
  if (before.rolePath.length > 0) s.rolePath = [...before.rolePath, ...s.rolePath];
  // A learner has no timers to restart.
  if (s.role === 'learner') s.timerReset = false;
  const ready = toReady(out, s, s.seq + 1);
  if (ready !== null) s.seq = ready.seq;
  return { state: s, ready };
}

/** The event as an error message names it: `message AppendEntries from r2`, `electionTimeout`. */
function eventName(event: CoreEvent): string {
  if (event.type !== 'message') return event.type;
  const m: unknown = event.message;
  if (typeof m !== 'object' || m === null) return 'message';
  const { type, from } = m as { type?: unknown; from?: unknown };
  return `message ${String(type)} from ${String(from)}`;
}

/** A malformed proposal with a usable id still gets an answer, so its caller is not left waiting. */
function refuseMalformed(out: Out, event: RaftEvent): void {
  const refuse = (id: unknown): void => {
    if (typeof id === 'string') out.proposals.push({ id, accepted: false, reason: { kind: 'dropped', detail: `malformed ${event.type}` } });
  };
  if (event.type === 'propose' || event.type === 'proposeConfig') refuse(event.id);
  // One bad proposal refuses the whole event: each caller whose id can be read hears so.
  if (event.type === 'proposeMany' && Array.isArray(event.proposals)) {
    for (const p of event.proposals as unknown[]) if (typeof p === 'object' && p !== null) refuse((p as { id?: unknown }).id);
  }
}

// ------------------------------------------------------------------ messages

function onMessage(s: Draft, out: Out, m: Message): void {
  if (m.to !== s.id || m.from === s.id) return;
  // Another disk under a recorded member's id (identity.ts): its votes and acknowledgements count for nothing, whatever its term.
  // UNSAFE (test only): ignoreDataIds counts whatever disk answers under a member's id.
  if (s.unsafe.ignoreDataIds !== true && !speaksForSender(s.config, m)) return;
  if (m.term > s.term) {
    if (m.type === 'RequestVote' && !m.transfer && inLease(s)) return; // thesis §4.2.3: disruptive server
    const keepsTerm = (m.type === 'RequestVote' && m.preVote) || (m.type === 'RequestVoteResponse' && m.preVote && m.granted);
    if (!keepsTerm) {
      const fromLeader = m.type === 'AppendEntries' || m.type === 'InstallSnapshot';
      becomeFollower(s, out, m.term, fromLeader ? m.from : null);
    }
  } else if (m.term < s.term) {
    // A stale leader must hear our term to step down; a stale pre-candidate is told no.
    if (m.type === 'AppendEntries' || m.type === 'InstallSnapshot') rejectStale(s, out, m);
    else if (m.type === 'RequestVote' && m.preVote) {
      out.messages.push({ type: 'RequestVoteResponse', from: s.id, to: m.from, term: s.term, preVote: true, granted: false });
    }
    return;
  }
  noteDataId(s, m);
  answer(s, out, m);
  recordDataIds(s, out);
}

function answer(s: Draft, out: Out, m: Message): void {
  switch (m.type) {
    case 'RequestVote':
      onRequestVote(s, out, m);
      break;
    case 'RequestVoteResponse':
      onVoteResponse(s, out, m);
      break;
    case 'AppendEntries':
      onAppendEntries(s, out, m);
      break;
    case 'AppendEntriesResponse':
      if (s.role === 'leader') onAppendResponse(s, out, m);
      break;
    case 'InstallSnapshot':
      onInstallSnapshot(s, out, m);
      break;
    case 'InstallSnapshotResponse':
      if (s.role === 'leader') onSnapshotResponse(s, out, m);
      break;
    case 'TimeoutNow':
      // Thesis §3.10: the leader asks us to take over now; no pre-vote.
      if (s.role !== 'leader' && isVoter(s.config, s.id)) campaign(s, out, 'election', true);
      break;
  }
}

/** Whether we believe a live leader exists (a leader itself trusts check-quorum to unseat it). */
function inLease(s: Draft): boolean {
  if (s.role === 'leader') return true;
  return s.leader !== null && s.leaseFresh;
}

// -------------------------------------------------------------------- timers

/**
 * A follower's tick (every heartbeatMs). It counts whole quiet ticks since the
 * leader was last heard: the lease (thesis §4.2.3) lapses after electionMinMs
 * of them and a pre-vote starts after the randomized election timeout, each
 * within one tick after the exact time, never before it.
 */
function onElectionTick(s: Draft, out: Out): void {
  if (s.role !== 'follower') return;
  if (s.leaderHeardThisTick) {
    s.leaderHeardThisTick = false;
    s.electionElapsedMs = 0;
    return;
  }
  s.electionElapsedMs += s.timing.heartbeatMs;
  if (s.electionElapsedMs >= s.timing.electionMinMs) s.leaseFresh = false;
  if (s.electionElapsedMs >= s.electionTimeoutMs) onElectionTimeout(s, out);
}

function onElectionTimeout(s: Draft, out: Out): void {
  if (s.role === 'leader' || s.role === 'learner') return;
  if (!isVoter(s.config, s.id)) {
    becomeFollower(s, out, s.term, s.leader);
    return;
  }
  campaign(s, out, 'pre-vote', false);
}

/** The leader's heartbeat tick: check-quorum, transfer and snapshot deadlines, then a heartbeat round. */
function onHeartbeat(s: Draft, out: Out): void {
  const start = s.leaderState;
  if (s.role !== 'leader' || start === null) return;
  const nowMs = start.nowMs + s.timing.heartbeatMs;
  s.leaderState = { ...start, nowMs };
  if (nowMs >= start.quorumCheckAtMs) {
    const ls = s.leaderState;
    // Check-quorum (thesis §6.2): a leader that has not heard from a majority within an election timeout steps down.
    if (!hasQuorum(s.config.voters, (v) => v === s.id || ls.progress[v]?.recentActive === true)) {
      becomeFollower(s, out, s.term, null);
      return;
    }
    const progress = Object.fromEntries(Object.entries(ls.progress).map(([peer, p]) => [peer, { ...p, recentActive: false }]));
    s.leaderState = { ...ls, progress, quorumCheckAtMs: nowMs + s.timing.electionMinMs };
  }
  const ls = s.leaderState;
  if (ls.transfer !== null && nowMs >= ls.transfer.deadlineMs) s.leaderState = { ...ls, transfer: null };
  for (const [peer, answerBy] of Object.entries(s.leaderState.snapshotAnswerByMs)) {
    const p = s.leaderState.progress[peer];
    if (p?.state === 'snapshot' && nowMs >= answerBy) setProgress(s, peer, becomeProbe(p));
  }
  readsJoinRound(s, broadcastHeartbeat(s, out));
  recordDataIds(s, out);
}

// --------------------------------------------------------------- local events

function onCompacted(s: Draft, meta: SnapshotMeta): void {
  if (meta.index <= s.log.snapshot.index || meta.index > s.commitIndex) return;
  if (termAt(s.log, meta.index) !== meta.term) return;
  s.log = compactTo(s.log, meta);
  // The snapshot is durable, so is everything it covers.
  if (s.persistedIndex < meta.index) s.persistedIndex = meta.index;
}

/** The runtime made the log durable through `index`@`term`: a leader may now count itself that far. */
function onPersisted(s: Draft, out: Out, index: number, term: number): void {
  if (!s.persistedEvents || index <= s.persistedIndex) return;
  // A report about entries since truncated away (or compacted) says nothing about this log.
  if (termAt(s.log, index) !== term) return;
  s.persistedIndex = index;
  maybeCommit(s, out);
}

/**
 * The peer has the whole snapshot; its answer comes once it has installed it. Waiting
 * from now on only as long as installing that many bytes may take means a peer that
 * crashed before installing is probed again soon (the simulation found a leader waiting
 * out the whole stream allowance on one), while a large install still has its time.
 */
function onSnapshotDelivered(s: Draft, peer: string, bytes: number): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null || ls.progress[peer]?.state !== 'snapshot') return;
  const answerBy = ls.nowMs + SNAPSHOT_INSTALL_MIN_MS + Math.ceil(bytes / SNAPSHOT_INSTALL_BYTES_PER_MS);
  patchLeader(s, { snapshotAnswerByMs: { ...ls.snapshotAnswerByMs, [peer]: Math.min(answerBy, ls.snapshotAnswerByMs[peer] ?? answerBy) } });
}

function onUnreachable(s: Draft, out: Out, peer: string): void {
  const p = s.leaderState?.progress[peer];
  if (s.role !== 'leader' || p === undefined) return;
  setProgress(s, peer, becomeProbe(p));
  replicateTo(s, out, peer);
}
