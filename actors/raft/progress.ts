/**
 * A leader's view of one follower's replication (Raft Figure 2 nextIndex and
 * matchIndex), with flow control in the style of etcd's raft:
 *
 *  - probe:     we do not know where the follower's log diverges; send one
 *               append at a time and wait for its answer (or the next heartbeat).
 *  - replicate: the follower is in step; pipeline appends optimistically,
 *               at most `maxInflightAppends` unanswered at once.
 *  - snapshot:  the entries it needs are compacted; a snapshot is streaming.
 *
 * Every function returns a new value; nothing is mutated.
 */
import type { Index } from './types.ts';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** One unanswered append: the last index it carried and the heartbeat round current when it left. */
export interface Inflight {
  readonly lastIndex: Index;
  readonly round: number;
}

export interface Progress {
  readonly state: ProgressState;
  readonly matchIndex: Index;
  readonly nextIndex: Index;
  /** probe: an append is out and unanswered; the next goes on an answer or a heartbeat. */
  readonly probeSent: boolean;
  /** replicate: unanswered appends, oldest first. */
  readonly inflight: readonly Inflight[];
  /** snapshot: the index of the snapshot being streamed. */
  readonly pendingSnapshot: Index;
  /** Heard from since the last check-quorum window began. */
  readonly recentActive: boolean;
  /** When we last heard from it, in the leader's clock (ms since taking office); null if never. */
  readonly lastContactMs: number | null;
  /** The highest heartbeat round it has answered (read index, thesis §6.4). */
  readonly ackedRound: number;
  /** The highest commit index we have told it (leaderCommit capped at what the message carried). */
  readonly commitSent: Index;
  /** The leader's heartbeat round current when an append carrying entries last left for it; -1 if none yet. */
  readonly appendRound: number;
  /** The leader's heartbeat round current when it last accepted an append; -1 if never. */
  readonly answeredRound: number;
}

/** A fresh follower record when a leader takes office: probe from just past the leader's log. */
export function newProgress(nextIndex: Index): Progress {
  return {
    state: 'probe',
    matchIndex: 0,
    nextIndex,
    probeSent: false,
    inflight: [],
    pendingSnapshot: 0,
    recentActive: false,
    lastContactMs: null,
    ackedRound: 0,
    commitSent: 0,
    appendRound: -1,
    answeredRound: -1,
  };
}

/** Whether an append carrying entries may be sent now. */
export function canSendEntries(p: Progress, maxInflight: number): boolean {
  switch (p.state) {
    case 'probe':
      return !p.probeSent;
    case 'replicate':
      return p.inflight.length < maxInflight;
    case 'snapshot':
      return false;
  }
}

/** Record an append sent with entries up to `last` (and, in probe, that one is now out). */
export function sentAppend(p: Progress, last: Index, round: number): Progress {
  switch (p.state) {
    case 'probe':
      return { ...p, probeSent: true };
    case 'replicate':
      return { ...p, nextIndex: Math.max(p.nextIndex, last + 1), inflight: [...p.inflight, { lastIndex: last, round }], appendRound: round };
    case 'snapshot':
      return p;
  }
}

/**
 * A successful answer: the follower's log matches ours up to `matchIndex`.
 * Returns the new progress and whether matchIndex advanced.
 */
export function acceptedAppend(p: Progress, matchIndex: Index): { readonly progress: Progress; readonly advanced: boolean } {
  const advanced = matchIndex > p.matchIndex;
  const match = Math.max(p.matchIndex, matchIndex);
  const inflight = p.inflight.filter((f) => f.lastIndex > match);
  const next = Math.max(p.nextIndex, match + 1);
  switch (p.state) {
    case 'probe':
      // An answer to the probe: the follower is in step from here on.
      return { progress: { ...p, state: 'replicate', matchIndex: match, nextIndex: match + 1, probeSent: false, inflight: [] }, advanced };
    case 'replicate':
      return { progress: { ...p, matchIndex: match, nextIndex: next, inflight }, advanced };
    case 'snapshot':
      if (match >= p.pendingSnapshot) {
        return { progress: { ...p, state: 'probe', matchIndex: match, nextIndex: match + 1, probeSent: false, inflight: [], pendingSnapshot: 0 }, advanced };
      }
      return { progress: { ...p, matchIndex: match, nextIndex: next }, advanced };
  }
}

/**
 * A rejection of the append whose prevLogIndex was `rejectedPrev`, with the
 * follower's fast back-off hint already turned into `hintNext` (Raft §5.3).
 * Stale rejections (of appends sent before something newer was learned) are
 * ignored. Returns null when the rejection is stale.
 */
export function rejectedAppend(p: Progress, rejectedPrev: Index, hintNext: Index): Progress | null {
  switch (p.state) {
    case 'replicate':
      if (rejectedPrev <= p.matchIndex) return null;
      break;
    case 'probe':
      if (rejectedPrev !== p.nextIndex - 1) return null;
      break;
    case 'snapshot':
      return null;
  }
  // The follower lacks prevLogIndex, so it certainly lacks everything after:
  // never go beyond rejectedPrev, and never below what it already matched.
  const next = Math.max(p.matchIndex + 1, Math.min(hintNext, rejectedPrev));
  return { ...p, state: 'probe', nextIndex: next, probeSent: false, inflight: [] };
}

/** Fall back to probing from just past matchIndex (lost appends, unreachable peer). */
export function becomeProbe(p: Progress): Progress {
  return { ...p, state: 'probe', nextIndex: p.matchIndex + 1, probeSent: false, inflight: [], pendingSnapshot: 0 };
}

/** Start streaming a snapshot at `index`: nothing more goes out until it is answered. */
export function becomeSnapshot(p: Progress, index: Index): Progress {
  return { ...p, state: 'snapshot', pendingSnapshot: index, probeSent: false, inflight: [] };
}

/** A heartbeat tick: a probe whose answer never came may be retried. */
export function heartbeatTick(p: Progress): Progress {
  return p.state === 'probe' && p.probeSent ? { ...p, probeSent: false } : p;
}

/**
 * A heartbeat of round `round` was answered. NATS core keeps per-connection
 * order, so an append sent before that heartbeat and still unanswered was
 * most likely lost: probe again from matchIndex rather than stall. If it was
 * only reordered, probing merely resends entries the follower skips.
 */
export function heartbeatAnswered(p: Progress, round: number): Progress {
  const oldest = p.inflight[0];
  if (p.state === 'replicate' && oldest !== undefined && oldest.round < round) return becomeProbe(p);
  return p;
}

/** Record that a message told the peer commit index `commit` (already capped at what it carried). */
export function toldCommit(p: Progress, commit: Index): Progress {
  return commit > p.commitSent ? { ...p, commitSent: commit } : p;
}

/** Note contact from the peer at `nowMs`. */
export function contacted(p: Progress, nowMs: number): Progress {
  return { ...p, recentActive: true, lastContactMs: nowMs };
}
