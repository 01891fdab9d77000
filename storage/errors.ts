/**
 * Typed errors of the storage layer. A caller tells them apart with
 * `instanceof`; each message says what went wrong and, where a person must
 * act, what to do.
 */

/** Base class: every error this layer throws on purpose is a StorageError. */
export class StorageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The database file or a record in it is damaged (checksum mismatch,
 * SQLITE_CORRUPT, SQLITE_NOTADB, failed quick_check). The store refuses to
 * serve from then on: it never applies or sends garbage.
 */
export class CorruptStoreError extends StorageError {
  readonly file: string;
  /** The log index of the damaged entry, or null when the damage is not tied to one entry. */
  readonly index: number | null;

  constructor(file: string, index: number | null, detail: string, options?: ErrorOptions) {
    const where = index === null ? file : `${file} (log index ${index})`;
    super(
      `corrupt replica store ${where}: ${detail}. ` +
        'The replica must not serve from this store. Stop the replica, move its data directory aside ' +
        '(keep it for inspection), and restart it with an empty data directory so that it catches up ' +
        'from the leader by snapshot.',
      options,
    );
    this.file = file;
    this.index = index;
  }
}

/** A persist request breaks the log's shape (gap, truncation of applied entries, term going back). */
export class InvalidPersistError extends StorageError {}

/** An apply request is not the next contiguous run after appliedIndex, or does not match the log. */
export class ApplyOrderError extends StorageError {
  readonly appliedIndex: number;
  readonly firstIndex: number;

  constructor(appliedIndex: number, firstIndex: number, detail: string) {
    super(`cannot apply from index ${firstIndex} with appliedIndex ${appliedIndex}: ${detail}`);
    this.appliedIndex = appliedIndex;
    this.firstIndex = firstIndex;
  }
}

/** Entries asked for are not in the log: compacted into a snapshot (send the snapshot instead) or beyond the last index. */
export class LogRangeError extends StorageError {}

/** A snapshot operation was asked for something impossible (nothing applied, compacting past the snapshot, a file that does not match its metadata). */
export class SnapshotError extends StorageError {}

/** The store was closed, or failed earlier, and serves nothing more. */
export class StoreClosedError extends StorageError {}

/** The options given to openReplicaStore are not valid. */
export class StoreConfigError extends StorageError {}

/**
 * Writing or syncing the Raft log failed (disk full, I/O error). After a
 * failed fsync the file's content is unknown (it may or may not hold the
 * write), so the store refuses everything from then on; restart the replica,
 * whose recovery cuts whatever part of the write is torn.
 */
export class LogWriteError extends StorageError {}
