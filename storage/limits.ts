/**
 * Every limit of the storage layer, each with the reason for its value.
 */

/** Rows per INSERT statement: 4 bound values per log row stays far below SQLite's 32,766-variable limit. */
export const LOG_ROWS_PER_INSERT = 500;

/** How long a connection waits on a lock before SQLITE_BUSY, ms: the snapshot reader and a checkpoint can briefly hold locks. */
export const BUSY_TIMEOUT_MS = 5_000;

/** How long an operation may wait for the single writer connection, ms: long enough for a large snapshot install to finish. */
export const ACQUIRE_CONNECTION_TIMEOUT_MS = 600_000;

/** Bytes per chunk when streaming a snapshot file: small enough for one NATS message (default max_payload 1 MiB) with headroom. */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;

/** Snapshot files kept besides the current one: none, older snapshots are never served. */
export const SNAPSHOTS_KEPT = 1;

/** Persist requests merged into one group-commit transaction at most: bounds the transaction's size and the latency of the first request. */
export const MAX_PERSISTS_PER_GROUP = 256;

/**
 * Page cache of the writer connection, KiB. SQLite's default (2 MiB) makes
 * every insert into the index of a large table (a million messages: ~60 MiB
 * of index pages) a likely cache miss; five replicas on one host spend at
 * most 160 MiB on it.
 */
export const WRITER_CACHE_KIB = 32 * 1024;

/** The WAL is truncated back to this size after a checkpoint: a snapshot holds checkpoints back and lets it grow, and it should not stay that large. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
