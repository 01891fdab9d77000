/**
 * Query speed of the chat tables at scale: fills a temp SQLite file with
 * MESSAGES messages (through applyCommand, so the conversations rows are the
 * real ones) and prints how long each read path takes. Prints figures; asserts nothing.
 *
 *   node --import tsx test/chat/bench.ts [messages]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { applyCommand, executeRead, hashToken, parseRequest, ProtocolError, type ReadRequest } from '../../actors/chat/index.ts';
import { migrateChat } from '../../storage/chat/schema.ts';

const MESSAGES = Number(process.argv[2] ?? 1_000_000);
/** 100 users, every one talking to every other: 4,950 conversations. */
const USERS = 100;
/** Messages applied per transaction while filling (a replica's apply batch). */
const BATCH = 5_000;
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
  // The hot pair: user000 ↔ user001 gets a tenth of all messages, the rest spread over every pair.
  let index = USERS;
  const fillStart = performance.now();
  for (let sent = 0; sent < MESSAGES; ) {
    await db.transaction(async (trx) => {
      for (let k = 0; k < BATCH && sent < MESSAGES; k++, sent++) {
        index += 1;
        const hot = sent % 10 === 0;
        const a = hot ? 0 : sent % USERS;
        const b = hot ? 1 : (a + 1 + ((sent * 7) % (USERS - 1))) % USERS;
        const [from, to] = sent % 2 === 0 ? [names[a]!, names[b]!] : [names[b]!, names[a]!];
        await applyCommand(trx, { type: 'send', ts: T0 + sent, username: from, tokenHash: hashToken(`token-${from}`), to, text: `message ${sent}`, requestId: `r${sent}` }, { index, term: 1 });
      }
    });
  }
  const fillMs = performance.now() - fillStart;
  console.log(`filled ${MESSAGES.toLocaleString('en-US')} messages in ${(fillMs / 1000).toFixed(1)} s (${Math.round(MESSAGES / (fillMs / 1000)).toLocaleString('en-US')} applies/s, batches of ${BATCH})`);

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
