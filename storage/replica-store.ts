/**
 * A replica's durable store: the Raft hard state and log in a segment file
 * log (`<dataDir>/wal/`, storage/wal), and the applied index with its running
 * digest, the state machine's tables and the snapshot record in one SQLite
 * database (`<dataDir>/replica.sqlite`) written through a single Knex
 * connection.
 *
 * Two writers that never wait for each other: persists go to the log (queued
 * persists group-commit in one write and one fdatasync), applies to SQLite.
 * Only installing a snapshot holds both. A resolved persist is durable; an
 * apply is durable once the log no longer needs it (docs/storage.md,
 * "Durability").
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, copyFile, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Configuration, DataId, Entry, HardState, Index, ReplicaId, SnapshotMeta, Term } from '../actors/raft/types.ts';
import { ReplicaIdSchema } from '../actors/protocol/replica-id.ts';
import { isCorruptionError, openReadConnection, openSnapshotWriter, openSqlite, type ReadConnection } from './connection.ts';
import { nextDigestOfBytes } from './digest.ts';
import { createSerial } from '../actors/util/serial.ts';
import { checksumOf, EntryEncoder } from './entry-codec.ts';
import { claimDirectory, type DirectoryClaim } from './data-identity.ts';
import {
  ApplyOrderError,
  CorruptStoreError,
  InvalidPersistError,
  LogRangeError,
  LogWriteError,
  SnapshotError,
  StoreClosedError,
  StoreConfigError,
} from './errors.ts';
import { durableRename, fsyncDir, fsyncFile, sha256OfFile } from './files.ts';
import { INTEGRITY_CHECK_CACHE_KIB, MAX_PERSISTS_PER_GROUP, SNAPSHOT_CHUNK_BYTES, WRITER_CACHE_KIB } from './limits.ts';
import { migrationSourceOf, storageMigrations, type Migration } from './migrations.ts';
import { readOldFormatLog, removeOldFormatLog } from './old-format.ts';
import { PreparedStatements, registerPrepared, unregisterPrepared, type RawConnection } from './prepared.ts';
import { readAttachedSnapshotMeta, restoreAttachedSnapshot, writeSnapshotFile } from './snapshot-file.ts';
import type { DraftLog } from './wal/log-index.ts';
import { SegmentLog, WAL_DIR, type LogStep } from './wal/segment-log.ts';

/** The database file's name inside the data directory. */
export const DATABASE_FILE = 'replica.sqlite';
/** The snapshot directory's name inside the data directory. */
export const SNAPSHOT_DIR = 'snapshots';

export interface ReplicaStoreOptions {
  readonly dataDir: string;
  readonly replicaId: ReplicaId;
  /** Migrations of the state machine's tables (e.g. storage/chat's), run after storage's own. */
  readonly migrations: readonly Migration[];
  readonly logger?: StoreLogger;
  /**
   * The configuration in force before any config entry is applied (the
   * cluster's bootstrap membership). Needed only to snapshot a state machine
   * that has never applied a config entry.
   */
  readonly initialConfig?: Configuration;
  /** Bytes after which the log starts a new segment (default WAL_SEGMENT_BYTES); tests make it small to exercise rolling. */
  readonly walSegmentBytes?: number;
}

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** How far the state machine has applied. */
export interface AppliedState {
  readonly index: Index;
  readonly term: Term;
  /** Running digest at `index`, hex (PROTOCOL.md). */
  readonly digest: string;
  /** The latest configuration applied (from a config entry or a snapshot), or null if none yet. */
  readonly config: Configuration | null;
}

/** A durable snapshot file and what it holds. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  /** Applied digest at meta.index, hex. */
  readonly digest: string;
  /** Absolute path of the file. */
  readonly file: string;
  /** SHA-256 of the whole file, hex: the receiver checks the streamed bytes against it. */
  readonly sha256: string;
  readonly bytes: number;
}

/** Everything a core needs to start, as recovered from disk. */
export interface LoadedState {
  readonly hardState: HardState;
  /** The latest snapshot, or null when none was ever taken or installed. */
  readonly snapshot: StoredSnapshot | null;
  /** Every log entry after the snapshot's index (or from 1), contiguous, checksums verified. */
  readonly entries: readonly Entry[];
  readonly applied: AppliedState;
  /** True when this open created the database: nothing was ever stored. */
  readonly fresh: boolean;
  /** The directory's data identity (storage/data-identity.ts). */
  readonly dataId: DataId;
}

/** One step's persist effects (Ready fields 1). */
export interface PersistRequest {
  readonly hardState?: HardState;
  /** Delete every entry with index >= truncateFrom before appending. */
  readonly truncateFrom?: Index;
  readonly entries: readonly Entry[];
}

/** A snapshot opened for streaming to a peer. */
export interface SnapshotStream extends StoredSnapshot {
  /** The file's bytes in chunks of at most SNAPSHOT_CHUNK_BYTES. Iterate once. */
  chunks(): AsyncIterable<Uint8Array>;
  /** Release the file if the chunks are not (fully) consumed. */
  close(): Promise<void>;
}

/** A synchronous view of the store's position, for status replies. */
export interface StoreStatus {
  readonly appliedIndex: Index;
  readonly appliedTerm: Term;
  readonly digest: string;
  readonly lastIndex: Index;
  readonly lastTerm: Term;
  readonly snapshotIndex: Index;
  /** Persist requests carried out, and the log writes (each one fdatasync) they took: their ratio is the group-commit factor. */
  readonly persistRequests: number;
  readonly persistTransactions: number;
}

