/**
 * Statements the store runs for every applied entry, prepared once on the
 * writer connection and run straight on the sqlite3 driver.
 *
 * Why: through Knex every statement cost about 0.2 ms of the replica's main
 * thread (query building, the pool, and a `new Statement` per call, i.e. a
 * parse on SQLite's side and one more thread-pool round trip), and an apply
 * transaction is four of them. A cached statement is one round trip and no
 * JavaScript beyond binding its values (docs/notebook.md, Issue 10,
 * "Fewer statements per apply").
 *
 * Only the store creates these, for its own writer connection and its read
 * connection (the leader's prepare of a send, the live-frame lookup), and
 * finalizes them before closing them (SQLite refuses to close a connection
 * with statements left). The state machine reaches them through
 * `preparedRows`, which falls back to Knex for any other database handle
 * (tests' own databases), so the same SQL runs either way.
 */
import type { Knex } from 'knex';
import { MAX_PREPARED_STATEMENTS } from './limits.ts';

/** The slice of a node-sqlite3 `Database` used here. */
export interface RawConnection {
  prepare(sql: string, callback: (this: RawStatement, err: Error | null) => void): RawStatement;
}

/** The slice of a node-sqlite3 `Statement` used here. */
interface RawStatement {
  all(params: readonly unknown[], callback: (err: Error | null, rows: unknown[]) => void): unknown;
  run(params: readonly unknown[], callback: (this: { changes: number }, err: Error | null) => void): unknown;
  finalize(callback: (err: Error | null) => void): unknown;
}

/** Values bound to the hot statements (Knex would turn `undefined` into NULL; here it is a bug). */
export type Binding = string | number | null;

/** The prepared statements of one connection, by SQL text. */
export class PreparedStatements {
  private readonly connection: RawConnection;
  private readonly statements = new Map<string, Promise<RawStatement>>();

  constructor(connection: RawConnection) {
    this.connection = connection;
  }

  /** The rows `sql` returns (a SELECT, or a write with RETURNING). */
  async all<T>(sql: string, bindings: readonly Binding[]): Promise<T[]> {
    const statement = await this.statement(sql);
    try {
      return await new Promise<T[]>((resolve, reject) => {
        statement.all(checked(sql, bindings), (err, rows) => (err ? reject(err) : resolve(rows as T[])));
      });
    } catch (err) {
      await this.forget(sql);
      throw err;
    }
  }

  /** Runs a write; resolves with the number of rows it changed. */
  async run(sql: string, bindings: readonly Binding[]): Promise<number> {
    const statement = await this.statement(sql);
    try {
      return await new Promise<number>((resolve, reject) => {
        statement.run(checked(sql, bindings), function (err) {
          if (err) reject(err);
          else resolve(this.changes);
        });
      });
    } catch (err) {
      await this.forget(sql);
      throw err;
    }
  }

  /** Finalizes every statement; the connection can then be closed. */
  async finalizeAll(): Promise<void> {
    const sqls = [...this.statements.keys()];
    for (const sql of sqls) await this.forget(sql);
  }

  private statement(sql: string): Promise<RawStatement> {
    const known = this.statements.get(sql);
    if (known !== undefined) return known;
    if (this.statements.size >= MAX_PREPARED_STATEMENTS) {
      throw new Error(`more than ${MAX_PREPARED_STATEMENTS} distinct statements prepared on one connection: a statement's SQL must not vary with its values`);
    }
    const prepared = new Promise<RawStatement>((resolve, reject) => {
      const statement = this.connection.prepare(sql, (err) => (err ? reject(err) : resolve(statement)));
    });
    this.statements.set(sql, prepared);
    // A statement that did not prepare is not kept: the next call tries again (and fails the same way, loudly).
    prepared.catch(() => this.statements.delete(sql));
    return prepared;
  }

  /** Drops a statement after an error (its state in the driver is not worth trusting) or on close. */
  private async forget(sql: string): Promise<void> {
    const prepared = this.statements.get(sql);
    if (prepared === undefined) return;
    this.statements.delete(sql);
    const statement = await prepared.catch(() => null);
    if (statement !== null) await new Promise<void>((resolve) => statement.finalize(() => resolve()));
  }
}

/** The writer Knex of each open store → its connection's prepared statements; its reader Knex → those of its read connection. */
const registry = new WeakMap<Knex, PreparedStatements>();

/** The store registers its writer, and its reader, for the life of their connections. */
export function registerPrepared(db: Knex, statements: PreparedStatements): void {
  registry.set(db, statements);
}

export function unregisterPrepared(db: Knex): void {
  registry.delete(db);
}

/**
 * The rows of `sql` run on `db`: as a prepared statement when `db` is a
 * store's writer (inside its apply transaction) or its reader (on the
 * store's read connection), through Knex otherwise.
 * `sql` must be one statement whose text does not depend on the values.
 */
export async function preparedRows<T>(db: Knex, sql: string, bindings: readonly Binding[]): Promise<T[]> {
  const statements = registry.get(db);
  if (statements !== undefined) return await statements.all<T>(sql, bindings);
  return (await db.raw(sql, [...bindings])) as T[];
}

function checked(sql: string, bindings: readonly Binding[]): readonly Binding[] {
  for (const value of bindings) {
    if (value === undefined) throw new Error(`undefined bound to a prepared statement: ${sql.slice(0, 80)}`);
  }
  return bindings;
}
