import test from 'ava';
import knexFactory from 'knex';
import { CHAT_TABLES, migrateChat } from '../../storage/chat/schema.ts';

function memoryDb() {
  return knexFactory({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
}

test('migrateChat creates every chat table and is idempotent', async (t) => {
  const db = memoryDb();
  t.teardown(() => db.destroy());
  await migrateChat(db);
  await migrateChat(db);
  for (const table of CHAT_TABLES) t.true(await db.schema.hasTable(table), table);
});

test('history and markRead queries use their indexes', async (t) => {
  const db = memoryDb();
  t.teardown(() => db.destroy());
  await migrateChat(db);
  const plan = async (sql: string) =>
    ((await db.raw(`EXPLAIN QUERY PLAN ${sql}`)) as { detail: string }[]).map((r) => r.detail).join('\n');
  t.regex(await plan("SELECT * FROM messages WHERE pair_lo='a' AND pair_hi='b' AND id < 10 ORDER BY id DESC LIMIT 5"), /messages_by_pair/);
  t.regex(await plan("SELECT id FROM messages WHERE recipient='a' AND sender='b' AND read = 0 AND id <= 10"), /messages_unread/);
  t.regex(
    await plan("UPDATE messages SET read = 1 WHERE recipient='a' AND sender='b' AND read = 0 AND id <= 10 AND EXISTS (SELECT 1 FROM sessions WHERE token_hash='x') AND EXISTS (SELECT 1 FROM accounts WHERE username='b')"),
    /messages_unread/,
  );
  t.regex(await plan("SELECT * FROM conversations WHERE owner='a' ORDER BY last_id DESC"), /conversations_by_owner_last/);
  t.notRegex(await plan("SELECT * FROM conversations WHERE owner='a' ORDER BY last_id DESC"), /TEMP B-TREE/);
});