export interface ReplicaStore {
  /** Absolute path of the database file. */
  readonly file: string;
  /**
   * A read-only Knex on the same database (its own connection, query_only):
   * reads see every committed apply and never wait behind the writer (WAL).
   */
  readonly reader: Knex;
  load(): Promise<LoadedState>;
  persist(request: PersistRequest): Promise<void>;
  /**
   * Applies `entries` in ONE SQLite transaction with appliedIndex and the digest. `applyOne`
   * gets the writer's Knex, inside that transaction (not a Knex.Transaction: the store begins
   * and ends it); statements it runs many times go through `preparedRows` (storage/prepared.ts).
   */
  apply<R>(entries: readonly Entry[], applyOne: (db: Knex, entry: Entry) => Promise<R>): Promise<R[]>;
  /** Entries [from, to] from the log, checksums verified. */
  readEntries(from: Index, to: Index): Promise<Entry[]>;
  createSnapshot(): Promise<StoredSnapshot>;
  compact(index: Index): Promise<void>;
  openSnapshot(): Promise<SnapshotStream | null>;
  /**
   * Replace the state machine with a received snapshot, given as a file path
   * or as the stream of its (already verified) chunks.
   */
  installSnapshot(meta: SnapshotMeta, source: string | AsyncIterable<Uint8Array>): Promise<StoredSnapshot>;
  status(): StoreStatus;
  close(): Promise<void>;
}

/**
 * The data identity of a replica's directory (made now if it has none; the
 * directory and database are created if missing), without opening the log:
 * what `replica --join` tells the cluster before its store opens.
 */
export async function claimDataDirectory(options: Pick<ReplicaStoreOptions, 'dataDir' | 'replicaId' | 'migrations' | 'logger'>): Promise<DataId> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, DATABASE_FILE);
  const knex = openSqlite(file, 'read-write', options.logger ?? silentLogger);
  try {
    await knex.migrate.latest({ migrationSource: migrationSourceOf([...storageMigrations, ...options.migrations]) });
    return (await claimDirectory(knex, file, options.replicaId)).dataId;
  } finally {
    await knex.destroy();
  }
}

/**
 * Open (creating if needed) the store of one replica: checks the file with
 * PRAGMA quick_check, runs migrations, and checks that the store belongs to
 * `replicaId`.
 */
export async function openReplicaStore(options: ReplicaStoreOptions): Promise<ReplicaStore> {
  const parsed = optionsSchema.safeParse({ dataDir: options.dataDir, replicaId: options.replicaId, initialConfig: options.initialConfig, walSegmentBytes: options.walSegmentBytes });
  if (!parsed.success) throw new StoreConfigError(`invalid replica store options: ${z.prettifyError(parsed.error)}`);
  checkMigrations(options.migrations);
  const dataDir = resolve(options.dataDir);
  const snapshotDir = join(dataDir, SNAPSHOT_DIR);
  await mkdir(snapshotDir, { recursive: true });
  const file = join(dataDir, DATABASE_FILE);
  const logger = options.logger ?? silentLogger;
  const knex = openSqlite(file, 'read-write', logger);
  let wal: SegmentLog | null = null;
  try {
    await checkIntegrity(knex, file);
    await knex.migrate.latest({ migrationSource: migrationSourceOf([...storageMigrations, ...options.migrations]) });
    const claim = await claimDirectory(knex, file, options.replicaId);
    const position = await readPosition(knex, file);
    await removeStraySnapshotFiles(snapshotDir, position.snapshot?.file ?? null);
    wal = await openLog(knex, file, join(dataDir, WAL_DIR), position, logger, options.walSegmentBytes);
    return new SqliteReplicaStore(knex, wal, file, snapshotDir, position, claim, options.initialConfig ?? null, logger);
  } catch (err) {
    await wal?.close();
    await knex.destroy();
    if (isCorruptionError(err)) throw new CorruptStoreError(file, null, `SQLite reports ${(err as Error).message}`, { cause: err });
    throw err;
  }
}

/**
 * Open the segment log; a data directory of the SQLite-only format (log rows
 * in `raft_log`, hard state in `raft_hard_state`) has its log moved into a new
 * segment log first. Either way the old tables end up empty: the segment log
 * is the only log from now on (a crash after the move but before the tables
 * were emptied finds segments and just empties them).
 */
async function openLog(knex: Knex, file: string, dir: string, position: Position, logger: StoreLogger, segmentBytes: number | undefined): Promise<SegmentLog> {
  const options = { logger, ...(segmentBytes === undefined ? {} : { segmentBytes }) };
  let wal = await SegmentLog.open(dir, options);
  const snapshot = position.snapshot?.meta ?? { index: 0, term: 0 };
  const old = await readOldFormatLog(knex, file, snapshot.index, wal === null);
  if (wal === null) {
    wal = await SegmentLog.create(dir, { hardState: old.hardState, index: snapshot.index, term: snapshot.term }, old.entries, options);
    if (old.present) logger.info({ entries: old.entries.length, term: old.hardState.term }, 'moved the Raft log from SQLite into the segment log');
  }
  if (old.present) await removeOldFormatLog(knex);
  // A snapshot install commits in SQLite first, then restarts the log at the snapshot: a crash in between leaves a
  // log that does not hold the snapshot's last entry, which the install would have discarded (Raft §7). Finish it.
  if (position.snapshot !== null && snapshot.index > wal.base && wal.termAt(snapshot.index) !== snapshot.term) {
    await wal.checkpoint(snapshot.index, snapshot.term, false);
    logger.info({ index: snapshot.index, term: snapshot.term }, 'finished an interrupted snapshot install in the log');
  }
  return wal;
}

