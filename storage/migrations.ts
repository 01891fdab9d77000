/**
 * Schema migrations, listed in code and run on open through a Knex
 * `migrationSource` (no filesystem globbing). Storage's own migrations create
 * the Raft tables; callers pass further migrations (e.g. the chat tables from
 * storage/chat) so storage's core never depends on them.
 */
import type { Knex } from 'knex';

/** One migration. `name` is recorded in knex_migrations and must never change once shipped. */
export interface Migration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down?(knex: Knex): Promise<void>;
}

/** Tables that hold Raft bookkeeping (not state-machine data) start with this prefix. */
export const RAFT_TABLE_PREFIX = 'raft_';

/**
 * Tables Knex keeps for its migrations (`knex_migrations`, and the same pair
 * under another `tableName`, e.g. storage/chat's `chat_migrations`): schema
 * bookkeeping of this replica, never part of a snapshot.
 */
export const MIGRATION_TABLE_PATTERN = /_migrations(_lock)?$/;

/** The storage layer's own migrations, in order. */
export const storageMigrations: readonly Migration[] = [
  {
    name: 'storage_0001_raft_tables',
    async up(knex) {
      // Which replica this log belongs to: a log is never reused under another name.
      await knex.schema.createTable('raft_identity', (t) => {
        t.integer('id').primary();
        t.text('replica_id').notNullable();
      });

      // Raft Figure 2 "persistent state": currentTerm and votedFor. A single row.
      await knex.schema.createTable('raft_hard_state', (t) => {
        t.integer('id').primary();
        t.integer('term').notNullable();
        t.text('voted_for').nullable();
      });
      await knex.raw('INSERT INTO raft_hard_state (id, term, voted_for) VALUES (1, 0, NULL)');

      // The log after the latest snapshot. `entry` is the canonical encoding
      // (entry-codec.ts); `crc` its CRC-32, verified on every read.
      await knex.schema.createTable('raft_log', (t) => {
        t.integer('idx').primary();
        t.integer('term').notNullable();
        t.text('kind').notNullable();
        t.binary('entry').notNullable();
        t.integer('crc').notNullable();
      });

      // How far the state machine has applied, the running digest at that
      // point, and the latest configuration applied (null: none applied yet).
      await knex.schema.createTable('raft_applied', (t) => {
        t.integer('id').primary();
        t.integer('applied_index').notNullable();
        t.integer('applied_term').notNullable();
        t.text('digest').notNullable();
        t.text('config').nullable();
        t.integer('config_index').notNullable();
      });
      await knex.raw(
        "INSERT INTO raft_applied (id, applied_index, applied_term, digest, config, config_index) VALUES (1, 0, 0, ?, NULL, 0)",
        ['00'.repeat(32)],
      );

      // The latest durable snapshot (at most one row).
      await knex.schema.createTable('raft_snapshot', (t) => {
        t.integer('id').primary();
        t.integer('idx').notNullable();
        t.integer('term').notNullable();
        t.text('config').notNullable();
        t.text('digest').notNullable();
        t.text('file').notNullable();
        t.text('file_sha256').notNullable();
        t.integer('file_bytes').notNullable();
      });
    },
    async down(knex) {
      for (const table of ['raft_snapshot', 'raft_applied', 'raft_log', 'raft_hard_state', 'raft_identity']) {
        await knex.schema.dropTableIfExists(table);
      }
    },
  },
  {
    name: 'storage_0002_data_identity',
    async up(knex) {
      // Which directory this is (storage/data-identity.ts); NULL until the next open gives it one.
      await knex.schema.alterTable('raft_identity', (t) => {
        t.text('data_id').nullable();
      });
    },
  },
];

/** A Knex migrationSource serving `migrations` in the given order. */
export function migrationSourceOf(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: () => Promise.resolve([...migrations]),
    getMigrationName: (migration) => migration.name,
    getMigration: (migration) =>
      Promise.resolve({
        up: (knex: Knex) => migration.up(knex),
        down: (knex: Knex) => (migration.down ? migration.down(knex) : Promise.reject(new Error(`migration ${migration.name} has no down`))),
      }),
  };
}

/** True for tables that belong to the replicated state machine (everything but Raft and Knex bookkeeping). */
export function isStateMachineTable(name: string): boolean {
  return !name.startsWith(RAFT_TABLE_PREFIX) && !MIGRATION_TABLE_PATTERN.test(name) && !name.startsWith('sqlite_');
}
