/**
 * The contract of the consensus core.
 *
 * The core is a pure, deterministic XState machine: it takes events (peer
 * messages, client proposals, read requests, timer expiries driven by an
 * injected clock) and answers each step with one `Ready`: the effects the
 * runtime must carry out, in durability order.
 *
 *   1. persist   hard state, snapshot restore, log truncation and appends;
 *                durable (fsync) before anything in 2 leaves the replica
 *   2. send      messages to peers
 *   3. apply     committed entries, strictly in index order
 *
 * `Ready` batches are emitted in order and must be carried out in order.
 * The runtime may overlap batch k+1's persist with batch k's sends only if
 * it can prove they are independent; the reference runtimes do not.
 *
 * One exception, opted into with `RaftInput.persistedEvents`: a leader's
 * AppendEntries may leave before the persist of their Ready (thesis
 * §10.2.1), provided that Ready and every one before it not yet durable
 * changes no hard state, truncates nothing and installs no snapshot; the
 * runtime then reports each durable write with a `persisted` event, and the
 * leader counts itself toward commit only through what was reported.
 */

/** A replica's stable name, e.g. "r1". Unique in the cluster, never reused for a different log. */
export type ReplicaId = string;

/**
 * The identity of one data directory: random, made when the directory is
 * created, never reused. A replica id names a place in the cluster; a data
 * id names the disk behind it, so a voter that comes back with an empty or
 * replaced directory under its old id is told apart from the one that
 * acknowledged entries (docs/raft.md, "Data identity").
 */
export type DataId = string;

/** Raft terms and log indices are non-negative safe integers; index 0 is the empty log's sentinel. */
export type Term = number;
export type Index = number;

/**
 * Which replicas vote and which only follow.
 * Raft §4 (thesis): membership is data carried in the log, not a constant.
 */
export interface Configuration {
  readonly voters: readonly ReplicaId[];
  readonly learners: readonly ReplicaId[];
  /**
   * The data identity each member had when the cluster recorded it. A member
   * without one is not recorded yet (configurations older than data
   * identities, or a member the leader has not heard from). Absent means none.
   */
  readonly dataIds?: Readonly<Record<ReplicaId, DataId>>;
}

/** A log entry. The payload of a `command` entry is opaque bytes to the core. */
export type Entry =
  | { readonly index: Index; readonly term: Term; readonly kind: 'noop' }
  | { readonly index: Index; readonly term: Term; readonly kind: 'command'; readonly data: Uint8Array }
  | { readonly index: Index; readonly term: Term; readonly kind: 'config'; readonly config: Configuration };

export type EntryKind = Entry['kind'];

/** What must survive a crash besides the log (Raft Figure 2, "persistent state"). */
export interface HardState {
  readonly term: Term;
  readonly votedFor: ReplicaId | null;
}

/** Identifies a snapshot: the state machine as of `index`, whose entry had `term`. */
export interface SnapshotMeta {
  readonly index: Index;
  readonly term: Term;
  /** The configuration in force at `index`. */
  readonly config: Configuration;
}

/** Peer-to-peer messages (Raft Figure 2, plus pre-vote, check-quorum and transfer). */
export type Message =
  | RequestVote
  | RequestVoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | InstallSnapshot
  | InstallSnapshotResponse
  | TimeoutNow;

interface Envelope {
  readonly from: ReplicaId;
  readonly to: ReplicaId;
  readonly term: Term;
  /** The sender's data identity (RaftInput.dataId); a message whose sender's recorded identity differs is ignored. */
  readonly dataId?: DataId;
}

export interface RequestVote extends Envelope {
  readonly type: 'RequestVote';
  readonly lastLogIndex: Index;
  readonly lastLogTerm: Term;
  /** Raft thesis §9.6: a pre-vote asks "would you vote for me?" at `term` without anyone changing term. */
  readonly preVote: boolean;
  /** Set when campaigning because of a leadership transfer: voters must not ignore it for having a leader. */
  readonly transfer: boolean;
}

export interface RequestVoteResponse extends Envelope {
  readonly type: 'RequestVoteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
}

export interface AppendEntries extends Envelope {
  readonly type: 'AppendEntries';
  readonly prevLogIndex: Index;
  readonly prevLogTerm: Term;
  readonly entries: readonly Entry[];
  readonly leaderCommit: Index;
  /**
   * Echoed in the response so a leader can tell which heartbeat round a
   * response answers (read index and check-quorum rely on it). 0 for plain appends.
   */
  readonly round: number;
}

