/**
 * A single-replica chat harness for tests: the full write path (parse →
 * prepare → encode → decode → apply in a transaction) against a real SQLite
 * through Knex, with a log of the committed command bytes so the same
 * sequence can be replayed into another database.
 */
import { createHash } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import {
  AlreadyApplied,
  applyCommand,
  decodeCommand,
  encodeCommand,
  executeRead,
  isWrite,
  parseRequest,
  prepareCommand,
  ProtocolError,
  type Delivery,
  type ScryptCost,
} from '../../actors/chat/index.ts';
import { CHAT_TABLES, migrateChat } from '../../storage/chat/schema.ts';

/** Cheap scrypt for tests (the production cost is exercised once in chat-passwords.test.ts). */
export const TEST_COST: ScryptCost = { n: 2 ** 10, r: 8, p: 1 };
export const T0 = 1_800_000_000_000;

export type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: { code: string; message: string } };

export interface Committed {
  readonly index: number;
  readonly bytes: Uint8Array;
}

export async function openDb(): Promise<Knex> {
  const db = knexFactory({
    client: 'sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
    // One connection that never idles out: an in-memory database lives only as long as its connection.
    pool: { min: 1, max: 1, idleTimeoutMillis: 3_600_000 },
  });
  await migrateChat(db);
  return db;
}

export class Harness {
  now = T0;
  index = 0;
  readonly log: Committed[] = [];
  readonly deliveries: Delivery[][] = [];
  private counter = 0;

  constructor(readonly db: Knex) {}

  static async open(): Promise<Harness> {
    return new Harness(await openDb());
  }

  /** Deterministic "random" bytes, so two harnesses given the same calls propose the same bytes. */
  readonly randomBytes = (n: number): Buffer => {
    const out = Buffer.alloc(n);
    for (let off = 0; off < n; off += 32) {
      createHash('sha256').update(`seed-${this.counter++}`).digest().copy(out, off);
    }
    return out;
  };

  /** One client request, answered as the leader would answer it. */
  async call(op: string, body: unknown): Promise<Reply> {
    const request = parseRequest(op, body);
    if (request instanceof ProtocolError) return request.toReply();
    if (!isWrite(request)) {
      const reply = await executeRead(this.db, request, this.now);
      return (reply instanceof ProtocolError ? reply.toReply() : reply) as Reply;
    }
    const prepared = await this.prepare(op, body);
    if (prepared instanceof ProtocolError) return prepared.toReply();
    if (prepared instanceof AlreadyApplied) return prepared.reply as Reply;
    return this.commit(prepared);
  }

  /** Prepare only (to interleave two prepares before their applies). */
  async prepare(op: string, body: unknown) {
    const request = parseRequest(op, body);
    if (request instanceof ProtocolError || !isWrite(request)) throw new Error(`not a valid write: ${op}`);
    return prepareCommand(request, { db: this.db, now: this.now, randomBytes: this.randomBytes, passwordCost: TEST_COST });
  }

  /** Propose + commit + apply a prepared command. */
  async commit(prepared: Awaited<ReturnType<Harness['prepare']>>): Promise<Reply> {
    if (prepared instanceof ProtocolError || prepared instanceof AlreadyApplied) throw new Error('nothing to commit');
    const bytes = encodeCommand(prepared.command);
    this.index += 1;
    const index = this.index;
    this.log.push({ index, bytes });
    const result = await this.db.transaction((trx) => applyCommand(trx, decodeCommand(bytes), { index, term: 1 }));
    this.deliveries.push([...result.deliveries]);
    if (result.reply instanceof ProtocolError) return result.reply.toReply() as Reply;
    // As the runtime does: the proposer adds what never entered the log (the new session's token).
    return { ...result.reply, ...(prepared.reveal ?? {}) } as Reply;
  }

  /** A committed entry that is not a chat command (a leader's no-op): it uses up a log index. */
  noop(): void {
    this.index += 1;
  }

  async user(username: string, password = 'password-of-' + username): Promise<string> {
    const reg = await this.call('register', { username, password });
    if (!reg.ok) throw new Error(`register ${username}: ${reg.error.message}`);
    const login = await this.call('login', { username, password });
    if (!login.ok) throw new Error(`login ${username}: ${login.error.message}`);
    return login['token'] as string;
  }

  async ok(op: string, body: unknown): Promise<Record<string, unknown>> {
    const reply = await this.call(op, body);
    if (!reply.ok) throw new Error(`${op}: ${reply.error.code}: ${reply.error.message}`);
    return reply;
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}

/** Apply a committed log to a database (another replica's view). */
export async function replay(db: Knex, log: readonly Committed[]): Promise<void> {
  for (const { index, bytes } of log) {
    await db.transaction((trx) => applyCommand(trx, decodeCommand(bytes), { index, term: 1 }));
  }
}

/** Every chat table's rows in a canonical order, blobs as hex. */
export async function dumpTables(db: Knex): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of CHAT_TABLES) {
    const rows = (await db.raw(`SELECT * FROM ${table} ORDER BY 1, 2`)) as Record<string, unknown>[];
    out[table] = rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v])));
  }
  return out;
}
