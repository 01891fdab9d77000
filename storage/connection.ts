/**
 * Opening SQLite through Knex with the durability settings the store relies on.
 */
import { pathToFileURL } from 'node:url';
import knexFactory from 'knex';
import sqlite3 from 'sqlite3';
import type { Knex } from 'knex';
import { ACQUIRE_CONNECTION_TIMEOUT_MS, BUSY_TIMEOUT_MS, WAL_SIZE_LIMIT_BYTES, WRITER_CACHE_KIB } from './limits.ts';

/** Where Knex's own messages go. */
export interface KnexLogSink {
  warn(obj: object, msg: string): void;
}

/** The raw node-sqlite3 connection Knex hands to pool hooks. */
interface RawSqliteConnection {
  configure(option: 'busyTimeout', value: number): void;
  exec(sql: string, callback: (err: Error | null) => void): void;
}

/**
 * A Knex instance over `filename`: one connection for the writer, READER_CONNECTIONS for reads.
 * On every connection: WAL journal (a reader sees a consistent view while the
 * writer appends), synchronous=NORMAL, foreign keys on, and a busy timeout.
 * NORMAL: a commit reaches the disk at the next checkpoint, not at once. The
 * Raft log (storage/wal) is the durability point: whatever applied state a
 * crash takes from this database is applied again from the log, which keeps
 * every entry above the database's durable appliedIndex (docs/storage.md,
 * "Durability"). The few commits that must be durable at once (snapshot
 * records, installs) switch to FULL around themselves. A `read-only` handle skips the
 * journal settings (the writer owns them) and sets query_only.
 */
export function openSqlite(filename: string, access: 'read-write' | 'read-only', logger: KnexLogSink): Knex {
  // A read-only handle refuses writes at the SQL level, so a read path can never change replicated state.
  const pragmas =
    access === 'read-write'
      ? `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -${WRITER_CACHE_KIB}; PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES};`
      : 'PRAGMA foreign_keys = ON; PRAGMA query_only = ON;';
  return openWithPragmas({ filename }, pragmas, logger, access === 'read-write' ? 1 : READER_CONNECTIONS);
}

/**
 * Read-only connections per replica. With one, a leader's prepare queued behind live-frame
 * lookups and client reads (measured: 33 ms per prepare at 16 senders); WAL lets readers run
 * side by side, and libuv's 4 threads leave room for two beside the writer and the log's fsync.
 */
export const READER_CONNECTIONS = 2;

/**
 * A Knex over a NEW snapshot file `target` (read-write: the snapshot is
 * written into it), with the replica's database `source` attached read-only
 * as `replica`. SQLite opens the attached file with mode=ro, so the copy can
 * never change the replica's state, and one transaction on this connection
 * reads `replica` as one consistent view (WAL) while the writer goes on.
 */
export function openSnapshotWriter(target: string, source: string, logger: KnexLogSink): Knex {
  // ATTACH cannot run inside a transaction; running it once per (the only) connection keeps it outside any.
  const attach = `ATTACH DATABASE '${`${pathToFileURL(source).href}?mode=ro`.replaceAll("'", "''")}' AS replica;`;
  return openWithPragmas({ filename: target, flags: ['OPEN_URI'] }, attach, logger);
}

function openWithPragmas(connection: { filename: string; flags?: string[] }, setup: string, logger: KnexLogSink, connections = 1): Knex {
  return knexFactory({
    client: 'sqlite3',
    connection,
    useNullAsDefault: true,
    // Knex's own warnings go to the store's logger, not to the console.
    log: {
      warn: (message: unknown) => logger.warn({ knex: String(message) }, 'knex warning'),
      error: (message: unknown) => logger.warn({ knex: String(message) }, 'knex error'),
      deprecate: (message: unknown) => logger.warn({ knex: String(message) }, 'knex deprecation'),
      debug: () => undefined,
    },
    acquireConnectionTimeout: ACQUIRE_CONNECTION_TIMEOUT_MS,
    pool: {
      min: 1,
      max: connections,
      afterCreate: (conn: RawSqliteConnection, done: (err: Error | null, conn: RawSqliteConnection) => void) => {
        conn.configure('busyTimeout', BUSY_TIMEOUT_MS);
        conn.exec(setup, (err) => done(err, conn));
      },
    },
  });
}

export type ReadConnection = sqlite3.Database;

/**
 * One read-only connection straight on the driver, for the few reads on every
 * send's path (the leader's prepare, the live-frame lookup), run as prepared
 * statements (prepared.ts). Outside Knex's pool because a pool may close a
 * connection on its own, and SQLite will not close one that still holds
 * prepared statements: the store finalizes them, then closes this.
 */
export function openReadConnection(filename: string, logger: KnexLogSink): ReadConnection {
  // The driver queues everything until the open completes; an open that failed fails every statement with its error.
  const db = new sqlite3.Database(filename, sqlite3.OPEN_READWRITE, (err) => {
    if (err) logger.warn({ err: err.message }, 'the store\'s read connection did not open');
  });
  db.configure('busyTimeout', BUSY_TIMEOUT_MS);
  db.exec('PRAGMA foreign_keys = ON; PRAGMA query_only = ON;', (err) => {
    if (err) logger.warn({ err: err.message }, 'the store\'s read connection was not set up');
  });
  return db;
}

/** SQLite result codes that mean the file is damaged or is not a database. */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB';
}