/**
 * The starting point of a core (RaftInput minus identity and knobs) from what
 * the store loaded: `initialConfig` stands in for the snapshot's configuration
 * when no snapshot exists. Applied entries are committed, so commitIndex
 * starts at appliedIndex.
 */
export function raftStartOf(
  loaded: LoadedState,
  initialConfig: Configuration,
): { hardState: HardState; snapshot: SnapshotMeta; entries: readonly Entry[]; commitIndex: Index } {
  const snapshot = loaded.snapshot?.meta ?? { index: 0, term: 0, config: initialConfig };
  return {
    hardState: hardStateCovering(loaded.hardState, snapshot),
    snapshot,
    entries: loaded.entries,
    commitIndex: loaded.applied.index,
  };
}

/**
 * The hard state a core starts with, at least the term of the stored snapshot.
 * A snapshot received from a leader is stored before the core hears of it
 * (the core must never believe in a snapshot that is not durable), so before
 * the core persists the leader's term: a crash in between leaves a snapshot
 * of a term beyond the hard state's, which the core rightly refuses as input
 * (found by the simulation). Starting in the snapshot's term with no vote is
 * safe: a vote is persisted together with its term, so none was cast in it.
 */
export function hardStateCovering(hardState: HardState, snapshot: SnapshotMeta): HardState {
  return snapshot.term > hardState.term ? { term: snapshot.term, votedFor: null } : hardState;
}

class SqliteReplicaStore implements ReplicaStore {
  readonly file: string;
  readonly reader: Knex;
  private readonly knex: Knex;
  private readonly wal: SegmentLog;
  private readonly claim: DirectoryClaim;
  private readonly snapshotDir: string;
  private readonly initialConfig: Configuration | null;
  private readonly logger: StoreLogger;
  private position: Position;
  /** Every entry is encoded as it is logged and again as it is applied: one encoder for both. */
  private readonly entryEncoder = new EntryEncoder();
  /** Writes to the log (group commits, checkpoints) and reads of it, one at a time: a read never sees a segment being deleted. */
  private readonly logWrites = createSerial();
  /** Writes to SQLite (applies, the snapshot record, the checkpoint before compaction), one at a time on the one writer connection. */
  private readonly stateWrites = createSerial();
  /** The writer connection and its prepared statements (storage/prepared.ts), from the first apply on. */
  private prepared: { readonly connection: RawConnection; readonly statements: PreparedStatements } | null = null;
  /** The reads on every send's path, prepared once on a connection of the store's own (connection.ts `openReadConnection`). */
  private readonly hotReads: { readonly connection: ReadConnection; readonly statements: PreparedStatements };
  /** The last index of the apply running now (0: none): a persist may not truncate it away meanwhile. */
  private applyingTo: Index = 0;
  private pendingPersists: PendingPersist[] = [];
  private flushScheduled = false;
  private persistRequests = 0;
  private persistTransactions = 0;
  private snapshotInProgress: Promise<StoredSnapshot> | null = null;
  /** Set once: why the store refuses to serve (corruption found, a failed log write, or closed). */
  private failure: Error | null = null;

  constructor(knex: Knex, wal: SegmentLog, file: string, snapshotDir: string, position: Position, claim: DirectoryClaim, initialConfig: Configuration | null, logger: StoreLogger) {
    this.knex = knex;
    this.wal = wal;
    this.reader = openSqlite(file, 'read-only', logger);
    const connection = openReadConnection(file, logger);
    this.hotReads = { connection, statements: new PreparedStatements(connection) };
    // `preparedRows(store.reader, …)` runs there from now on (prepared.ts).
    registerPrepared(this.reader, this.hotReads.statements);
    this.claim = claim;
    this.file = file;
    this.snapshotDir = snapshotDir;
    this.position = position;
    this.initialConfig = initialConfig;
    this.logger = logger;
  }

  status(): StoreStatus {
    const p = this.position;
    return {
      appliedIndex: p.applied.index,
      appliedTerm: p.applied.term,
      digest: p.applied.digest,
      lastIndex: this.wal.lastIndex,
      lastTerm: this.wal.lastTerm,
      snapshotIndex: p.snapshot?.meta.index ?? 0,
      persistRequests: this.persistRequests,
      persistTransactions: this.persistTransactions,
    };
  }

  load(): Promise<LoadedState> {
    return this.logWrites(() =>
      this.guard(async () => {
        const { snapshot, applied } = this.position;
        const snapshotIndex = snapshot?.meta.index ?? 0;
        const lastIndex = this.wal.lastIndex;
        if (this.wal.base > snapshotIndex) {
          throw new CorruptStoreError(this.wal.dir, snapshotIndex + 1, `the log starts after ${this.wal.base}, the snapshot is at ${snapshotIndex}: entries between them are missing`);
        }
        // Segments are checksummed when recovered; reading back checks each entry against its checksum again.
        const entries = lastIndex > snapshotIndex ? await this.wal.read(snapshotIndex + 1, lastIndex) : [];
        if (applied.index > lastIndex || applied.index < snapshotIndex) {
          throw new CorruptStoreError(this.file, null, `appliedIndex ${applied.index} lies outside the log [${snapshotIndex}, ${lastIndex}]`);
        }
        return { hardState: this.wal.hardState, snapshot, entries, applied, fresh: this.claim.fresh, dataId: this.claim.dataId };
      }),
    );
  }

