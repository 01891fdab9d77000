/**
 * Every limit of the storage layer, each with the reason for its value.
 */

/** How long a connection waits on a lock before SQLITE_BUSY, ms: the snapshot reader and a checkpoint can briefly hold locks. */
export const BUSY_TIMEOUT_MS = 5_000;

/** How long an operation may wait for the single writer connection, ms: long enough for a large snapshot install to finish. */
export const ACQUIRE_CONNECTION_TIMEOUT_MS = 600_000;

/** Bytes per chunk when streaming a snapshot file: small enough for one NATS message (default max_payload 1 MiB) with headroom. */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Snapshot files kept besides the current one: none, older snapshots are never served. */
export const SNAPSHOTS_KEPT = 1;

/**
 * Distinct statements prepared on the writer connection at most (storage/prepared.ts).
 * The store's apply transaction uses five and the chat state machine's hot path two;
 * a statement whose SQL varied with its values would grow the cache without end, so
 * going past this is a bug and fails loudly.
 */
export const MAX_PREPARED_STATEMENTS = 32;

/** Persist requests merged into one group commit (one log write, one fdatasync) at most: bounds the write's size and the latency of the first request. */
export const MAX_PERSISTS_PER_GROUP = 256;

/**
 * Page cache of the writer connection, KiB. SQLite's default (2 MiB) makes
 * every insert into the index of a large table (a million messages: ~60 MiB
 * of index pages) a likely cache miss; five replicas on one host spend at
 * most 160 MiB on it.
 */
export const WRITER_CACHE_KIB = 32 * 1024;

/**
 * Page cache for the integrity check on open, KiB (SQLite's default size).
 * `quick_check` reads every page once; through the writer's cache it spent
 * most of its time filling that cache: 157 against 52 ms on a 28 MiB database.
 */
export const INTEGRITY_CHECK_CACHE_KIB = 2_000;

/** The WAL is truncated back to this size after a checkpoint: a snapshot holds checkpoints back and lets it grow, and it should not stay that large. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * A segment of the Raft log (storage/wal) is closed and a new one started once
 * it holds this many bytes. Every segment is preallocated (written with zeros
 * ahead of use), and a compaction starts a fresh one, so this is also the
 * zeros written per snapshot: at the default snapshotEvery of 10,000 entries
 * of a few hundred bytes, a segment holds about two snapshot intervals. Recovery
 * reads at most this much per segment.
 */
export const WAL_SEGMENT_BYTES = 8 * 1024 * 1024;

/**
 * Entries' bytes in one log record at most; a persist with more is written as
 * several records. Bounds the buffer recovery must hold for one record and
 * what a torn write can cut off in one piece.
 */
export const WAL_ENTRIES_RECORD_BYTES = 8 * 1024 * 1024;

/**
 * A record's payload may not be larger than this: a length field above it is
 * damage, not a record (one entry is at most 1 MiB on the wire, so a lone
 * entry larger than WAL_ENTRIES_RECORD_BYTES never happens in practice).
 */
export const WAL_MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * Torn-write detection reads the disk in sectors of this size: a write that
 * never reached the disk reads back as whole zero sectors (the same test as
 * etcd's WAL), while a flipped bit never zeroes a whole sector.
 */
export const WAL_SECTOR_BYTES = 512;


/**
 * Zeros written per write while preallocating the next log segment: the file
 * is filled (not just extended, which leaves holes) so that an fdatasync after
 * an append need not also commit the file's new size and blocks, which on
 * ext4 costs a journal commit (measured: ~1.6 ms against ~5.5 ms per 7 KB
 * append + fdatasync on this machine; etcd preallocates for the same reason).
 */
export const WAL_PREALLOCATE_CHUNK_BYTES = 1024 * 1024;
