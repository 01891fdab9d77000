/**
 * `login.liveKey` (docs/protocol.md §2.5) in the chat state machine: the
 * entry carries it, the sessions table keeps it beside the token hash, every
 * replica that applies the log holds the same rows, and the live frames of
 * such a session (message, read, deleted, revoked by logout or by
 * deleteAccount) are published sealed to it while other sessions get clear
 * frames as before. Older login entries and databases migrated from v4 keep
 * working, with clear frames.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import knexFactory from 'knex';
import { decodeCommand, encodeCommand, type ChatCommand, type Delivery } from '../../actors/chat/index.ts';
import { INITIAL_DIGEST, nextDigest } from '../../storage/digest.ts';
import { hashToken } from '../../actors/chat/sessions.ts';
import { Proposal } from '../../actors/chat/prepare.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { decodeLiveFrame, liveSubject, Opener, sealKeyPairFrom, sessionKeyOfTokenHash, SEALED_FRAME_TYPE } from '../../actors/protocol/index.ts';
import { CHAT_MIGRATIONS, CHAT_MIGRATIONS_TABLE, migrateChat, type ChatMigration } from '../../storage/chat/schema.ts';
import { dumpTables, Harness, openDb, replay } from '../chat/harness.ts';

const PREFIX = 'qc';
const key = (): Opener => new Opener(sealKeyPairFrom(randomBytes(32)));

async function publish(h: Harness, deliveries: readonly Delivery[]) {
  const app = chatApplication({ prefix: PREFIX, reader: h.db, log: { error: () => undefined } });
  return await app.publications(deliveries);
}

test('a login with liveKey puts the key in the entry and the sessions row; a replica replaying the log holds the same rows', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const live = key();
  await h.ok('register', { username: 'ada', password: 'password-of-ada' });
  const token = (await h.ok('login', { username: 'ada', password: 'password-of-ada', liveKey: live.publicKey }))['token'] as string;
  const entry = decodeCommand(h.log.at(-1)!.bytes);
  t.like(entry, { type: 'login', liveKey: live.publicKey, tokenHash: hashToken(token) });
  t.deepEqual(await h.db('sessions').where({ token_hash: hashToken(token) }).first('live_key'), { live_key: live.publicKey });
  const other = await openDb();
  t.teardown(() => other.destroy());
  await replay(other, h.log);
  t.deepEqual(await dumpTables(other), await dumpTables(h.db));
});

test('the running digest covers liveKey: two replicas that applied logins differing only in it report different digests', (t) => {
  const login = (liveKey?: string): ChatCommand => ({ type: 'login', ts: 1, username: 'ada', accountIndex: 1, tokenHash: hashToken('t'), expiresTs: 2, ...(liveKey === undefined ? {} : { liveKey }) });
  const digestOf = (command: ChatCommand): string => nextDigest(INITIAL_DIGEST, { index: 1, term: 1, kind: 'command', data: encodeCommand(command) });
  const [a, b] = [key().publicKey, key().publicKey];
  t.not(digestOf(login(a)), digestOf(login(b)));
  t.not(digestOf(login(a)), digestOf(login()));
  t.is(digestOf(login(a)), digestOf(login(a)));
});

test('a liveKey that is not a usable X25519 key is a bad_request and nothing is committed', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  await h.ok('register', { username: 'ada', password: 'password-of-ada' });
  const committed = h.log.length;
  for (const bad of ['short', 42, Buffer.alloc(32).toString('base64url'), `${key().publicKey}=`]) {
    const reply = await h.call('login', { username: 'ada', password: 'password-of-ada', liveKey: bad });
    t.like(reply, { ok: false, error: { code: 'bad_request' } }, String(bad));
    t.regex(JSON.stringify(reply), /liveKey/);
  }
  t.is(h.log.length, committed);
});

test('old login entries (token hash without liveKey, and the raw-token form) still apply, as clear sessions', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  await h.ok('register', { username: 'ada', password: 'password-of-ada' });
  const withHash: ChatCommand = { type: 'login', ts: h.now, username: 'ada', accountIndex: 1, tokenHash: hashToken('hash-era'), expiresTs: h.now + 60_000 };
  const legacy: ChatCommand = { type: 'login', ts: h.now, username: 'ada', accountIndex: 1, token: 'legacy-token', expiresTs: h.now + 60_000 };
  t.true((await h.commit(new Proposal(withHash))).ok);
  t.like(await h.commit(new Proposal(legacy)), { ok: true, token: 'legacy-token' });
  const rows = (await h.db('sessions').orderBy('token_hash').select('token_hash', 'live_key')) as { token_hash: string; live_key: string | null }[];
  t.deepEqual(rows.map((r) => r.live_key), [null, null]);
  t.true((await h.call('conversations', { token: 'legacy-token' })).ok);
});

test('frames to a sealed session are published sealed to its key on its subject; a clear session beside it gets clear frames', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const live = key();
  await h.ok('register', { username: 'ada', password: 'password-of-ada' });
  const sealedToken = (await h.ok('login', { username: 'ada', password: 'password-of-ada', liveKey: live.publicKey }))['token'] as string;
  const clearToken = (await h.ok('login', { username: 'ada', password: 'password-of-ada' }))['token'] as string;
  const bob = await h.user('bob');
  await h.ok('send', { token: bob, to: 'ada', text: 'a secret for ada', requestId: 'r1' });
  const subjectOf = (token: string): string => liveSubject(PREFIX, sessionKeyOfTokenHash(hashToken(token)));
  const published = await publish(h, h.deliveries.at(-1)!);
  const toSealed = published.filter((p) => p.subject === subjectOf(sealedToken));
  const toClear = published.filter((p) => p.subject === subjectOf(clearToken));
  t.is(toSealed.length, 1);
  t.is(toClear.length, 1);
  t.like(toClear[0]!.body, { type: 'message', message: { text: 'a secret for ada' } });
  const wire = JSON.stringify(toSealed[0]!.body);
  t.false(wire.includes('a secret for ada'));
  t.is((toSealed[0]!.body as { type: string }).type, SEALED_FRAME_TYPE);
  const decoded = decodeLiveFrame(Buffer.from(wire), { opener: live, subject: subjectOf(sealedToken) });
  t.like(decoded, { kind: 'frame', frame: { type: 'message', message: { text: 'a secret for ada', from: 'bob' } } });
  // An old client (no unsealing) skips the frame as a type it does not know.
  t.like(decodeLiveFrame(Buffer.from(wire)), { kind: 'unknown', type: 'sealed' });
  // The sealed session never takes a clear frame, and a frame sealed for another subject does not open.
  t.is(decodeLiveFrame(Buffer.from(JSON.stringify(toClear[0]!.body)), { opener: live, subject: subjectOf(sealedToken) }).kind, 'malformed');
  t.is(decodeLiveFrame(Buffer.from(wire), { opener: live, subject: subjectOf(clearToken) }).kind, 'malformed');
  t.is(decodeLiveFrame(Buffer.from(wire), { opener: key(), subject: subjectOf(sealedToken) }).kind, 'malformed');
});

test('revoked frames of a sealed session are sealed too, after logout and after deleteAccount (its row is gone by then)', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const first = key();
  const second = key();
  await h.ok('register', { username: 'ada', password: 'password-of-ada' });
  const one = (await h.ok('login', { username: 'ada', password: 'password-of-ada', liveKey: first.publicKey }))['token'] as string;
  const two = (await h.ok('login', { username: 'ada', password: 'password-of-ada', liveKey: second.publicKey }))['token'] as string;
  const subjectOf = (token: string): string => liveSubject(PREFIX, sessionKeyOfTokenHash(hashToken(token)));

  await h.ok('logout', { token: one });
  const [loggedOut] = await publish(h, h.deliveries.at(-1)!);
  t.is(loggedOut?.subject, subjectOf(one));
  t.like(decodeLiveFrame(Buffer.from(JSON.stringify(loggedOut!.body)), { opener: first, subject: subjectOf(one) }), { kind: 'frame', frame: { type: 'revoked' } });

  await h.ok('deleteAccount', { token: two, password: 'password-of-ada' });
  const revoked = (await publish(h, h.deliveries.at(-1)!)).filter((p) => p.subject === subjectOf(two));
  t.is(revoked.length, 1);
  t.like(decodeLiveFrame(Buffer.from(JSON.stringify(revoked[0]!.body)), { opener: second, subject: subjectOf(two) }), { kind: 'frame', frame: { type: 'revoked' } });
});

test('a database migrated to v4 with sessions in it migrates to v5: the sessions stay, without a key', async (t) => {
  const db = knexFactory({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1, idleTimeoutMillis: 3_600_000 } });
  t.teardown(() => db.destroy());
  const upTo = (count: number): Parameters<typeof db.migrate.latest>[0] => ({
    tableName: CHAT_MIGRATIONS_TABLE,
    migrationSource: {
      getMigrations: async () => CHAT_MIGRATIONS.slice(0, count),
      getMigrationName: (m: ChatMigration) => m.name,
      getMigration: async (m: ChatMigration) => ({ up: m.up, down: m.down }),
    },
  });
  await db.migrate.latest(upTo(4));
  await db('sessions').insert({ token_hash: hashToken('old'), username: 'ada', created_ts: 1, expires_ts: 2 });
  await migrateChat(db);
  t.deepEqual(await db('sessions').select('token_hash', 'live_key'), [{ token_hash: hashToken('old'), live_key: null }]);
  t.is(CHAT_MIGRATIONS.at(-1)?.name, '0005_sessions_live_key');
});
