/**
 * A replica's durable store: Raft hard state and log, the applied index with
 * its running digest, and snapshots, in one SQLite database
 * (`<dataDir>/replica.sqlite`) written through a single Knex connection.
 *
 * Durability: WAL + synchronous=FULL, so a promise that resolves means the
 * change survives a crash. Every write runs in one transaction; writes run
 * strictly one after another; persists that queue up while another write runs
 * are group-committed in one transaction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, copyFile, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Configuration, Entry, HardState, Index, ReplicaId, SnapshotMeta, Term } from '../actors/raft/types.ts';
import { ReplicaIdSchema } from '../actors/protocol/replica-id.ts';
import { isCorruptionError, openSnapshotWriter, openSqlite } from './connection.ts';
import { nextDigestOfBytes } from './digest.ts';
import { checksumOf, decodeEntry, encodeEntry, EntryDecodeError } from './entry-codec.ts';
import { ApplyOrderError, CorruptStoreError, InvalidPersistError, LogRangeError, SnapshotError, StoreClosedError, StoreConfigError } from './errors.ts';
import { durableRename, fsyncDir, fsyncFile, sha256OfFile } from './files.ts';
import { LOG_ROWS_PER_INSERT, MAX_PERSISTS_PER_GROUP, SNAPSHOT_CHUNK_BYTES } from './limits.ts';
import { migrationSourceOf, storageMigrations, type Migration } from './migrations.ts';
import { readAttachedSnapshotMeta, restoreAttachedSnapshot, writeSnapshotFile } from './snapshot-file.ts';

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
  /** Persist requests carried out, and the transactions they took: their ratio is the group-commit factor. */
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
  apply<R>(entries: readonly Entry[], applyOne: (trx: Knex.Transaction, entry: Entry) => Promise<R>): Promise<R[]>;
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
 * Open (creating if needed) the store of one replica: checks the file with
 * PRAGMA quick_check, runs migrations, and checks that the store belongs to
 * `replicaId`.
 */
