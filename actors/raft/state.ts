/**
 * The core's state (the machine's context) and the per-step effects buffer.
 *
 * A step works on a shallow copy (`Draft`) of the state and replaces nested
 * values instead of mutating them, so every earlier snapshot of the actor
 * stays intact and a step that fails half-way can simply be discarded.
 */
import type {
  Configuration,
  DataId,
  Entry,
  Index,
  Message,
  ProposalOutcome,
  RaftInput,
  RaftLimits,
  RaftTiming,
  ReadOutcome,
  Ready,
  ReplicaId,
  Role,
  SnapshotMeta,
  Term,
  UnsafeVariants,
} from './types.ts';
import type { RaftLog } from './log.ts';
import { entriesBetween, lastIndex, latestConfig, logFrom } from './log.ts';
import type { Progress } from './progress.ts';
import { drawBetween } from './random.ts';
import { isVoter } from './quorum.ts';

/** A read waiting for its heartbeat round to be acknowledged by a quorum (thesis §6.4). */
export interface PendingRead {
  readonly id: string;
  /** The leader's commit index when the read arrived (thesis §6.4 step 1). */
  readonly index: Index;
  readonly round: number;
}

/** A read that arrived while a confirmation round was in flight: it goes with the next round (batching). */
export interface QueuedRead {
  readonly id: string;
  readonly index: Index;
}

/** A leadership transfer in progress (thesis §3.10). */
export interface Transfer {
  readonly to: ReplicaId;
  readonly deadlineMs: number;
  readonly timeoutNowSent: boolean;
}

/** What only a leader keeps. */
export interface LeaderState {
  readonly progress: Readonly<Record<ReplicaId, Progress>>;
  /** Milliseconds since taking office, counted from heartbeat timer firings (the core has no other clock). */
  readonly nowMs: number;
  /** When the next check-quorum verdict is due, in nowMs. */
  readonly quorumCheckAtMs: number;
  /** The latest heartbeat round sent. */
  readonly round: number;
  /** Whether an entry of this leader's term is committed (reads must wait for it, thesis §6.4). */
  readonly committedOwnTerm: boolean;
  /** Reads whose confirmation round is in flight; non-empty means a round is in flight. */
  readonly reads: readonly PendingRead[];
  /** Reads waiting for the next round to be sent (one round answers them all). */
  readonly readsNextRound: readonly QueuedRead[];
  /** Read requests that arrived before committedOwnTerm. */
  readonly readsAwaitingCommit: readonly string[];
  readonly transfer: Transfer | null;
  /** By when each peer in snapshot state must have answered (nowMs), else it is probed again (limits.ts). */
  readonly snapshotAnswerByMs: Readonly<Record<ReplicaId, number>>;
  /** Data identities heard from members the configuration has none recorded for, waiting to be recorded (identity.ts). */
  readonly heardDataIds: Readonly<Record<ReplicaId, DataId>>;
}

export interface CoreState {
  readonly id: ReplicaId;
  readonly timing: RaftTiming;
  readonly limits: RaftLimits;
  readonly unsafe: UnsafeVariants;
  /** RaftInput.persistedEvents: the runtime reports durable writes, and may send a leader's appends before them. */
  readonly persistedEvents: boolean;
  /** RaftInput.dataId: stamped on every message sent; null claims none. */
  readonly dataId: DataId | null;

  // Raft Figure 2 persistent state (with the log).
  readonly term: Term;
  readonly votedFor: ReplicaId | null;
  readonly log: RaftLog;

  readonly commitIndex: Index;
  /**
   * With persistedEvents: the last log index the runtime reported durable (and still in
   * our log). What a leader may count for itself toward commit (thesis §10.2.1).
   */
  readonly persistedIndex: Index;
  /** The configuration in force (latest in the log, thesis §4.1) and the index it came from. */
  readonly config: Configuration;
  readonly configIndex: Index;

  /** The role the core is in; the machine's state follows it. */
  readonly role: Role;
  readonly leader: ReplicaId | null;
  /** Heard from the current leader within electionMinMs (thesis §4.2.3: ignore disruptive votes). */
  readonly leaseFresh: boolean;
  /** (Pre-)candidate: answers received in the current (pre-)election; our own is included. */
  readonly votes: Readonly<Record<ReplicaId, boolean>>;
  readonly leaderState: LeaderState | null;

  /** Seeded PRNG state and the current randomized election timeout (drawn anew at every reset). */
  readonly rng: number;
  readonly electionTimeoutMs: number;
  /**
   * Follower: milliseconds surely passed without word from the leader, counted in whole
   * election ticks (heartbeatMs each) since it was last heard or the timers restarted. A
   * lower bound, so a follower never times out or drops the lease early.
   */
  readonly electionElapsedMs: number;
  /**
   * Follower: the leader was heard during the current tick. Recorded instead of restarting
   * the timer on every message (which re-entered the machine state, cancelling and
   * rescheduling two timers per append); the next tick then starts counting from zero.
   */
  readonly leaderHeardThisTick: boolean;
  /** Set by a step that must restart the role's timers; the machine re-enters the role state and clears it. */
  readonly timerReset: boolean;
  /** Which role state the machine last entered (so routing knows when to move). */
  readonly enteredRole: Role;
  /** Roles the core changed to that the machine has not entered yet, in order; the machine enters each and drops it. */
  readonly rolePath: readonly Role[];
  /** Seq of the last emitted Ready. */
  readonly seq: number;
}

export type Draft = { -readonly [K in keyof CoreState]: CoreState[K] };

