/**
 * Query speed of the chat tables at scale: fills a temp SQLite file with
 * MESSAGES messages (bulk rows, then the newest APPLIED through applyCommand)
 * and prints how long each read path takes. Prints figures; asserts nothing.
 *
 *   node --import tsx test/chat/bench.ts [messages]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { applyCommand, executeRead, hashToken, parseRequest, ProtocolError, type ReadRequest } from '../../actors/chat/index.ts';
import { migrateChat } from '../../storage/chat/schema.ts';
import { pairOf, type MessageRow } from '../../actors/chat/model.ts';

const MESSAGES = Number(process.argv[2] ?? 1_000_000);
/** 100 users, every one talking to every other: 4,950 conversations. */
const USERS = 100;
/** Rows per bulk-load transaction. */
const BATCH = 50_000;
/** The newest messages go through applyCommand, in transactions of APPLY_BATCH (a replica's apply batch). */
const APPLIED = 10_000;
const APPLY_BATCH = 100;
const T0 = 1_800_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dir, 'chat.sqlite') }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
try {
  await migrateChat(db);
  await db.raw('PRAGMA journal_mode = WAL');
  await db.raw('PRAGMA synchronous = NORMAL');
  const names = Array.from({ length: USERS }, (_, i) => `user${String(i).padStart(3, '0')}`);
  await db.transaction(async (trx) => {
    for (const [i, username] of names.entries()) {
      await trx('accounts').insert({ username, password_salt: Buffer.alloc(16), password_hash: Buffer.alloc(32), scrypt_n: 2, scrypt_r: 1, scrypt_p: 1, created_index: i + 1, created_ts: T0 });
      await trx('sessions').insert({ token_hash: hashToken(`token-${username}`), username, created_ts: T0, expires_ts: T0 * 2 });
    }
  });
  // The hot pair: user000 ↔ user001 gets a tenth of all messages (both directions), the rest spread over every pair.
  const messageAt = (sent: number) => {
    const hot = sent % 10 === 0;
    const a = hot ? 0 : sent % USERS;
    const b = hot ? 1 : (a + 1 + ((sent * 7) % (USERS - 1))) % USERS;
    const forward = (hot ? sent / 10 : sent) % 2 === 0;
    return forward ? { from: names[a]!, to: names[b]! } : { from: names[b]!, to: names[a]! };
  };
  // Bulk-load all but the last APPLIED messages as rows (schema v2's trigger keeps the conversations rows,
  // as apply would); the last APPLIED go through applyCommand, which is what we time.
  const bulk = Math.max(0, MESSAGES - APPLIED);
  const loadStart = performance.now();
  for (let sent = 0; sent < bulk; sent += BATCH) {
    const rows: MessageRow[] = [];
    for (let k = sent; k < Math.min(bulk, sent + BATCH); k++) {
      const { from, to } = messageAt(k);
      rows.push({ id: USERS + 1 + k, sender: from, recipient: to, ...pairOf(from, to), text: `message ${k}`, ts: T0 + k, read: 0, hidden_by_sender: 0, hidden_by_recipient: 0 });
    }
    await db.transaction(async (trx) => {
      // SQLite's default limit is 32,766 bound variables per statement: 10 columns × 500 rows stays under it.
      for (let i = 0; i < rows.length; i += 500) await trx('messages').insert(rows.slice(i, i + 500));
    });
  }
  console.log(`bulk-loaded ${bulk.toLocaleString('en-US')} messages in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);
  let index = USERS + bulk;
  const applyStart = performance.now();
  for (let sent = bulk; sent < MESSAGES; ) {
    await db.transaction(async (trx) => {
      for (let k = 0; k < APPLY_BATCH && sent < MESSAGES; k++, sent++) {
        index += 1;
        const { from, to } = messageAt(sent);
        await applyCommand(trx, { type: 'send', ts: T0 + sent, username: from, tokenHash: hashToken(`token-${from}`), to, text: `message ${sent}`, requestId: `r${sent}` }, { index, term: 1 });
      }
    });
  }
  const applyMs = performance.now() - applyStart;
  const applied = MESSAGES - bulk;
  console.log(`applied ${applied.toLocaleString('en-US')} sends through applyCommand in ${(applyMs / 1000).toFixed(1)} s: ${Math.round(applied / (applyMs / 1000)).toLocaleString('en-US')} sends/s (transactions of ${APPLY_BATCH})`);

  const time = async (label: string, op: string, body: object, runs = 50) => {
    const request = parseRequest(op, { token: 'token-user000', ...body });
    if (request instanceof ProtocolError) throw request;
    let reply: unknown;
    const start = performance.now();
    for (let i = 0; i < runs; i++) reply = await executeRead(db, request as ReadRequest, T0 + 1);
    const ms = (performance.now() - start) / runs;
    if (reply instanceof ProtocolError) throw reply;
    console.log(`${label.padEnd(48)} ${ms.toFixed(2)} ms`);
  };
  await time('history user000↔user001, newest 100', 'history', { with: 'user001' });
  await time('history user000↔user001, newest 1,000', 'history', { with: 'user001', limit: 1000 });
  await time('history user000↔user001, 100 before the middle', 'history', { with: 'user001', beforeId: USERS + MESSAGES / 2 });
  await time('history user000↔user001, 100 after id 0', 'history', { with: 'user001', afterId: 0 });
  await time('conversations of user000 (99)', 'conversations', {});
  await time('accounts user0* limit 100', 'accounts', { pattern: 'user0*' });
  await time('accounts * limit 1,000', 'accounts', { limit: 1000 });

  const markStart = performance.now();
  await db.transaction((trx) => applyCommand(trx, { type: 'markRead', ts: T0 + 1, username: 'user000', tokenHash: hashToken('token-user000'), with: 'user001', upToId: index }, { index: index + 1, term: 1 }));
  console.log(`${'markRead user000←user001, everything'.padEnd(48)} ${(performance.now() - markStart).toFixed(2)} ms`);
} finally {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
}