export async function openReplicaStore(options: ReplicaStoreOptions): Promise<ReplicaStore> {
  const parsed = optionsSchema.safeParse({ dataDir: options.dataDir, replicaId: options.replicaId, initialConfig: options.initialConfig });
  if (!parsed.success) throw new StoreConfigError(`invalid replica store options: ${z.prettifyError(parsed.error)}`);
  checkMigrations(options.migrations);
  const dataDir = resolve(options.dataDir);
  const snapshotDir = join(dataDir, SNAPSHOT_DIR);
  await mkdir(snapshotDir, { recursive: true });
  const file = join(dataDir, DATABASE_FILE);
  const logger = options.logger ?? silentLogger;
  const knex = openSqlite(file, 'read-write', logger);
  try {
    await checkIntegrity(knex, file);
    await knex.migrate.latest({ migrationSource: migrationSourceOf([...storageMigrations, ...options.migrations]) });
    const { position, fresh } = await readPosition(knex, file, options.replicaId);
    await removeStraySnapshotFiles(snapshotDir, position.snapshot?.file ?? null);
    return new SqliteReplicaStore(knex, file, snapshotDir, position, fresh, options.initialConfig ?? null, logger);
  } catch (err) {
    await knex.destroy();
    if (isCorruptionError(err)) throw new CorruptStoreError(file, null, `SQLite reports ${(err as Error).message}`, { cause: err });
    throw err;
  }
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
  private readonly fresh: boolean;
  private readonly snapshotDir: string;
  private readonly initialConfig: Configuration | null;
  private readonly logger: StoreLogger;
  private position: Position;
  /** Tail of the chain of write operations: each starts when the previous settled. */
  private tail: Promise<unknown> = Promise.resolve();
  private pendingPersists: PendingPersist[] = [];
  private flushScheduled = false;
  private persistRequests = 0;
  private persistTransactions = 0;
  private snapshotInProgress: Promise<StoredSnapshot> | null = null;
  /** Set once: why the store refuses to serve (corruption found, or closed). */
  private failure: Error | null = null;

  constructor(knex: Knex, file: string, snapshotDir: string, position: Position, fresh: boolean, initialConfig: Configuration | null, logger: StoreLogger) {
    this.knex = knex;
    this.reader = openSqlite(file, 'read-only', logger);
    this.fresh = fresh;
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
      lastIndex: p.lastIndex,
      lastTerm: p.lastTerm,
      snapshotIndex: p.snapshot?.meta.index ?? 0,
      persistRequests: this.persistRequests,
      persistTransactions: this.persistTransactions,
    };
  }

  load(): Promise<LoadedState> {
    return this.exclusive(async () => {
      const rows = (await this.knex('raft_log').select('idx', 'term', 'entry', 'crc').orderBy('idx')) as LogRow[];
      const { snapshot, applied, hardState } = this.position;
      const snapshotIndex = snapshot?.meta.index ?? 0;
      const entries: Entry[] = [];
      let expected: number | null = null;
      for (const row of rows) {
        const entry = this.verifiedEntry(row);
        if (expected !== null && row.idx !== expected) throw new CorruptStoreError(this.file, expected, 'the log has a gap: this entry is missing');
        expected = row.idx + 1;
        if (row.idx > snapshotIndex) entries.push(entry);
      }
      const first = rows[0];
      if (first !== undefined && first.idx > snapshotIndex + 1) {
        throw new CorruptStoreError(this.file, snapshotIndex + 1, 'the log starts after the snapshot: entries between them are missing');
      }
      const lastIndex = entries.at(-1)?.index ?? snapshotIndex;
      if (applied.index > lastIndex || applied.index < snapshotIndex) {
        throw new CorruptStoreError(this.file, null, `appliedIndex ${applied.index} lies outside the log [${snapshotIndex}, ${lastIndex}]`);
      }
      return { hardState, snapshot, entries, applied, fresh: this.fresh };
    });
  }

  persist(request: PersistRequest): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolvePersist, rejectPersist) => {
      this.pendingPersists.push({ request, resolve: resolvePersist, reject: rejectPersist });
      this.scheduleFlush();
    });
  }

  apply<R>(entries: readonly Entry[], applyOne: (trx: Knex.Transaction, entry: Entry) => Promise<R>): Promise<R[]> {
    return this.exclusive(async () => {
      const first = entries[0];
      const last = entries.at(-1);
      if (first === undefined || last === undefined) return [];
      const { applied } = this.position;
      if (first.index <= applied.index) throw new ApplyOrderError(applied.index, first.index, 'the entry is already applied');
      if (first.index !== applied.index + 1) throw new ApplyOrderError(applied.index, first.index, 'entries in between are not applied yet');
      entries.forEach((entry, i) => {
        if (entry.index !== first.index + i) throw new ApplyOrderError(applied.index, first.index, `entries are not contiguous at index ${entry.index}`);
      });
      const results: R[] = [];
      let next: AppliedState = applied;
      let configIndex: Index | null = null;
      await this.knex.transaction(async (trx) => {
        const rows = (await trx('raft_log').select('idx', 'term', 'entry', 'crc').whereBetween('idx', [first.index, last.index]).orderBy('idx')) as LogRow[];
        for (const [i, entry] of entries.entries()) {
          const row = rows[i];
          if (row === undefined || row.idx !== entry.index) {
            throw new ApplyOrderError(applied.index, first.index, `entry ${entry.index} is not in the log: only persisted entries can be applied`);
          }
          this.verifiedEntry(row);
          const canonical = encodeEntry(entry);
          if (Buffer.compare(canonical, row.entry) !== 0) {
            throw new ApplyOrderError(applied.index, first.index, `entry ${entry.index} differs from the logged entry at that index`);
          }
          results.push(await applyOne(trx, entry));
          next = {
            index: entry.index,
            term: entry.term,
            digest: nextDigestOfBytes(next.digest, canonical),
            config: entry.kind === 'config' ? entry.config : next.config,
          };
          if (entry.kind === 'config') configIndex = entry.index;
        }
        await trx('raft_applied')
          .where({ id: 1 })
          .update({
            applied_index: next.index,
            applied_term: next.term,
            digest: next.digest,
            config: next.config === null ? null : JSON.stringify(next.config),
            ...(configIndex === null ? {} : { config_index: configIndex }),
          });
      });
      this.position = { ...this.position, applied: next };
      return results;
    });
  }

  readEntries(from: Index, to: Index): Promise<Entry[]> {
    return this.exclusive(async () => {
      if (to < from) return [];
      const rows = (await this.knex('raft_log').select('idx', 'term', 'entry', 'crc').whereBetween('idx', [from, to]).orderBy('idx')) as LogRow[];
      if (rows.length !== to - from + 1) {
        throw new LogRangeError(`entries ${from}..${to} are not all in the log (found ${rows.length}; snapshot at ${this.position.snapshot?.meta.index ?? 0}, last index ${this.position.lastIndex})`);
      }
      return rows.map((row, i) => {
        if (row.idx !== from + i) throw new CorruptStoreError(this.file, from + i, 'the log has a gap: this entry is missing');
        return this.verifiedEntry(row);
      });
    });
  }

  createSnapshot(): Promise<StoredSnapshot> {
    if (this.failure) return Promise.reject(this.failure);
    // One snapshot at a time: a second caller shares the first one's result.
    this.snapshotInProgress ??= this.takeSnapshot().finally(() => {
      this.snapshotInProgress = null;
    });
    return this.snapshotInProgress;
  }

  compact(index: Index): Promise<void> {
    return this.exclusive(async () => {
      const snapshotIndex = this.position.snapshot?.meta.index ?? 0;
      if (index > snapshotIndex) {
        throw new SnapshotError(`cannot compact the log up to ${index}: the latest durable snapshot is at ${snapshotIndex}`);
      }
      await this.knex('raft_log').where('idx', '<=', index).delete();
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

  installSnapshot(meta: SnapshotMeta, source: string | AsyncIterable<Uint8Array>): Promise<StoredSnapshot> {
    return this.exclusive(async () => {
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
      let installed: { stored: StoredSnapshot; keptLog: { lastIndex: Index; lastTerm: Term } | null };
      try {
        installed = await this.restoreFromFile(target, meta, filePath);
      } catch (err) {
        // Not installed: the copy is of no use (the current snapshot has a lower index, so a different name).
        await rm(target, { force: true });
        throw err;
      }
      const { stored, keptLog } = installed;
      const previous = this.position.snapshot;
      this.position = {
        ...this.position,
        applied: { index: meta.index, term: meta.term, digest: stored.digest, config: meta.config },
        snapshot: stored,
        lastIndex: keptLog?.lastIndex ?? meta.index,
        lastTerm: keptLog?.lastTerm ?? meta.term,
      };
      await this.removeSnapshotFile(previous, target);
      this.logger.info({ index: meta.index, term: meta.term, bytes: stored.bytes }, 'installed snapshot');
      return stored;
    });
  }

  async close(): Promise<void> {
    if (this.failure instanceof StoreClosedError) return;
    const wasFailed = this.failure;
    this.failure = new StoreClosedError(`replica store ${this.file} is closed`);
    this.rejectPending(this.failure);
    await this.snapshotInProgress?.catch(() => undefined);
    await this.tail.catch(() => undefined);
    await this.reader.destroy();
    await this.knex.destroy();
    if (wasFailed) this.failure = wasFailed;
  }

  // ---- helpers ----

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
    return this.exclusive(async () => {
      const current = this.position.snapshot;
      if (current !== null && current.meta.index >= written.meta.index) {
        // A newer snapshot was installed meanwhile: this one is of no use.
        await rm(temporary, { force: true });
        return current;
      }
      await durableRename(temporary, target, this.snapshotDir);
      const stored: StoredSnapshot = { meta: written.meta, digest: written.digest, file: target, sha256, bytes };
      await this.knex.transaction((trx) => writeSnapshotRow(trx, stored));
      this.position = { ...this.position, snapshot: stored };
      await this.removeSnapshotFile(current, target);
      this.logger.info({ index: stored.meta.index, term: stored.meta.term, bytes, ms: Math.round(performance.now() - started) }, 'created snapshot');
      return stored;
    });
  }

  /**
   * In one transaction: replace the state machine tables with the snapshot
   * file's, set applied index/term/digest/config and the snapshot row, and
   * drop the log entries the snapshot covers.
   */
  private async restoreFromFile(
    target: string,
    meta: SnapshotMeta,
    shownAs: string,
  ): Promise<{ stored: StoredSnapshot; keptLog: { lastIndex: Index; lastTerm: Term } | null }> {
    const { sha256, bytes } = await sha256OfFile(target);
    const fileMeta = await this.attachSnapshot(target);
    try {
      if (!sameSnapshotMeta(fileMeta.meta, meta)) {
        throw new SnapshotError(`snapshot file ${shownAs} holds ${JSON.stringify(fileMeta.meta)}, expected ${JSON.stringify(meta)}`);
      }
      const stored: StoredSnapshot = { meta, digest: fileMeta.digest, file: target, sha256, bytes };
      const keptLog = await this.knex.transaction(async (trx) => {
        await restoreAttachedSnapshot(trx);
        await trx('raft_applied')
          .where({ id: 1 })
          .update({ applied_index: meta.index, applied_term: meta.term, digest: fileMeta.digest, config: JSON.stringify(meta.config), config_index: meta.index });
        await writeSnapshotRow(trx, stored);
        // Raft §7: keep the entries after the snapshot only if the log holds the snapshot's last entry; otherwise discard the whole log.
        const match = (await trx('raft_log').select('term').where({ idx: meta.index })) as { term: number }[];
        if (match[0]?.term === meta.term) {
          await trx('raft_log').where('idx', '<=', meta.index).delete();
          const lastRows = (await trx('raft_log').select('idx', 'term').orderBy('idx', 'desc').limit(1)) as { idx: number; term: number }[];
          const lastRow = lastRows[0];
          return lastRow === undefined ? null : { lastIndex: lastRow.idx, lastTerm: lastRow.term };
        }
        await trx('raft_log').delete();
        return null;
      });
      return { stored, keptLog };
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

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.exclusive(() => this.flushPersists()).catch(() => undefined);
  }

  /** Group commit: every persist queued by now goes into one transaction. */
  private async flushPersists(): Promise<void> {
    this.flushScheduled = false;
    const group = this.pendingPersists.splice(0, MAX_PERSISTS_PER_GROUP);
    if (this.pendingPersists.length > 0) this.scheduleFlush();
    if (group.length === 0) return;
    try {
      await this.persistGroup(group.map((p) => p.request));
      for (const p of group) p.resolve();
    } catch (err) {
      if (group.length === 1 || this.failure) {
        for (const p of group) p.reject(this.failure ?? err);
        return;
      }
      // One bad step must not sink the others: redo them one by one, in order.
      for (const p of group) {
        try {
          await this.persistGroup([p.request]);
          p.resolve();
        } catch (stepErr) {
          p.reject(this.failure ?? stepErr);
        }
      }
    }
  }

  private async persistGroup(requests: readonly PersistRequest[]): Promise<void> {
    await this.guard(async () => {
      const before = this.position.hardState;
      let state: LogPosition = { hardState: before, lastIndex: this.position.lastIndex, lastTerm: this.position.lastTerm };
      await this.knex.transaction(async (trx) => {
        // Rows of consecutive steps go out in as few INSERTs as possible; a truncation flushes them first to keep the order.
        const rows: LogRow[] = [];
        const flush = async (): Promise<void> => {
          for (let i = 0; i < rows.length; i += LOG_ROWS_PER_INSERT) await trx('raft_log').insert(rows.slice(i, i + LOG_ROWS_PER_INSERT));
          rows.length = 0;
        };
        for (const request of requests) state = await this.persistStep(trx, request, state, rows, flush);
        await flush();
        // Only the group's final hard state needs to reach the disk.
        if (state.hardState.term !== before.term || state.hardState.votedFor !== before.votedFor) {
          await trx('raft_hard_state').where({ id: 1 }).update({ term: state.hardState.term, voted_for: state.hardState.votedFor });
        }
      });
      this.position = { ...this.position, ...state };
      this.persistRequests += requests.length;
      this.persistTransactions += 1;
    });
  }

  /** Check one step against the log's position and queue its rows; returns the position after it. */
  private async persistStep(
    trx: Knex.Transaction,
    request: PersistRequest,
    before: LogPosition,
    rows: LogRow[],
    flush: () => Promise<void>,
  ): Promise<LogPosition> {
    let { hardState, lastIndex, lastTerm } = before;
    if (request.hardState) {
      checkHardState(hardState, request.hardState);
      hardState = request.hardState;
    }
    const snapshotIndex = this.position.snapshot?.meta.index ?? 0;
    if (request.truncateFrom !== undefined) {
      const from = request.truncateFrom;
      if (!Number.isSafeInteger(from) || from <= this.position.applied.index || from <= snapshotIndex) {
        throw new InvalidPersistError(`cannot truncate from ${from}: entries up to ${Math.max(this.position.applied.index, snapshotIndex)} are applied or snapshotted (Raft: committed entries are never removed)`);
      }
      if (from > lastIndex + 1) throw new InvalidPersistError(`cannot truncate from ${from}: the log ends at ${lastIndex}`);
      if (from <= lastIndex) {
        await flush();
        await trx('raft_log').where('idx', '>=', from).delete();
        lastIndex = from - 1;
        lastTerm = await this.termAt(trx, lastIndex);
      }
    }
    for (const entry of request.entries) {
      if (entry.index !== lastIndex + 1) {
        throw new InvalidPersistError(`entry ${entry.index} does not follow the log's last index ${lastIndex}${request.truncateFrom === undefined ? ' (no truncateFrom given)' : ''}`);
      }
      if (!Number.isSafeInteger(entry.term) || entry.term < lastTerm) {
        throw new InvalidPersistError(`entry ${entry.index} has term ${entry.term}, lower than the previous entry's term ${lastTerm}`);
      }
      if (entry.term > hardState.term) {
        throw new InvalidPersistError(`entry ${entry.index} has term ${entry.term}, above currentTerm ${hardState.term} (persist the hard state first or in the same step)`);
      }
      const bytes = encodeEntry(entry);
      rows.push({ idx: entry.index, term: entry.term, kind: entry.kind, entry: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), crc: checksumOf(bytes) });
      lastIndex = entry.index;
      lastTerm = entry.term;
    }
    return { hardState, lastIndex, lastTerm };
  }

  private async termAt(trx: Knex.Transaction, index: Index): Promise<Term> {
    const snapshot = this.position.snapshot;
    if (index === 0) return 0;
    if (snapshot !== null && index === snapshot.meta.index) return snapshot.meta.term;
    const rows = (await trx('raft_log').select('term').where({ idx: index })) as { term: number }[];
    const row = rows[0];
    if (row === undefined) throw new CorruptStoreError(this.file, index, 'the log has a gap: this entry is missing');
    return row.term;
  }

  /** Decode a log row, checking its checksum and that it says what its columns say. */
  private verifiedEntry(row: LogRow): Entry {
    const bytes = row.entry;
    if (!Buffer.isBuffer(bytes)) throw new CorruptStoreError(this.file, row.idx, 'the entry column does not hold bytes');
    if (checksumOf(bytes) !== row.crc) throw new CorruptStoreError(this.file, row.idx, `entry checksum mismatch (crc32 ${checksumOf(bytes)}, recorded ${row.crc})`);
    let entry: Entry;
    try {
      entry = decodeEntry(bytes);
    } catch (err) {
      if (err instanceof EntryDecodeError) throw new CorruptStoreError(this.file, row.idx, err.message, { cause: err });
      throw err;
    }
    if (entry.index !== row.idx || entry.term !== row.term) {
      throw new CorruptStoreError(this.file, row.idx, `entry bytes say index ${entry.index} term ${entry.term}, the row says index ${row.idx} term ${row.term}`);
    }
    return entry;
  }

  /** Run `op` after every earlier write has settled, under guard. */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.guard(op));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Refuse when failed; turn SQLite corruption codes into CorruptStoreError and remember it. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    try {
      return await op();
    } catch (err) {
      if (err instanceof CorruptStoreError) throw this.fail(err);
      if (isCorruptionError(err)) throw this.fail(new CorruptStoreError(this.file, null, `SQLite reports ${(err as Error).message}`, { cause: err }));
      throw err;
    }
  }

  private fail(err: CorruptStoreError): CorruptStoreError {
    if (err.file === this.file && !this.failure) {
      this.failure = err;
      this.logger.error({ file: err.file, index: err.index }, err.message);
      this.rejectPending(err);
    }
    return err;
  }

  private rejectPending(err: Error): void {
    for (const p of this.pendingPersists.splice(0)) p.reject(err);
  }
}