/** The effects one step accumulates; turned into a Ready at the end. */
export interface Out {
  hardStateChanged: boolean;
  installSnapshot: SnapshotMeta | undefined;
  truncateFrom: Index | undefined;
  entries: Entry[];
  messages: Message[];
  snapshotsToSend: { to: ReplicaId; meta: SnapshotMeta }[];
  committed: Entry[];
  proposals: ProposalOutcome[];
  reads: ReadOutcome[];
}

export function newOut(): Out {
  return {
    hardStateChanged: false,
    installSnapshot: undefined,
    truncateFrom: undefined,
    entries: [],
    messages: [],
    snapshotsToSend: [],
    committed: [],
    proposals: [],
    reads: [],
  };
}

/** The step's Ready, or null when it has nothing to do (never emit an empty Ready). */
export function toReady(out: Out, s: CoreState, seq: number): Ready | null {
  const empty =
    !out.hardStateChanged &&
    out.installSnapshot === undefined &&
    out.truncateFrom === undefined &&
    out.entries.length === 0 &&
    out.messages.length === 0 &&
    out.snapshotsToSend.length === 0 &&
    out.committed.length === 0 &&
    out.proposals.length === 0 &&
    out.reads.length === 0;
  if (empty) return null;
  return {
    seq,
    ...(out.hardStateChanged ? { hardState: { term: s.term, votedFor: s.votedFor } } : {}),
    ...(out.installSnapshot !== undefined ? { installSnapshot: out.installSnapshot } : {}),
    ...(out.truncateFrom !== undefined ? { truncateFrom: out.truncateFrom } : {}),
    entries: out.entries,
    messages: s.dataId === null ? out.messages : out.messages.map((m) => ({ ...m, dataId: s.dataId ?? undefined })),
    snapshotsToSend: out.snapshotsToSend,
    committed: out.committed,
    commitIndex: s.commitIndex,
    proposals: out.proposals,
    reads: out.reads,
  };
}

/** The state a core starts in, from what storage recovered. */
export function initialState(input: RaftInput): CoreState {
  const log: RaftLog = logFrom(input.snapshot, input.entries);
  const { config, index: configIndex } = latestConfig(log);
  const commitIndex = Math.min(Math.max(input.commitIndex, input.snapshot.index), lastIndex(log));
  const draw = drawBetween(input.seed | 0, input.timing.electionMinMs, input.timing.electionMaxMs);
  const role: Role = isVoter(config, input.id) ? 'follower' : 'learner';
  return {
    id: input.id,
    timing: input.timing,
    limits: input.limits,
    unsafe: input.unsafe ?? {},
    persistedEvents: input.persistedEvents === true,
    dataId: input.dataId ?? null,
    term: input.hardState.term,
    votedFor: input.hardState.votedFor,
    log,
    commitIndex,
    // Everything a core starts with was recovered from storage: durable.
    persistedIndex: lastIndex(log),
    config,
    configIndex,
    role,
    leader: null,
    leaseFresh: false,
    votes: {},
    leaderState: null,
    rng: draw.state,
    electionTimeoutMs: draw.value,
    electionElapsedMs: 0,
    leaderHeardThisTick: false,
    timerReset: false,
    enteredRole: 'follower',
    // The machine starts in follower; a non-voter moves on to learner at once.
    rolePath: role === 'follower' ? [] : [role],
    seq: 0,
  };
}

// ---- small shared mutations on a Draft ----

/** Draw a fresh randomized election timeout and ask the machine to restart the role's timers. */
export function resetElectionTimer(s: Draft): void {
  const draw = drawBetween(s.rng, s.timing.electionMinMs, s.timing.electionMaxMs);
  s.rng = draw.state;
  s.electionTimeoutMs = draw.value;
  s.electionElapsedMs = 0;
  s.leaderHeardThisTick = false;
  s.timerReset = true;
}

/**
 * A follower heard from its current leader: the lease is fresh and the election
 * clock starts again from the next tick. No timer is touched (see `leaderHeardThisTick`).
 */
export function heardFromLeader(s: Draft): void {
  s.leaseFresh = true;
  s.leaderHeardThisTick = true;
}

/** Change role, recording it for the machine to follow; a change to the same role is no change. */
export function changeRole(s: Draft, to: Role): void {
  if (s.role === to) return;
  s.role = to;
  s.rolePath = [...s.rolePath, to];
}

/** Record new durable state; the Ready carries it before any message. */
export function setHardState(s: Draft, out: Out, term: Term, votedFor: ReplicaId | null): void {
  if (term === s.term && votedFor === s.votedFor) return;
  s.term = term;
  s.votedFor = votedFor;
  out.hardStateChanged = true;
}

/** Advance commitIndex and hand the newly committed entries to apply, in order. */
export function commitTo(s: Draft, out: Out, index: Index): void {
  if (index <= s.commitIndex) return;
  out.committed.push(...entriesBetween(s.log, s.commitIndex + 1, index));
  s.commitIndex = index;
}

/**
 * The last index this replica may count as durably its own: everything in its log, unless
 * the runtime reports durable writes (persistedEvents), then only through what it reported.
 */
export function durableIndex(s: CoreState): Index {
  const last = lastIndex(s.log);
  return s.persistedEvents ? Math.min(s.persistedIndex, last) : last;
}

/**
 * The log will lose entries from `from` on (a truncation or a snapshot that replaces it):
 * what was reported durable past that point no longer describes this log.
 */
export function forgetPersistedFrom(s: Draft, from: Index): void {
  if (s.persistedIndex >= from) s.persistedIndex = from - 1;
}

/** Record a truncation in the step's effects, dropping any of this step's own appends it cuts. */
export function persistTruncate(out: Out, from: Index): void {
  out.entries = out.entries.filter((e) => e.index < from);
  out.truncateFrom = out.truncateFrom === undefined ? from : Math.min(out.truncateFrom, from);
}