export interface AppendEntriesResponse extends Envelope {
  readonly type: 'AppendEntriesResponse';
  readonly success: boolean;
  /** On success: the highest index known to match the leader's log. */
  readonly matchIndex: Index;
  /**
   * On rejection: a hint for fast back-off (Raft §5.3, "optimization").
   * The follower's conflicting term and the first index it holds of that term,
   * or, if its log is too short, term 0 and its last index + 1.
   */
  readonly conflictTerm: Term;
  readonly conflictIndex: Index;
  readonly round: number;
}

/**
 * Carries only the snapshot's identity through the core. The bytes travel
 * beside it, chunked and checksummed by the runtime, and the runtime hands
 * this message to the receiving core only once every chunk has arrived and
 * verified.
 */
export interface InstallSnapshot extends Envelope {
  readonly type: 'InstallSnapshot';
  readonly snapshot: SnapshotMeta;
}

export interface InstallSnapshotResponse extends Envelope {
  readonly type: 'InstallSnapshotResponse';
  /** The follower's last index after handling the snapshot. */
  readonly matchIndex: Index;
  readonly success: boolean;
}

/** Leadership transfer (thesis §3.10): the target campaigns at once, skipping pre-vote. */
export interface TimeoutNow extends Envelope {
  readonly type: 'TimeoutNow';
}

export type MessageType = Message['type'];

/** Why a proposal or read was refused. Maps one to one onto the protocol's `unavailable`. */
export type RefusalReason =
  /** This replica does not lead; `leader` is who it believes does, if anyone. */
  | { readonly kind: 'not_leader'; readonly leader: ReplicaId | null }
  /** The leader cannot take more right now (transfer in progress, limits). */
  | { readonly kind: 'dropped'; readonly detail: string };

/** The answer to a `propose`: where the entry went, or why it was refused. */
export type ProposalOutcome =
  | { readonly id: string; readonly accepted: true; readonly index: Index; readonly term: Term }
  | { readonly id: string; readonly accepted: false; readonly reason: RefusalReason };

/**
 * The answer to a `readIndex` (thesis §6.4): once `index` is applied locally,
 * a read reflects every write committed before the request arrived.
 */
export type ReadOutcome =
  | { readonly id: string; readonly ok: true; readonly index: Index }
  | { readonly id: string; readonly ok: false; readonly reason: RefusalReason };

/**
 * One step's effects, in the order they must be carried out.
 * Empty arrays and absent fields mean "nothing of that kind".
 */
export interface Ready {
  /** Monotonic per actor; the runtime carries out batches strictly in this order. */
  readonly seq: number;

  // ---- 1. persist (durable before any message below is sent) ----
  /** Present when term or vote changed. */
  readonly hardState?: HardState;
  /** Replace the state machine and log with this received snapshot (follower side). */
  readonly installSnapshot?: SnapshotMeta;
  /** Delete every log entry with index >= truncateFrom before appending `entries`. */
  readonly truncateFrom?: Index;
  /** Append these, contiguous and in order, after truncation. */
  readonly entries: readonly Entry[];

  // ---- 2. send ----
  readonly messages: readonly Message[];
  /**
   * Leader side: stream the latest local snapshot to these peers, then deliver
   * an `InstallSnapshot` carrying `meta` to their cores.
   */
  readonly snapshotsToSend: readonly { readonly to: ReplicaId; readonly meta: SnapshotMeta }[];

  // ---- 3. apply ----
  /** Newly committed entries, contiguous, in index order, each exactly once. */
  readonly committed: readonly Entry[];
  readonly commitIndex: Index;

  // ---- answers to local callers (after persist, so an accepted index is durable locally) ----
  readonly proposals: readonly ProposalOutcome[];
  readonly reads: readonly ReadOutcome[];
}

/** Events the runtime (or the simulator) sends into the core. */
export type RaftEvent =
  | { readonly type: 'message'; readonly message: Message }
  | { readonly type: 'propose'; readonly id: string; readonly data: Uint8Array }
  /**
   * Several commands at once, in order: the same as proposing each in turn, except that the
   * leader sends one round of appends for all of them (the runtime gathers a turn's
   * proposals into one event, at most MAX_PROPOSALS_PER_EVENT). Each gets its own outcome.
   */
  | { readonly type: 'proposeMany'; readonly proposals: readonly { readonly id: string; readonly data: Uint8Array }[] }
  /** Propose a configuration change (single-server changes: one voter or learner at a time). */
  | { readonly type: 'proposeConfig'; readonly id: string; readonly config: Configuration }
  | { readonly type: 'readIndex'; readonly id: string }
  | { readonly type: 'transferLeadership'; readonly to: ReplicaId }
  /** The runtime has durably snapshotted the state machine at `meta.index`: the core may drop entries up to it. */
  | { readonly type: 'compacted'; readonly meta: SnapshotMeta }
  /** The peer is known unreachable (e.g. a snapshot stream failed): stop pipelining to it and probe. */
  | { readonly type: 'unreachable'; readonly peer: ReplicaId }
  /** A snapshot stream to the peer completed (`bytes` long): only its install is left before it answers. */
  | { readonly type: 'snapshotDelivered'; readonly peer: ReplicaId; readonly bytes: number }
  /**
   * The runtime has durably written the log through entry `index` of `term` (after the fsync).
   * Only read with `RaftInput.persistedEvents`; `term` identifies the entry, so a report about
   * entries truncated away since is ignored (Log Matching: same index and term, same prefix).
   */
  | { readonly type: 'persisted'; readonly index: Index; readonly term: Term };

