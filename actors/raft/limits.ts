/**
 * The core's timing and flow-control defaults. Each is a named limit with
 * the reason for its value.
 */
import type { RaftLimits, RaftTiming } from './types.ts';

export const DEFAULT_TIMING: RaftTiming = {
  // Several heartbeats fit in the shortest election timeout, so one or two
  // lost heartbeats never trigger an election (Raft §5.6: broadcastTime << electionTimeout).
  heartbeatMs: 50,
  // 300–600 ms: well above a loopback/LAN round trip plus an SQLite fsync, and
  // a wide enough range that split votes are rare (Raft §5.2, §9.3 of the thesis).
  electionMinMs: 300,
  electionMaxMs: 600,
};

export const DEFAULT_LIMITS: RaftLimits = {
  // Enough entries to amortize one fsync and one NATS publish over a burst of chat messages.
  maxEntriesPerAppend: 256,
  // Stay well under NATS core's default 1 MiB max_payload after encoding overhead.
  maxBytesPerAppend: 512 * 1024,
  // A few appends in flight hide one round trip without letting a slow follower queue unbounded work.
  maxInflightAppends: 8,
  // Back-pressure: a leader that cannot commit (no quorum) stops accepting work instead of growing its log without bound.
  maxUncommittedEntries: 4096,
};

/**
 * A peer in snapshot state that has not answered within this long is probed
 * again: the stream or its answer was lost and the runtime did not report it
 * (a failed stream it does report, as `unreachable`). Generous, because the
 * answer comes only after the peer has streamed and installed the snapshot:
 * 14 s + 15 s for 119 MiB (a million messages) on a loaded 2-core machine,
 * which at 30 s had the leader stream the whole snapshot a second time.
 */
export const SNAPSHOT_ANSWER_TIMEOUT_MS = 120_000;

/**
 * Once the runtime reports the stream delivered (`snapshotDelivered`), the peer's
 * answer is due within this plus the install time of its size at
 * SNAPSHOT_INSTALL_BYTES_PER_MS: about a minute for the 119 MiB above (installed in
 * 15 s there), 5 s for a small one. Never later than the allowance above.
 */
export const SNAPSHOT_INSTALL_MIN_MS = 5_000;
/** 2 MiB/s, a quarter of the slowest install measured (119 MiB in 15 s on a loaded 2-core machine). */
export const SNAPSHOT_INSTALL_BYTES_PER_MS = 2 * 1024 * 1024 / 1000;

/**
 * A follower that was sent entries and accepted an append since the last
 * heartbeat round is skipped in the next round (replication.ts,
 * `skipsHeartbeat`), so it hears from the leader at least every second
 * round. Only when the shortest election timeout is at least this many
 * heartbeats: then two rounds of silence plus a late timer still leave it
 * short of an election (the config allows as few as 3).
 */
export const HEARTBEAT_SKIP_MIN_ELECTION_BEATS = 4;

/**
 * At most this many reads wait at a leader for their heartbeat round (or its
 * first commit); beyond it reads are refused as dropped rather than queued
 * without bound while a quorum is unreachable.
 */
export const MAX_PENDING_READS = 4096;

/**
 * At most this many proposals in one `proposeMany` event: a turn's worth at 256 writers fits,
 * and one step stays short enough that a heartbeat behind it is not held up.
 */
export const MAX_PROPOSALS_PER_EVENT = 512;
