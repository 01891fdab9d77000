/**
 * The chat tables: the replicated state machine's state, one SQLite database
 * per replica, written only by `applyCommand` (actors/chat/apply.ts) inside
 * the transaction that advances appliedIndex.
 *
 * Every query path has an index (see docs/chat.md, "Tables"), so a database
 * with 1,000,000 messages answers history, conversations and unread counts
 * without scanning.
 */
import type { Knex } from 'knex';

/** Run the chat migrations (idempotent). Uses its own bookkeeping table so it never collides with storage's own migrations. */
export async function migrateChat(knex: Knex): Promise<void> {
  await knex.migrate.latest({ migrationSource: chatMigrationSource, tableName: CHAT_MIGRATIONS_TABLE });
}

/** The tables this module owns, in dependency-free order (for snapshots, dumps and determinism checks). */
export const CHAT_TABLES = ['accounts', 'sessions', 'messages', 'conversations', 'send_requests'] as const;
export type ChatTable = (typeof CHAT_TABLES)[number];

/** Knex's migration bookkeeping for the chat tables (separate from storage's, so neither source sees the other's names as "missing"). */
export const CHAT_MIGRATIONS_TABLE = 'chat_migrations';

export interface ChatMigration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * v1: all chat tables.
 *
 * accounts       one row per live account; username is the case-sensitive key
 *                (SQLite's default BINARY collation), so ORDER BY username and
 *                GLOB prefix ranges use the primary key.
 * sessions       one row per live session; only sha256(token) is stored.
 * messages       one row per message; id = the Raft log index of the entry that
 *                created it. (pair_lo, pair_hi) is the conversation's key with the
 *                two usernames sorted, so history is one ordered range scan.
 * conversations  one row per (owner, peer) with at least one message visible to
 *                owner: last_id (newest visible) and unread, kept incrementally.
 * send_requests  exactly-once sends: (sender, request_id) -> message_id.
 */
const chatTablesV1: ChatMigration = {
  name: '0001_chat_tables',
  async up(knex) {
    await knex.schema.createTable('accounts', (t) => {
      t.string('username').notNullable().primary();
      // scrypt output and its parameters, stored with the hash so the cost can rise later without breaking old accounts.
      t.binary('password_salt').notNullable();
      t.binary('password_hash').notNullable();
      t.integer('scrypt_n').notNullable();
      t.integer('scrypt_r').notNullable();
      t.integer('scrypt_p').notNullable();
      // The Raft index of the register entry: an account's generation. A login or
      // deleteAccount prepared against one generation must not apply to a re-created account.
      t.integer('created_index').notNullable();
      t.bigInteger('created_ts').notNullable();
    });

    await knex.schema.createTable('sessions', (t) => {
      t.string('token_hash').notNullable().primary();
      t.string('username').notNullable();
      t.bigInteger('created_ts').notNullable();
      t.bigInteger('expires_ts').notNullable();
      // deleteAccount revokes every session of the account; login purges the account's expired ones.
      t.index(['username'], 'sessions_by_username');
    });

    await knex.schema.createTable('messages', (t) => {
      // INTEGER PRIMARY KEY: an alias of SQLite's rowid, so lookups by id are direct.
      t.integer('id').notNullable().primary();
      t.string('sender').notNullable();
      t.string('recipient').notNullable();
      t.string('pair_lo').notNullable();
      t.string('pair_hi').notNullable();
      t.text('text').notNullable();
      t.bigInteger('ts').notNullable();
      t.integer('read').notNullable().defaultTo(0);
      t.integer('hidden_by_sender').notNullable().defaultTo(0);
      t.integer('hidden_by_recipient').notNullable().defaultTo(0);
      // history: one conversation, ordered by id, in either direction.
      t.index(['pair_lo', 'pair_hi', 'id'], 'messages_by_pair');
    });
    // markRead: only unread rows are indexed, so the index stays small however long the history grows.
    await knex.raw('CREATE INDEX messages_unread ON messages (recipient, sender, id) WHERE read = 0');

    await knex.schema.createTable('conversations', (t) => {
      t.string('owner').notNullable();
      t.string('peer').notNullable();
      t.integer('last_id').notNullable();
      t.integer('unread').notNullable().defaultTo(0);
      t.primary(['owner', 'peer']);
      // conversations: newest first for one owner.
      t.index(['owner', 'last_id'], 'conversations_by_owner_last');
      // deleteAccount: every conversation that names the account as peer.
      t.index(['peer'], 'conversations_by_peer');
    });

    await knex.schema.createTable('send_requests', (t) => {
      t.string('sender').notNullable();
      t.string('request_id').notNullable();
      t.integer('message_id').notNullable();
      t.primary(['sender', 'request_id']);
    });
  },
  async down(knex) {
    for (const table of [...CHAT_TABLES].reverse()) await knex.schema.dropTableIfExists(table);
  },
};

/**
 * v2: a send applies as ONE statement (one node-sqlite3 round trip, which costs 1–2.5 ms
 * on the loaded shared machine: see docs/notebook/chat.md). Inserting a message row now
 * also, in the same statement, through a trigger:
 *  - upserts both sides' conversations rows (lastId; one more unread for the recipient
 *    when the row is unread), and
 *  - records (sender, request_id) → id in send_requests when request_id is set.
 * Rows inserted without request_id (bulk loads, benchmarks) skip the send_requests part.
 * Snapshot restore drops triggers around its copy (storage), so restoring rows does not
 * count them twice.
 */
const sendInOneStatement: ChatMigration = {
  name: '0002_send_in_one_statement',
  async up(knex) {
    await knex.schema.alterTable('messages', (t) => {
      t.string('request_id').nullable();
    });
    await knex.raw(`CREATE TRIGGER messages_after_insert AFTER INSERT ON messages
      BEGIN
        INSERT INTO conversations (owner, peer, last_id, unread)
          VALUES (NEW.sender, NEW.recipient, NEW.id, 0),
                 (NEW.recipient, NEW.sender, NEW.id, CASE WHEN NEW.read = 0 AND NEW.hidden_by_recipient = 0 THEN 1 ELSE 0 END)
          ON CONFLICT (owner, peer) DO UPDATE
            SET last_id = MAX(conversations.last_id, excluded.last_id),
                unread = conversations.unread + excluded.unread;
        INSERT INTO send_requests (sender, request_id, message_id)
          SELECT NEW.sender, NEW.request_id, NEW.id WHERE NEW.request_id IS NOT NULL;
      END`);
  },
  async down(knex) {
    await knex.raw('DROP TRIGGER IF EXISTS messages_after_insert');
    await knex.schema.alterTable('messages', (t) => {
      t.dropColumn('request_id');
    });
  },
};

/**
 * v3: markRead applies as ONE statement. Marking a message read (read 0 → 1) that the
 * recipient still sees takes one off the recipient's unread count, in the same statement.
 */
const markReadInOneStatement: ChatMigration = {
  name: '0003_mark_read_in_one_statement',
  async up(knex) {
    await knex.raw(`CREATE TRIGGER messages_after_read AFTER UPDATE OF read ON messages
      WHEN OLD.read = 0 AND NEW.read = 1 AND NEW.hidden_by_recipient = 0
      BEGIN
        UPDATE conversations SET unread = unread - 1 WHERE owner = NEW.recipient AND peer = NEW.sender;
      END`);
  },
  async down(knex) {
    await knex.raw('DROP TRIGGER IF EXISTS messages_after_read');
  },
};

/** v4: sessions by expiry, so each login can sweep a bounded number of expired sessions of any account. */
const sessionsByExpiry: ChatMigration = {
  name: '0004_sessions_by_expiry',
  async up(knex) {
    await knex.schema.alterTable('sessions', (t) => {
      t.index(['expires_ts', 'token_hash'], 'sessions_by_expiry');
    });
  },
  async down(knex) {
    await knex.schema.alterTable('sessions', (t) => {
      t.dropIndex(['expires_ts', 'token_hash'], 'sessions_by_expiry');
    });
  },
};

/**
 * v5: a session's `liveKey` (docs/protocol.md §2.5), the X25519 public key its live frames are
 * sealed to, stored beside the token hash from the login entry that carried it. Public, so it
 * may sit in the table, the log and snapshots. Null for sessions that did not send one, and for
 * every session older than this migration: those keep getting clear frames, as before.
 */
const sessionsLiveKey: ChatMigration = {
  name: '0005_sessions_live_key',
  async up(knex) {
    await knex.schema.alterTable('sessions', (t) => {
      t.string('live_key').nullable();
    });
  },
  async down(knex) {
    await knex.schema.alterTable('sessions', (t) => {
      t.dropColumn('live_key');
    });
  },
};

/** Every chat migration, oldest first. Append only: a released migration never changes. */
export const CHAT_MIGRATIONS: readonly ChatMigration[] = [chatTablesV1, sendInOneStatement, markReadInOneStatement, sessionsByExpiry, sessionsLiveKey];

/** A Knex MigrationSource over CHAT_MIGRATIONS, for `knex.migrate.latest({ migrationSource })`. */
export const chatMigrationSource: Knex.MigrationSource<ChatMigration> = {
  getMigrations: async () => [...CHAT_MIGRATIONS],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => ({ up: m.up, down: m.down }),
};