/** Timing and flow-control limits. Each is a named limit with a reason; see actors/raft/limits.ts. */
export interface RaftTiming {
  /** Heartbeat period of a leader, ms. */
  readonly heartbeatMs: number;
  /** Election timeouts are drawn uniformly from [electionMinMs, electionMaxMs). */
  readonly electionMinMs: number;
  readonly electionMaxMs: number;
}

export interface RaftLimits {
  /** At most this many entries in one AppendEntries. */
  readonly maxEntriesPerAppend: number;
  /** At most this many payload bytes in one AppendEntries (at least one entry is always sent). */
  readonly maxBytesPerAppend: number;
  /** At most this many AppendEntries in flight to one follower (pipelining window). */
  readonly maxInflightAppends: number;
  /** At most this many proposals waiting in a leader's log beyond its commit index. */
  readonly maxUncommittedEntries: number;
}

/**
 * Deliberately broken variants, for proving that the simulator can fail.
 * Never set outside tests; the replica's config schema has no way to set them.
 */
export interface UnsafeVariants {
  /** Count a quorum over the peers recently heard from instead of over the configuration. */
  readonly quorumOverReachable?: boolean;
  /** Commit an earlier term's entry by counting replicas (Raft Figure 8). */
  readonly commitEarlierTermByCount?: boolean;
  /** Grant votes without the "at least as up to date" log check (Raft §5.4.1). */
  readonly voteWithoutLogCheck?: boolean;
  /** Ignore data identities (identity.ts): count a wiped disk's votes and acknowledgements, let an empty log vote for anyone. */
  readonly ignoreDataIds?: boolean;
}

/** What a core starts from: its identity, what storage recovered, and its knobs. */
export interface RaftInput {
  readonly id: ReplicaId;
  readonly hardState: HardState;
  /** The latest snapshot, or index 0 / term 0 with the initial configuration. */
  readonly snapshot: SnapshotMeta;
  /** Every entry after `snapshot.index`, contiguous. */
  readonly entries: readonly Entry[];
  /** Highest index known committed at start (at least snapshot.index); the core re-learns the rest. */
  readonly commitIndex: Index;
  readonly timing: RaftTiming;
  readonly limits: RaftLimits;
  /** Seed of the core's deterministic random generator (election jitter). */
  readonly seed: number;
  readonly unsafe?: UnsafeVariants;
  /**
   * The runtime reports every durable log write with a `persisted` event. The leader then
   * counts itself toward commit only through the reported index (thesis §10.2.1), which
   * lets the runtime send a leader's AppendEntries before, or while, it persists them.
   * Absent or false: the leader counts its whole log, and the runtime must persist every
   * Ready before sending any of its messages.
   */
  readonly persistedEvents?: boolean;
  /**
   * This replica's data identity. Stamped on every message it sends; the
   * leader records it in the configuration, and from then on peers ignore
   * messages under this replica id that carry another. Absent: the core
   * claims none (tests of the bare core), and nothing is recorded for it.
   */
  readonly dataId?: DataId;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'learner';

/**
 * A read-only view of one core, for invariant checks, status replies and the
 * inspector. Produced by `viewOf(snapshot)` in actors/raft/index.ts.
 */
export interface CoreView {
  readonly id: ReplicaId;
  readonly role: Role;
  readonly term: Term;
  readonly votedFor: ReplicaId | null;
  readonly leader: ReplicaId | null;
  readonly commitIndex: Index;
  readonly config: Configuration;
  readonly snapshot: SnapshotMeta;
  readonly lastIndex: Index;
  /** Entries after `snapshot.index`, as the core holds them (persisted or about to be). */
  readonly entries: readonly Entry[];
  /** Leader only: each peer's replication progress. */
  readonly progress: Readonly<Record<ReplicaId, { readonly matchIndex: Index; readonly nextIndex: Index; readonly lastContactMs: number | null }>>;
}
