/**
 * Opening SQLite through Knex with the durability settings the store relies on.
 */
import knexFactory from 'knex';
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
 * A Knex instance over `filename` with a pool of exactly one connection.
 * On every connection: WAL journal (a reader sees a consistent view while the
 * writer appends), synchronous=FULL (a commit is on disk when it resolves),
 * foreign keys on, and a busy timeout. A `read-only` handle skips the
 * journal settings (the writer owns them) and sets query_only.
 */
export function openSqlite(filename: string, access: 'read-write' | 'read-only', logger: KnexLogSink): Knex {
  // A read-only handle refuses writes at the SQL level, so a read path can never change replicated state.
  const pragmas =
    access === 'read-write'
      ? `PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -${WRITER_CACHE_KIB}; PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES};`
      : 'PRAGMA foreign_keys = ON; PRAGMA query_only = ON;';
  return knexFactory({
    client: 'sqlite3',
    connection: { filename },
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
      max: 1,
      afterCreate: (conn: RawSqliteConnection, done: (err: Error | null, conn: RawSqliteConnection) => void) => {
        conn.configure('busyTimeout', BUSY_TIMEOUT_MS);
        conn.exec(pragmas, (err) => done(err, conn));
      },
    },
  });
}

/** SQLite result codes that mean the file is damaged or is not a database. */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB';
}