  persist(request: PersistRequest): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolvePersist, rejectPersist) => {
      this.pendingPersists.push({ request, resolve: resolvePersist, reject: rejectPersist });
      this.scheduleFlush();
    });
  }

  apply<R>(entries: readonly Entry[], applyOne: (db: Knex, entry: Entry) => Promise<R>): Promise<R[]> {
    return this.stateWrites(() =>
      this.guard(async () => {
        const first = entries[0];
        const last = entries.at(-1);
        if (first === undefined || last === undefined) return [];
        const { applied } = this.position;
        if (first.index <= applied.index) throw new ApplyOrderError(applied.index, first.index, 'the entry is already applied');
        if (first.index !== applied.index + 1) throw new ApplyOrderError(applied.index, first.index, 'entries in between are not applied yet');
        // The entries come from the core, which holds what it persisted; the log's checksums say whether they are what was logged.
        const canonical = entries.map((entry, i) => {
          if (entry.index !== first.index + i) throw new ApplyOrderError(applied.index, first.index, `entries are not contiguous at index ${entry.index}`);
          const logged = this.wal.checksumAt(entry.index);
          if (logged === undefined) throw new ApplyOrderError(applied.index, first.index, `entry ${entry.index} is not in the log: only persisted entries can be applied`);
          const bytes = this.entryEncoder.encode(entry);
          if (this.wal.termAt(entry.index) !== entry.term || checksumOf(bytes) !== logged) {
            throw new ApplyOrderError(applied.index, first.index, `entry ${entry.index} differs from the logged entry at that index`);
          }
          return bytes;
        });
        const results: R[] = [];
        let next: AppliedState = applied;
        let configIndex: Index | null = null;
        this.applyingTo = last.index;
        try {
          const statements = await this.writerStatements();
          // The transaction is begun and ended on the writer connection itself, not through a Knex
          // transaction: that cost as much main-thread time as the statements in it. applyOne's Knex
          // queries on `this.knex` run inside it: the writer pool holds exactly one connection, and
          // nothing else uses it while stateWrites runs this apply (the same rule `durably` relies on).
          await statements.run(SQL_BEGIN, []);
          try {
            for (const [i, entry] of entries.entries()) {
              results.push(await applyOne(this.knex, entry));
              next = {
                index: entry.index,
                term: entry.term,
                digest: nextDigestOfBytes(next.digest, canonical[i]!),
                config: entry.kind === 'config' ? entry.config : next.config,
              };
              if (entry.kind === 'config') configIndex = entry.index;
            }
            const changed = await statements.run(SQL_ADVANCE_APPLIED, [
              next.index,
              next.term,
              next.digest,
              next.config === null ? null : JSON.stringify(next.config),
              configIndex,
            ]);
            if (changed !== 1) throw new CorruptStoreError(this.file, null, 'the applied state row is missing');
            await statements.run(SQL_COMMIT, []);
          } catch (err) {
            await this.rollback(statements, err);
            throw err;
          }
        } finally {
          this.applyingTo = 0;
        }
        this.position = { ...this.position, applied: next };
        return results;
      }),
    );
  }

  readEntries(from: Index, to: Index): Promise<Entry[]> {
    return this.logWrites(() =>
      this.guard(async () => {
        if (to < from) return [];
        if (from <= this.wal.base || to > this.wal.lastIndex) {
          throw new LogRangeError(`entries ${from}..${to} are not all in the log (snapshot at ${this.position.snapshot?.meta.index ?? 0}, log from ${this.wal.base + 1} to ${this.wal.lastIndex})`);
        }
        return await this.wal.read(from, to);
      }),
    );
  }

  createSnapshot(): Promise<StoredSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    // One snapshot at a time: a second caller shares the first one's result.
    this.snapshotInProgress ??= this.takeSnapshot().finally(() => {
      this.snapshotInProgress = null;
    });
    return this.snapshotInProgress;
  }

  /**
   * Drop log entries up to `index` (at most the snapshot's). Before the log
   * forgets them, the database's applied state must be durable at least that
   * far: under synchronous=NORMAL its recent commits live only in SQLite's
   * WAL until a checkpoint, and a crash that loses them must find the entries
   * to apply again in the log.
   */
  async compact(index: Index): Promise<void> {
    await this.guard(async () => {
      const snapshotIndex = this.position.snapshot?.meta.index ?? 0;
      if (index > snapshotIndex) {
        throw new SnapshotError(`cannot compact the log up to ${index}: the latest durable snapshot is at ${snapshotIndex}`);
      }
      if (index <= this.wal.base) return;
      await this.stateWrites(() => this.guard(() => this.checkpointDatabase(index)));
      await this.logWrites(() =>
        this.guard(async () => {
          if (index <= this.wal.base) return;
          const term = this.wal.termAt(index);
          if (term === undefined) throw new SnapshotError(`cannot compact the log up to ${index}: it ends at ${this.wal.lastIndex}`);
          await this.wal.checkpoint(index, term, true);
        }),
      );
    });
  }

  async openSnapshot(): Promise<SnapshotStream | null> {
    if (this.failure) throw this.failure;
    const snapshot = this.position.snapshot;
    if (snapshot === null) return null;
    // Hold the file open: a newer snapshot may unlink it while a peer streams it.
    const handle = await open(snapshot.file, 'r');
    try {
      const { sha256, bytes } = await hashHandle(handle);
      if (sha256 !== snapshot.sha256 || bytes !== snapshot.bytes) {
        // The database itself is intact: the store keeps serving, but this file must not leave the replica.
        throw new CorruptStoreError(snapshot.file, snapshot.meta.index, `snapshot file checksum mismatch (sha256 ${sha256}, recorded ${snapshot.sha256}); take a new snapshot`);
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    return {
      ...snapshot,
      close,
      chunks: async function* () {
        try {
          for await (const chunk of handle.createReadStream({ start: 0, highWaterMark: SNAPSHOT_CHUNK_BYTES, autoClose: false })) {
            yield chunk as Buffer;
          }
        } finally {
          await close();
        }
      },
    };
  }

  /** Holds both writers: an install replaces the applied state (vs apply) and restarts the log (vs persist). */
  installSnapshot(meta: SnapshotMeta, source: string | AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    return this.stateWrites(() =>
      this.logWrites(() =>
        this.guard(async () => {
          const { applied } = this.position;
          if (meta.index <= applied.index) {
            throw new SnapshotError(`snapshot at index ${meta.index} is not newer than appliedIndex ${applied.index}: installing it would go back in time`);
          }
          const name = snapshotFileName(meta);
          const target = join(this.snapshotDir, name);
          const filePath = typeof source === 'string' ? source : '(received stream)';
          if (typeof source !== 'string' || resolve(source) !== target) {
            const temporary = join(this.snapshotDir, `${TEMPORARY_PREFIX}${randomUUID()}.sqlite`);
            try {
              if (typeof source === 'string') await copyFile(source, temporary);
              else await pipeline(Readable.from(source), createWriteStream(temporary));
              await durableRename(temporary, target, this.snapshotDir);
            } catch (err) {
              await rm(temporary, { force: true });
              throw err;
            }
          }
          let stored: StoredSnapshot;
          try {
            stored = await this.restoreFromFile(target, meta, filePath);
          } catch (err) {
            // Not installed: the copy is of no use (the current snapshot has a lower index, so a different name).
            await rm(target, { force: true });
            throw err;
          }
          const previous = this.position.snapshot;
          this.position = { ...this.position, applied: { index: meta.index, term: meta.term, digest: stored.digest, config: meta.config }, snapshot: stored };
          // Raft §7: keep the entries after the snapshot only if the log holds the snapshot's last entry; otherwise discard the whole log.
          // The database is durable first (restoreFromFile), so a crash before this line is finished on the next open.
          await this.wal.checkpoint(meta.index, meta.term, this.wal.termAt(meta.index) === meta.term);
          await this.removeSnapshotFile(previous, target);
          this.logger.info({ index: meta.index, term: meta.term, bytes: stored.bytes }, 'installed snapshot');
          return stored;
        }),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.failure instanceof StoreClosedError) return;
    const wasFailed = this.failure;
    this.failure = new StoreClosedError(`replica store ${this.file} is closed`);
    this.rejectPending(this.failure);
    await this.snapshotInProgress?.catch(() => undefined);
    await this.logWrites(() => Promise.resolve()).catch(() => undefined);
    await this.stateWrites(() => Promise.resolve()).catch(() => undefined);
    await this.wal.close();
    unregisterPrepared(this.reader);
    await this.hotReads.statements.finalizeAll();
    const readConnectionClosed = await new Promise<Error | null>((resolve) => this.hotReads.connection.close(resolve));
    await this.reader.destroy();
    // SQLite refuses to close a connection that still has prepared statements.
    unregisterPrepared(this.knex);
    await this.prepared?.statements.finalizeAll();
    await this.knex.destroy();
    if (wasFailed) this.failure = wasFailed;
    if (readConnectionClosed !== null) throw readConnectionClosed;
  }

  // ---- helpers ----

  /**
   * The prepared statements of the writer connection, created on first use. The
   * connection is asked of the pool each time and must be the same one: the apply
   * transaction's atomicity rests on every writer query sharing it.
   */
  private async writerStatements(): Promise<PreparedStatements> {
    const client = this.knex.client as { acquireConnection(): Promise<RawConnection>; releaseConnection(connection: RawConnection): Promise<unknown> };
    const connection = await client.acquireConnection();
    await client.releaseConnection(connection);
    if (this.prepared === null) {
      this.prepared = { connection, statements: new PreparedStatements(connection) };
      registerPrepared(this.knex, this.prepared.statements);
    } else if (this.prepared.connection !== connection) {
      throw new Error('the writer pool handed out a second connection: an apply transaction would not hold every write');
    }
    return this.prepared.statements;
  }

  /**
   * Undo a failed apply transaction. SQLite has already rolled back after some
   * errors (a full disk, an I/O error): that is not a second failure. Any other
   * failure to roll back leaves the transaction open, so the next BEGIN fails
   * and the replica stops, rather than committing half a batch later.
   */
  private async rollback(statements: PreparedStatements, cause: unknown): Promise<void> {
    try {
      await statements.run(SQL_ROLLBACK, []);
    } catch (err) {
      if (!/no transaction is active/.test((err as Error).message)) {
        this.logger.error({ err, cause }, 'could not roll back a failed apply transaction');
      }
    }
  }

  private async takeSnapshot(): Promise<StoredSnapshot> {
    const temporary = join(this.snapshotDir, `${TEMPORARY_PREFIX}${randomUUID()}.sqlite`);
    // A separate connection on the new file, reading the database read-only: WAL gives it a consistent view while the writer keeps committing.
    const snapshotWriter = openSnapshotWriter(temporary, this.file, this.logger);
    let written;
    const started = performance.now();
    try {
      written = await writeSnapshotFile(snapshotWriter, this.initialConfig);
    } catch (err) {
      await rm(temporary, { force: true });
      if (isCorruptionError(err)) throw this.fail(new CorruptStoreError(this.file, null, `SQLite reports ${(err as Error).message} while snapshotting`, { cause: err }));
      throw err;
    } finally {
      await snapshotWriter.destroy();
    }
    const target = join(this.snapshotDir, snapshotFileName(written.meta));
    await fsyncFile(temporary);
    const { sha256, bytes } = await sha256OfFile(temporary);
    return this.stateWrites(() =>
      this.guard(async () => {
        const current = this.position.snapshot;
        if (current !== null && current.meta.index >= written.meta.index) {
          // A newer snapshot was installed meanwhile: this one is of no use.
          await rm(temporary, { force: true });
          return current;
        }
        await durableRename(temporary, target, this.snapshotDir);
        const stored: StoredSnapshot = { meta: written.meta, digest: written.digest, file: target, sha256, bytes };
        // Durable before the previous file is deleted: a lost row would point at a file that is gone.
        await this.durably(() => this.knex.transaction((trx) => writeSnapshotRow(trx, stored)));
        this.position = { ...this.position, snapshot: stored };
        await this.removeSnapshotFile(current, target);
        this.logger.info({ index: stored.meta.index, term: stored.meta.term, bytes, ms: Math.round(performance.now() - started) }, 'created snapshot');
        return stored;
      }),
    );
  }

  /**
   * In one durable transaction: replace the state machine tables with the
   * snapshot file's, set applied index/term/digest/config and the snapshot row.
   * The log is restarted after it commits (installSnapshot).
   */
  private async restoreFromFile(target: string, meta: SnapshotMeta, shownAs: string): Promise<StoredSnapshot> {
    const { sha256, bytes } = await sha256OfFile(target);
    const fileMeta = await this.attachSnapshot(target);
    try {
      if (!sameSnapshotMeta(fileMeta.meta, meta)) {
        throw new SnapshotError(`snapshot file ${shownAs} holds ${JSON.stringify(fileMeta.meta)}, expected ${JSON.stringify(meta)}`);
      }
      const stored: StoredSnapshot = { meta, digest: fileMeta.digest, file: target, sha256, bytes };
      // Durable at once: the log is about to drop the entries the snapshot covers, so the database cannot re-apply them.
      await this.durably(() =>
        this.knex.transaction(async (trx) => {
          await restoreAttachedSnapshot(trx);
          await trx('raft_applied')
            .where({ id: 1 })
            .update({ applied_index: meta.index, applied_term: meta.term, digest: fileMeta.digest, config: JSON.stringify(meta.config), config_index: meta.index });
          await writeSnapshotRow(trx, stored);
        }),
      );
      return stored;
    } finally {
      await this.knex.raw('DETACH DATABASE snap');
    }
  }

  /**
   * ATTACH a received snapshot file as `snap`, check it and read its metadata.
   * Damage in that file is the file's problem, not this store's: it is a
   * SnapshotError, and the file is detached again.
   */
  private async attachSnapshot(file: string): Promise<{ meta: SnapshotMeta; digest: string }> {
    let attached = false;
    try {
      await this.knex.raw('ATTACH DATABASE ? AS snap', [file]);
      attached = true;
      const check = (await this.knex.raw('PRAGMA snap.quick_check')) as { quick_check: string }[];
      if (check.some((r) => r.quick_check !== 'ok')) throw new SnapshotError(`quick_check failed: ${check[0]?.quick_check ?? ''}`);
      return await readAttachedSnapshotMeta(this.knex);
    } catch (err) {
      if (attached) await this.knex.raw('DETACH DATABASE snap');
      throw new SnapshotError(`snapshot file ${file} is not a readable snapshot: ${(err as Error).message}`, { cause: err });
    }
  }

  private async removeSnapshotFile(previous: StoredSnapshot | null, current: string): Promise<void> {
    if (previous !== null && previous.file !== current) {
      await rm(previous.file, { force: true });
      await fsyncDir(this.snapshotDir);
    }
  }

  /**
   * Run `commit` with synchronous=FULL, so that it is on disk when it resolves.
   * Only inside stateWrites: the writer connection is then this caller's alone,
   * so no other commit runs under (or resets) the setting meanwhile.
   */
  private async durably<T>(commit: () => Promise<T>): Promise<T> {
    await this.knex.raw('PRAGMA synchronous = FULL');
    try {
      return await commit();
    } finally {
      await this.knex.raw('PRAGMA synchronous = NORMAL');
    }
  }

  /**
   * Make every committed apply durable: a complete checkpoint syncs SQLite's
   * WAL, copies it into the database file and syncs that (also under NORMAL).
   * If a reader keeps it from completing, the log keeps its entries for now.
   */
  private async checkpointDatabase(index: Index): Promise<void> {
    const rows = (await this.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)')) as { busy: number; log: number; checkpointed: number }[];
    const row = rows[0];
    if (row === undefined || row.busy !== 0 || row.log !== row.checkpointed) {
      throw new SnapshotError(`cannot compact the log up to ${index} yet: the database checkpoint did not complete (${JSON.stringify(row)}), so its applied state might not be durable`);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.logWrites(() => this.flushPersists()).catch(() => undefined);
  }

  /**
   * Group commit: every persist queued by now is checked in order against the
   * log as the earlier ones leave it, and the good ones are written with one
   * write and one fdatasync. A bad request is refused alone (it changes nothing).
   */
  private async flushPersists(): Promise<void> {
    this.flushScheduled = false;
    const group = this.pendingPersists.splice(0, MAX_PERSISTS_PER_GROUP);
    if (this.pendingPersists.length > 0) this.scheduleFlush();
    if (group.length === 0) return;
    if (this.failure) {
      for (const p of group) p.reject(this.failure);
      return;
    }
    const draft = this.wal.draft();
    let hardState = this.wal.hardState;
    const steps: LogStep[] = [];
    const refusals = group.map((p) => {
      try {
        const step = this.checkedStep(p.request, draft, hardState);
        hardState = step.hardState ?? hardState;
        steps.push(step);
        return null;
      } catch (err) {
        return err;
      }
    });
    try {
      if (steps.length > 0) await this.guard(() => this.wal.append(steps));
    } catch (err) {
      for (const p of group) p.reject(this.failure ?? err);
      return;
    }
    this.persistRequests += steps.length;
    if (steps.length > 0) this.persistTransactions += 1;
    group.forEach((p, i) => {
      const refusal = refusals[i];
      if (refusal === null) p.resolve();
      else p.reject(refusal);
    });
  }

  /** Check one persist against the draft log; if it is good, carry it out on the draft and return what to write. */
  private checkedStep(request: PersistRequest, draft: DraftLog, before: HardState): LogStep {
    const hardState = request.hardState ?? before;
    if (request.hardState) checkHardState(before, request.hardState);
    let lastIndex = draft.lastIndex;
    let lastTerm = draft.lastTerm;
    if (request.truncateFrom !== undefined) {
      const from = request.truncateFrom;
      const kept = Math.max(this.position.applied.index, this.applyingTo, this.position.snapshot?.meta.index ?? 0, this.wal.base);
      if (!Number.isSafeInteger(from) || from <= kept) {
        throw new InvalidPersistError(`cannot truncate from ${from}: entries up to ${kept} are applied or snapshotted (Raft: committed entries are never removed)`);
      }
      if (from > lastIndex + 1) throw new InvalidPersistError(`cannot truncate from ${from}: the log ends at ${lastIndex}`);
      lastIndex = from - 1;
      lastTerm = draft.termAt(lastIndex) ?? 0;
    }
    const entries = request.entries.map((entry) => {
      if (entry.index !== lastIndex + 1) {
        throw new InvalidPersistError(`entry ${entry.index} does not follow the log's last index ${lastIndex}${request.truncateFrom === undefined ? ' (no truncateFrom given)' : ''}`);
      }
      if (!Number.isSafeInteger(entry.term) || entry.term < lastTerm) {
        throw new InvalidPersistError(`entry ${entry.index} has term ${entry.term}, lower than the previous entry's term ${lastTerm}`);
      }
      if (entry.term > hardState.term) {
        throw new InvalidPersistError(`entry ${entry.index} has term ${entry.term}, above currentTerm ${hardState.term} (persist the hard state first or in the same step)`);
      }
      lastIndex = entry.index;
      lastTerm = entry.term;
      const bytes = this.entryEncoder.encode(entry);
      return { index: entry.index, term: entry.term, bytes, crc: checksumOf(bytes) };
    });
    // Every check passed: only now does the draft change, so a refused request leaves no trace.
    const truncates = request.truncateFrom !== undefined && request.truncateFrom <= draft.lastIndex;
    if (truncates) draft.truncateFrom(request.truncateFrom!);
    for (const entry of entries) draft.append(entry.index, entry.term);
    return {
      ...(request.hardState ? { hardState: request.hardState } : {}),
      ...(truncates ? { truncateFrom: request.truncateFrom! } : {}),
      entries,
    };
  }

  /** Refuse when failed; turn corruption and failed log writes into a lasting failure. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    try {
      return await op();
    } catch (err) {
      if (err instanceof CorruptStoreError || err instanceof LogWriteError) throw this.fail(err);
      if (isCorruptionError(err)) throw this.fail(new CorruptStoreError(this.file, null, `SQLite reports ${(err as Error).message}`, { cause: err }));
      throw err;
    }
  }

  private fail<E extends CorruptStoreError | LogWriteError>(err: E): E {
    // A damaged snapshot file is that file's problem (take a new snapshot); anything else stops the store.
    const snapshotFile = err instanceof CorruptStoreError && err.file.startsWith(this.snapshotDir);
    if (!snapshotFile && !this.failure) {
      this.failure = err;
      this.logger.error({ file: err instanceof CorruptStoreError ? err.file : this.wal.dir, index: err instanceof CorruptStoreError ? err.index : null }, err.message);
      this.rejectPending(err);
    }
    return err;
  }

  private rejectPending(err: Error): void {
    for (const p of this.pendingPersists.splice(0)) p.reject(err);
  }
}

// ---- module helpers ----

/** The apply transaction's own statements, prepared once (storage/prepared.ts). */
const SQL_BEGIN = 'BEGIN';
const SQL_COMMIT = 'COMMIT';
const SQL_ROLLBACK = 'ROLLBACK';
/** appliedIndex, its term, the digest and the applied configuration; config_index moves only when a config entry was applied. */
const SQL_ADVANCE_APPLIED =
  'UPDATE raft_applied SET applied_index = ?, applied_term = ?, digest = ?, config = ?, config_index = COALESCE(?, config_index) WHERE id = 1';

/** Prefix of snapshot files still being written; removed on open. */
const TEMPORARY_PREFIX = '.tmp-';

interface PendingPersist {
  readonly request: PersistRequest;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** What SQLite holds of the store's position; the log's (hard state, last index) is the segment log's. */
interface Position {
  readonly applied: AppliedState;
  readonly snapshot: StoredSnapshot | null;
}

const configurationSchema = z.object({ voters: z.array(ReplicaIdSchema), learners: z.array(ReplicaIdSchema) });
const optionsSchema = z.object({
  dataDir: z.string().min(1),
  replicaId: ReplicaIdSchema,
  initialConfig: configurationSchema.optional(),
  walSegmentBytes: z.number().int().positive().optional(),
});

const silentLogger: StoreLogger = Object.freeze({ info: () => undefined, warn: () => undefined, error: () => undefined });

function checkMigrations(migrations: readonly Migration[]): void {
  const names = new Set(storageMigrations.map((m) => m.name));
  for (const migration of migrations) {
    if (typeof migration?.name !== 'string' || migration.name.length === 0 || typeof migration.up !== 'function') {
      throw new StoreConfigError('every migration needs a non-empty name and an up(knex) function');
    }
    if (names.has(migration.name)) throw new StoreConfigError(`migration name ${migration.name} is used twice`);
    names.add(migration.name);
  }
}

/** Raft §5.2 on disk: the term never goes back, and a vote cast in a term never changes. Both stores refuse it. */
export function checkHardState(before: HardState, next: HardState): void {
  if (!Number.isSafeInteger(next.term) || next.term < before.term) {
    throw new InvalidPersistError(`term may not go back: ${before.term} -> ${next.term}`);
  }
  if (next.term === before.term && before.votedFor !== null && next.votedFor !== before.votedFor) {
    throw new InvalidPersistError(`vote in term ${next.term} may not change from ${before.votedFor} to ${next.votedFor} (Raft §5.2: one vote per term)`);
  }
}

async function checkIntegrity(knex: Knex, file: string): Promise<void> {
  // The writer has one connection, so these pragmas and the check run on the connection the store then writes through.
  await knex.raw(`PRAGMA cache_size = -${INTEGRITY_CHECK_CACHE_KIB}`);
  let rows: { quick_check: string }[];
  try {
    rows = (await knex.raw('PRAGMA quick_check')) as { quick_check: string }[];
  } finally {
    await knex.raw(`PRAGMA cache_size = -${WRITER_CACHE_KIB}`);
  }
  const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
  if (problems.length > 0 || rows.length === 0) {
    throw new CorruptStoreError(file, null, `PRAGMA quick_check failed: ${problems.slice(0, 5).join('; ')}`);
  }
}

async function readPosition(knex: Knex, file: string): Promise<Position> {

  const applied = ((await knex('raft_applied').select('applied_index', 'applied_term', 'digest', 'config').where({ id: 1 })) as {
    applied_index: number;
    applied_term: number;
    digest: string;
    config: string | null;
  }[])[0];
  if (applied === undefined) throw new CorruptStoreError(file, null, 'the applied state row is missing');
  const snapRow = ((await knex('raft_snapshot').select('*').where({ id: 1 })) as SnapshotRow[])[0];
  const snapshot: StoredSnapshot | null =
    snapRow === undefined
      ? null
      : {
          meta: { index: snapRow.idx, term: snapRow.term, config: JSON.parse(snapRow.config) as Configuration },
          digest: snapRow.digest,
          file: snapRow.file,
          sha256: snapRow.file_sha256,
          bytes: snapRow.file_bytes,
        };
  const position: Position = {
    applied: {
      index: applied.applied_index,
      term: applied.applied_term,
      digest: applied.digest,
      config: applied.config === null ? null : (JSON.parse(applied.config) as Configuration),
    },
    snapshot,
  };
  return position;
}

interface SnapshotRow {
  idx: number;
  term: number;
  config: string;
  digest: string;
  file: string;
  file_sha256: string;
  file_bytes: number;
}

async function writeSnapshotRow(trx: Knex.Transaction, stored: StoredSnapshot): Promise<void> {
  const row = {
    id: 1,
    idx: stored.meta.index,
    term: stored.meta.term,
    config: JSON.stringify(stored.meta.config),
    digest: stored.digest,
    file: stored.file,
    file_sha256: stored.sha256,
    file_bytes: stored.bytes,
  };
  await trx('raft_snapshot').insert(row).onConflict('id').merge();
}

/** Delete snapshot files left behind by a crash (temporaries, superseded or never-recorded snapshots). */
async function removeStraySnapshotFiles(snapshotDir: string, keep: string | null): Promise<void> {
  for (const name of await readdir(snapshotDir)) {
    const path = join(snapshotDir, name);
    if (path !== keep) await rm(path, { force: true });
  }
}

function snapshotFileName(meta: SnapshotMeta): string {
  return `snapshot-${meta.index}-${meta.term}.sqlite`;
}

function sameSnapshotMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  const same = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.index === b.index && a.term === b.term && same(a.config.voters, b.config.voters) && same(a.config.learners, b.config.learners);
}

async function hashHandle(handle: Awaited<ReturnType<typeof open>>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: SNAPSHOT_CHUNK_BYTES })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

