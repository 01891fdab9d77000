/**
 * Every configuration default in one place, each with its reason.
 * The schemas in schema.ts fill absent settings from here.
 */
import { DEFAULT_MAX_REQUEST_BYTES as PROTOCOL_MAX_REQUEST_BYTES } from '../actors/protocol/limits.ts';
import { DEFAULT_LIMITS } from '../actors/raft/limits.ts';
import { DEFAULT_MONITOR_SETTINGS } from '../actors/monitor/settings.ts';

/** PROTOCOL.md: the default subject prefix. */
export const DEFAULT_PREFIX = 'quorumchat';

/** The local nats-server `quorumchat up` starts, and a replica's default server. */
export const DEFAULT_NATS_HOST = '127.0.0.1';
export const DEFAULT_NATS_PORT = 4222;

/** DESIGN.md: five replicas keep serving with any two down. */
export const DEFAULT_REPLICA_COUNT = 5;
/** DESIGN.md: `quorumchat up` keeps its replicas under ./data. */
export const DEFAULT_DATA_ROOT = './data';

/**
 * Timing: a leader heartbeat every 50 ms and an election timeout of 300–600 ms, so a
 * dead leader is replaced in about half a second (issue 10 asks for a failover median
 * at most half of etcd's ~1.1 s, and a maximum under 1 s). Followers count quiet time on
 * a tick of one heartbeat (actors/raft), so they notice up to two ticks late: 400–700 ms
 * in the worst case. Pre-vote and check-quorum keep a follower stalled for longer than
 * that (GC, a loaded machine) from deposing a healthy leader; only a leader that cannot
 * reach a majority for a whole timeout steps down. Measured on the 2-core machine at 256
 * senders: docs/notebook.md, "Issue 10".
 */
export const DEFAULT_HEARTBEAT_MS = 50;
/** Six heartbeats: several may be lost or late before anyone campaigns (Raft §5.6: broadcast time << election timeout). */
export const DEFAULT_ELECTION_MIN_MS = 300;
/** Twice the minimum: wide enough that split votes are rare (Raft §5.2 randomisation). */
export const DEFAULT_ELECTION_MAX_MS = 600;
/** An election timeout must span at least this many heartbeats, or one late heartbeat deposes a healthy leader. */
export const MIN_HEARTBEATS_PER_ELECTION = 3;

/** Snapshot after this many applied entries: keeps the log (and restart replay) short without snapshotting often. */
export const DEFAULT_SNAPSHOT_EVERY = 10_000;

/** A request is held while there is no leader; 5 s outlasts several elections (each ≤ 0.7 s) plus a retry. */
export const DEFAULT_REQUEST_DEADLINE_MS = 5_000;

/**
 * Raft flow-control limits: the core's own defaults (actors/raft/limits.ts, each
 * with its reason there), so the core, the simulator and a replica agree.
 */
export const DEFAULT_MAX_ENTRIES_PER_APPEND = DEFAULT_LIMITS.maxEntriesPerAppend;
export const DEFAULT_MAX_BYTES_PER_APPEND = DEFAULT_LIMITS.maxBytesPerAppend;
export const DEFAULT_MAX_INFLIGHT_APPENDS = DEFAULT_LIMITS.maxInflightAppends;
export const DEFAULT_MAX_UNCOMMITTED_ENTRIES = DEFAULT_LIMITS.maxUncommittedEntries;
/** docs/protocol.md §3: the protocol's default (actors/protocol/limits.ts); bigger bodies get `too_large` unparsed. */
export const DEFAULT_MAX_REQUEST_BYTES = PROTOCOL_MAX_REQUEST_BYTES;
/** NATS's default max_payload: no single NATS message, request or peer message, can be larger. */
const NATS_MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * The largest `limits.maxRequestBytes` accepted: a request body larger than
 * NATS's payload limit cannot arrive at all, so a higher setting would only
 * pretend to allow it.
 */
export const MAX_REQUEST_BYTES_CEILING = NATS_MAX_PAYLOAD_BYTES;
/** A peer message larger than this is dropped unparsed: NATS's default max_payload. */
export const DEFAULT_MAX_PEER_MESSAGE_BYTES = NATS_MAX_PAYLOAD_BYTES;
/** Snapshot chunk size: a quarter of the peer message limit, so a chunk plus framing always fits. */
export const DEFAULT_SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Info: start, role changes and errors, without per-request noise. */
export const DEFAULT_LOG_LEVEL = 'info';

/** Bounds that catch typos (a timeout in seconds instead of milliseconds) without forbidding odd setups. */
export const MAX_TIMING_MS = 600_000;
export const MAX_REPLICA_COUNT = 9;

/**
 * The health monitor (docs/configuration.md, "monitor"): the policy's own
 * defaults (actors/monitor/settings.ts, each with its reason there).
 */
export const DEFAULT_MONITOR_TARGET_VOTERS = DEFAULT_MONITOR_SETTINGS.targetVoters;
export const DEFAULT_MONITOR_DEAD_AFTER_MS = DEFAULT_MONITOR_SETTINGS.deadAfterMs;
export const DEFAULT_MONITOR_STABLE_AFTER_MS = DEFAULT_MONITOR_SETTINGS.stableAfterMs;
export const DEFAULT_MONITOR_CAUGHT_UP_LAG = DEFAULT_MONITOR_SETTINGS.caughtUpLag;
export const DEFAULT_MONITOR_REPLACEMENT_WAIT_MS = DEFAULT_MONITOR_SETTINGS.replacementWaitMs;
/**
 * The monitor looks once a second: its periods are tens of seconds, so a
 * second of delay is noise, and one look (a few hundred bytes of progress
 * copied) costs nothing next to the 10 heartbeats a second a leader sends.
 */
export const DEFAULT_MONITOR_INTERVAL_MS = 1_000;
/**
 * A learner re-announces what it wants to be (voter, standby, learner) every
 * 2 s: a new leader knows within two looks of its monitor, well inside any
 * stability period, so a standby is never mistaken for a newcomer for long.
 */
export const DEFAULT_MONITOR_ANNOUNCE_EVERY_MS = 2_000;
/** A cluster of more voters than this is a typo: every commit waits for a majority of them. */
export const MAX_MONITOR_TARGET_VOTERS = 9;
