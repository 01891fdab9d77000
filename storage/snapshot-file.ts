/**
 * The snapshot file: a SQLite database holding a copy of every state-machine
 * table as of one applied index, plus one row of metadata
 * (`quorumchat_snapshot_meta`: index, term, configuration, digest).
 *
 * Written through a SEPARATE connection opened on the new file, with the
 * replica's database attached read-only, inside one transaction, so the copy
 * is a consistent view (WAL) while the writer keeps appending, nothing on that
 * connection can change the replica's state, and every statement runs on
 * libuv's thread pool, off the event loop.
 */
import type { Knex } from 'knex';
import type { Configuration, SnapshotMeta } from '../actors/raft/types.ts';
import { isDigest } from './digest.ts';
import { SnapshotError } from './errors.ts';
import { isStateMachineTable } from './migrations.ts';

/** The metadata table inside a snapshot file. */
export const SNAPSHOT_META_TABLE = 'quorumchat_snapshot_meta';

/** Version of the snapshot file's layout; a reader refuses any other. */
export const SNAPSHOT_FORMAT = 1;

/** What a snapshot file says about itself. */
export interface SnapshotFileMeta {
  readonly meta: SnapshotMeta;
  /** The applied digest at meta.index (hex). */
  readonly digest: string;
}

/**
 * Copy the state machine, as of the applied index the replica's database
 * shows, into `target`. `connection` is a Knex over the new (empty) target file
 * with the replica's database attached read-only as `replica`, pool of one
 * (connection.ts `openSnapshotWriter`). `fallbackConfig` is the configuration in
 * force when no config entry has been applied yet.
 */
export async function writeSnapshotFile(connection: Knex, fallbackConfig: Configuration | null): Promise<SnapshotFileMeta> {
  return await connection.transaction(async (trx) => {
    // The first read fixes the transaction's view: every copy below sees the
    // state machine exactly as of this applied index.
    const applied = (await trx.raw('SELECT applied_index, applied_term, digest, config FROM replica.raft_applied WHERE id = 1')) as AppliedRow[];
    const row = applied[0];
    if (row === undefined) throw new SnapshotError('raft_applied has no row');
    if (row.applied_index === 0) throw new SnapshotError('nothing has been applied yet: there is nothing to snapshot');
    const config = row.config === null ? fallbackConfig : (JSON.parse(row.config) as Configuration);
    if (config === null) {
      throw new SnapshotError('no configuration entry has been applied and no initialConfig was given: the snapshot would not know its configuration');
    }
    const tables = await stateMachineTables(trx, 'replica');
    for (const table of tables) {
      await trx.raw(`CREATE TABLE main.${quoteIdent(table)} AS SELECT * FROM replica.${quoteIdent(table)}`);
    }
    const meta: SnapshotMeta = { index: row.applied_index, term: row.applied_term, config };
    await trx.raw(
      `CREATE TABLE main.${SNAPSHOT_META_TABLE} (format INTEGER NOT NULL, idx INTEGER NOT NULL, term INTEGER NOT NULL, config TEXT NOT NULL, digest TEXT NOT NULL, tables TEXT NOT NULL)`,
    );
    await trx.raw(`INSERT INTO main.${SNAPSHOT_META_TABLE} (format, idx, term, config, digest, tables) VALUES (?, ?, ?, ?, ?, ?)`, [
      SNAPSHOT_FORMAT,
      meta.index,
      meta.term,
      JSON.stringify(config),
      row.digest,
      JSON.stringify(tables),
    ]);
    return { meta, digest: row.digest };
  });
}

/** Read and check the metadata of a snapshot file attached as `snap`. */
export async function readAttachedSnapshotMeta(db: Knex | Knex.Transaction): Promise<SnapshotFileMeta> {
  const rows = (await db.raw(`SELECT format, idx, term, config, digest FROM snap.${SNAPSHOT_META_TABLE}`)) as MetaRow[];
  const row = rows[0];
  if (rows.length !== 1 || row === undefined) throw new SnapshotError(`snapshot file has ${rows.length} metadata rows, expected 1`);
  if (row.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`snapshot file format ${row.format}, this build reads ${SNAPSHOT_FORMAT}`);
  if (!isDigest(row.digest)) throw new SnapshotError('snapshot file holds a malformed digest');
  return { meta: { index: row.idx, term: row.term, config: JSON.parse(row.config) as Configuration }, digest: row.digest };
}

/**
 * Inside `trx`, replace every state-machine table of `main` with the rows of
 * the snapshot attached as `snap`. A table of the snapshot that `main` lacks
 * is an error (the two run different schemas); a table of `main` the snapshot
 * lacks ends up empty.
 */
export async function restoreAttachedSnapshot(trx: Knex.Transaction): Promise<void> {
  // Rows are deleted and re-inserted table by table; foreign keys are checked once, at commit.
  await trx.raw('PRAGMA defer_foreign_keys = ON');
  const mainTables = await stateMachineTables(trx, 'main');
  const snapTables = (await stateMachineTables(trx, 'snap')).filter((name) => name !== SNAPSHOT_META_TABLE);
  const missing = snapTables.filter((name) => !mainTables.includes(name));
  if (missing.length > 0) throw new SnapshotError(`snapshot holds tables this replica's schema lacks: ${missing.join(', ')}`);
  // Triggers must not fire on restored rows (their effects are already in the snapshot), and
  // building an index once over sorted keys is far cheaper than a million random B-tree inserts:
  // drop both, copy the rows, re-create them, all inside the transaction (SQLite DDL is transactional).
  const schemaObjects = (await trx.raw(
    `SELECT type, name, sql FROM main.sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL AND tbl_name IN (${mainTables.map(() => '?').join(', ') || "''"})`,
    mainTables,
  )) as { type: 'index' | 'trigger'; name: string; sql: string }[];
  for (const object of schemaObjects) await trx.raw(`DROP ${object.type === 'index' ? 'INDEX' : 'TRIGGER'} main.${quoteIdent(object.name)}`);
  for (const table of mainTables) await trx.raw(`DELETE FROM main.${quoteIdent(table)}`);
  for (const table of snapTables) {
    const columns = ((await trx.raw(`PRAGMA snap.table_info(${quoteIdent(table)})`)) as { name: string }[]).map((c) => quoteIdent(c.name));
    const list = columns.join(', ');
    await trx.raw(`INSERT INTO main.${quoteIdent(table)} (${list}) SELECT ${list} FROM snap.${quoteIdent(table)}`);
  }
  for (const object of schemaObjects) await trx.raw(object.sql);
}

/** The state-machine tables of schema `schema`, sorted by name. Virtual tables are refused: their shadow tables cannot be copied row by row. */
export async function stateMachineTables(db: Knex | Knex.Transaction, schema: 'main' | 'snap' | 'replica'): Promise<string[]> {
  const rows = (await db.raw(`SELECT name, sql FROM ${schema}.sqlite_master WHERE type = 'table' ORDER BY name`)) as { name: string; sql: string | null }[];
  const virtual = rows.filter((r) => /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(r.sql ?? ''));
  if (virtual.length > 0) {
    throw new SnapshotError(`virtual tables cannot be snapshotted row by row: ${virtual.map((r) => r.name).join(', ')}`);
  }
  return rows.map((r) => r.name).filter(isStateMachineTable);
}

/** Quote an SQL identifier (table or column name). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

interface AppliedRow {
  applied_index: number;
  applied_term: number;
  digest: string;
  config: string | null;
}

interface MetaRow {
  format: number;
  idx: number;
  term: number;
  config: string;
  digest: string;
}