// ---- module helpers ----

/** Prefix of snapshot files still being written; removed on open. */
const TEMPORARY_PREFIX = '.tmp-';

interface PendingPersist {
  readonly request: PersistRequest;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface LogPosition {
  readonly hardState: HardState;
  readonly lastIndex: Index;
  readonly lastTerm: Term;
}

interface Position extends LogPosition {
  readonly applied: AppliedState;
  readonly snapshot: StoredSnapshot | null;
}

interface LogRow {
  idx: number;
  term: number;
  kind?: string;
  entry: Buffer;
  crc: number;
}

const configurationSchema = z.object({ voters: z.array(ReplicaIdSchema), learners: z.array(ReplicaIdSchema) });
const optionsSchema = z.object({
  dataDir: z.string().min(1),
  replicaId: ReplicaIdSchema,
  initialConfig: configurationSchema.optional(),
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
  const rows = (await knex.raw('PRAGMA quick_check')) as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok');
  if (problems.length > 0 || rows.length === 0) {
    throw new CorruptStoreError(file, null, `PRAGMA quick_check failed: ${problems.slice(0, 5).join('; ')}`);
  }
}

async function readPosition(knex: Knex, file: string, replicaId: ReplicaId): Promise<{ position: Position; fresh: boolean }> {
  const identity = (await knex('raft_identity').select('replica_id').where({ id: 1 })) as { replica_id: string }[];
  const owner = identity[0]?.replica_id;
  const fresh = owner === undefined;
  if (owner === undefined) await knex('raft_identity').insert({ id: 1, replica_id: replicaId });
  else if (owner !== replicaId) throw new StoreConfigError(`store ${file} belongs to replica ${owner}, not ${replicaId}: a log is never reused under another name`);

  const hard = ((await knex('raft_hard_state').select('term', 'voted_for').where({ id: 1 })) as { term: number; voted_for: string | null }[])[0];
  const applied = ((await knex('raft_applied').select('applied_index', 'applied_term', 'digest', 'config').where({ id: 1 })) as {
    applied_index: number;
    applied_term: number;
    digest: string;
    config: string | null;
  }[])[0];
  if (hard === undefined || applied === undefined) throw new CorruptStoreError(file, null, 'the hard state or applied state row is missing');
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
  const lastRow = ((await knex('raft_log').select('idx', 'term').orderBy('idx', 'desc').limit(1)) as { idx: number; term: number }[])[0];
  const position: Position = {
    hardState: { term: hard.term, votedFor: hard.voted_for },
    applied: {
      index: applied.applied_index,
      term: applied.applied_term,
      digest: applied.digest,
      config: applied.config === null ? null : (JSON.parse(applied.config) as Configuration),
    },
    snapshot,
    lastIndex: lastRow?.idx ?? snapshot?.meta.index ?? 0,
    lastTerm: lastRow?.term ?? snapshot?.meta.term ?? 0,
  };
  return { position, fresh };
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

