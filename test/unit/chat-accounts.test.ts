import test from 'ava';
import { Harness, T0 } from '../chat/harness.ts';
import { DELETED_FRAME_MAX_IDS, SESSION_SWEEP_PER_LOGIN, SESSION_TTL_MS } from '../../actors/chat/limits.ts';
import { globOf, literalPrefix } from '../../actors/chat/read.ts';
import { hashToken } from '../../actors/chat/sessions.ts';

async function harness(t: import('ava').ExecutionContext) {
  const h = await Harness.open();
  t.teardown(() => h.close());
  return h;
}

test('register, login, use, logout', async (t) => {
  const h = await harness(t);
  t.deepEqual(await h.call('register', { username: 'ada', password: 'correct horse' }), { ok: true, username: 'ada' });
  const login = await h.ok('login', { username: 'ada', password: 'correct horse' });
  t.is(login['username'], 'ada');
  const token = login['token'] as string;
  t.regex(token, /^[A-Za-z0-9_-]{43}$/);
  t.true((await h.call('conversations', { token })).ok);
  t.deepEqual(await h.call('logout', { token }), { ok: true });
  t.like(await h.call('conversations', { token }), { ok: false, error: { code: 'unauthorized' } });
  t.like(await h.call('logout', { token }), { ok: false, error: { code: 'unauthorized' } });
  t.deepEqual(h.deliveries.at(-1), [{ session: hashToken(token), frame: { type: 'revoked' } }]);
});

test('only a hash of the token and a salted hash of the password are stored', async (t) => {
  const h = await harness(t);
  const token = await h.user('ada', 'correct horse');
  const session = await h.db('sessions').first();
  t.is(session.token_hash, hashToken(token));
  t.false(JSON.stringify(await h.db('sessions').select()).includes(token));
  const account = await h.db('accounts').first();
  t.false(Buffer.from(account.password_hash).toString('utf8').includes('correct horse'));
  t.is(account.password_salt.length, 16);
});

test('a taken username is conflict, at prepare and at apply', async (t) => {
  const h = await harness(t);
  await h.user('ada');
  t.like(await h.call('register', { username: 'ada', password: 'another one' }), { ok: false, error: { code: 'conflict' } });
  // Two registers of one name both pass prepare; the second to apply loses.
  const first = await h.prepare('register', { username: 'bob', password: 'password1' });
  const second = await h.prepare('register', { username: 'bob', password: 'password2' });
  t.deepEqual(await h.commit(first), { ok: true, username: 'bob' });
  t.like(await h.commit(second), { ok: false, error: { code: 'conflict' } });
  t.true((await h.call('login', { username: 'bob', password: 'password1' })).ok);
  t.like(await h.call('login', { username: 'bob', password: 'password2' }), { ok: false, error: { code: 'unauthorized' } });
});

test('usernames are case-sensitive', async (t) => {
  const h = await harness(t);
  await h.user('ada');
  t.true((await h.call('register', { username: 'Ada', password: 'password1' })).ok);
});

test('login: wrong password and unknown user are both unauthorized with one message', async (t) => {
  const h = await harness(t);
  await h.user('ada', 'correct horse');
  const wrong = await h.call('login', { username: 'ada', password: 'wrong horse' });
  const unknown = await h.call('login', { username: 'nobody', password: 'wrong horse' });
  t.like(wrong, { ok: false, error: { code: 'unauthorized' } });
  t.deepEqual(wrong, unknown);
});

test('a login prepared before its account was deleted does not apply', async (t) => {
  const h = await harness(t);
  const token = await h.user('ada', 'correct horse');
  const login = await h.prepare('login', { username: 'ada', password: 'correct horse' });
  await h.ok('deleteAccount', { token, password: 'correct horse' });
  await h.call('register', { username: 'ada', password: 'a new password' });
  t.like(await h.commit(login), { ok: false, error: { code: 'unauthorized' } });
  t.is((await h.db('sessions').count({ n: '*' }))[0]?.n, 0);
});

test('sessions expire after SESSION_TTL_MS of entry time', async (t) => {
  const h = await harness(t);
  const ada = await h.user('ada');
  await h.user('bob');
  h.now += SESSION_TTL_MS - 1;
  t.true((await h.call('send', { token: ada, to: 'bob', text: 'just in time', requestId: 'r1' })).ok);
  h.now += 1;
  t.like(await h.call('conversations', { token: ada }), { ok: false, error: { code: 'unauthorized', message: 'the session has expired: log in again' } });
  t.like(await h.call('send', { token: ada, to: 'bob', text: 'late', requestId: 'r2' }), { ok: false, error: { code: 'unauthorized' } });
  // A new login (of any account) sweeps expired sessions: ada's and bob's are both expired now.
  const fresh = (await h.ok('login', { username: 'bob', password: 'password-of-bob' }))['token'] as string;
  t.deepEqual(await h.db('sessions').pluck('token_hash'), [hashToken(fresh)]);
});

test('a login sweeps at most SESSION_SWEEP_PER_LOGIN expired sessions, oldest first', async (t) => {
  const h = await harness(t);
  await h.user('ada');
  for (let i = 0; i < SESSION_SWEEP_PER_LOGIN + 4; i++) {
    h.now += 1;
    await h.ok('login', { username: 'ada', password: 'password-of-ada' });
  }
  const before = (await h.db('sessions').orderBy([{ column: 'expires_ts' }, { column: 'token_hash' }]).pluck('token_hash')) as string[];
  t.is(before.length, SESSION_SWEEP_PER_LOGIN + 5);
  h.now += SESSION_TTL_MS;
  const fresh = (await h.ok('login', { username: 'ada', password: 'password-of-ada' }))['token'] as string;
  const after = (await h.db('sessions').orderBy([{ column: 'expires_ts' }, { column: 'token_hash' }]).pluck('token_hash')) as string[];
  t.deepEqual(after, [...before.slice(SESSION_SWEEP_PER_LOGIN), hashToken(fresh)]);
});

test('a write prepared under a session revoked before it applies is unauthorized', async (t) => {
  const h = await harness(t);
  const ada = await h.user('ada');
  await h.user('bob');
  const send = await h.prepare('send', { token: ada, to: 'bob', text: 'hello', requestId: 'r1' });
  await h.ok('logout', { token: ada });
  t.like(await h.commit(send), { ok: false, error: { code: 'unauthorized' } });
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 0);
});

test('unknown tokens are unauthorized for every authenticated op', async (t) => {
  const h = await harness(t);
  const token = 'not-a-token';
  for (const [op, body] of [
    ['logout', { token }],
    ['accounts', { token }],
    ['send', { token, to: 'bob', text: 'x', requestId: 'r' }],
    ['history', { token, with: 'bob' }],
    ['conversations', { token }],
    ['markRead', { token, with: 'bob', upToId: 1 }],
    ['deleteMessages', { token, ids: [1] }],
    ['deleteAccount', { token, password: 'password1' }],
  ] as const) {
    t.like(await h.call(op, body), { ok: false, error: { code: 'unauthorized' } }, op);
  }
});

test('accounts: glob, sort, paging', async (t) => {
  const h = await harness(t);
  const names = ['alice', 'al', 'alfred', 'bob', 'a_c', 'abc', 'Zed', 'a.c'];
  const tokens = [];
  for (const name of names) tokens.push(await h.user(name));
  const token = tokens[0];
  const list = async (body: object) => h.ok('accounts', { token, ...body });
  t.deepEqual(await list({}), { ok: true, accounts: ['Zed', 'a.c', 'a_c', 'abc', 'al', 'alfred', 'alice', 'bob'] });
  t.deepEqual((await list({ pattern: 'al*' }))['accounts'], ['al', 'alfred', 'alice']);
  t.deepEqual((await list({ pattern: 'a?c' }))['accounts'], ['a.c', 'a_c', 'abc']);
  // `_` and `.` are literal (no LIKE semantics), `[` is literal (no GLOB class).
  t.deepEqual((await list({ pattern: 'a_c' }))['accounts'], ['a_c']);
  t.deepEqual((await list({ pattern: 'a.c' }))['accounts'], ['a.c']);
  t.deepEqual((await list({ pattern: '[ab]*' }))['accounts'], []);
  t.deepEqual((await list({ pattern: '*e*' }))['accounts'], ['Zed', 'alfred', 'alice']);
  t.deepEqual((await list({ pattern: 'z*' }))['accounts'], []);
  const page1 = await list({ limit: 3 });
  t.deepEqual(page1, { ok: true, accounts: ['Zed', 'a.c', 'a_c'], next: 'a_c' });
  const page2 = await list({ limit: 3, after: page1['next'] });
  t.deepEqual(page2, { ok: true, accounts: ['abc', 'al', 'alfred'], next: 'alfred' });
  const page3 = await list({ limit: 3, after: page2['next'] });
  t.deepEqual(page3, { ok: true, accounts: ['alice', 'bob'] });
  t.deepEqual(await list({ pattern: 'al*', limit: 2, after: 'al' }), { ok: true, accounts: ['alfred', 'alice'] });
});

test('glob translation', (t) => {
  t.is(globOf('a[b]*?'), 'a[[]b]*?');
  t.is(literalPrefix('abc*d'), 'abc');
  t.is(literalPrefix('ab?'), 'ab');
  t.is(literalPrefix('*'), '');
  t.is(literalPrefix('abc'), 'abc');
});

test('deleteAccount: wrong password is unauthorized and changes nothing', async (t) => {
  const h = await harness(t);
  const ada = await h.user('ada', 'correct horse');
  t.like(await h.call('deleteAccount', { token: ada, password: 'wrong horse' }), { ok: false, error: { code: 'unauthorized', message: 'wrong password' } });
  t.true((await h.call('conversations', { token: ada })).ok);
});

test('deleteAccount removes the account, its sessions, messages and conversations; the name is free again', async (t) => {
  const h = await harness(t);
  const ada = await h.user('ada', 'correct horse');
  const ada2 = (await h.ok('login', { username: 'ada', password: 'correct horse' }))['token'] as string;
  const bob = await h.user('bob');
  const cat = await h.user('cat');
  const m1 = (await h.ok('send', { token: ada, to: 'bob', text: 'hi bob', requestId: 'a1' }))['message'] as { id: number };
  const m2 = (await h.ok('send', { token: bob, to: 'ada', text: 'hi ada', requestId: 'b1' }))['message'] as { id: number };
  await h.ok('send', { token: cat, to: 'ada', text: 'hi from cat', requestId: 'c1' });
  await h.ok('send', { token: bob, to: 'cat', text: 'bob to cat', requestId: 'b2' });
  // ada hides cat's message: cat's conversation row still names ada.
  await h.ok('deleteMessages', { token: ada, ids: [m2.id] });

  t.deepEqual(await h.call('deleteAccount', { token: ada, password: 'correct horse' }), { ok: true });
  const deliveries = h.deliveries.at(-1) ?? [];
  t.deepEqual(deliveries.filter((d) => 'session' in d).map((d) => ('session' in d ? d.session : '')).sort(), [hashToken(ada), hashToken(ada2)].sort());
  t.deepEqual(
    deliveries.filter((d) => 'to' in d),
    [
      { to: 'bob', frame: { type: 'deleted', with: 'ada', ids: [m1.id, m2.id] } },
      { to: 'cat', frame: { type: 'deleted', with: 'ada', ids: [m1.id + 2] } },
    ],
  );
  t.like(await h.call('conversations', { token: ada }), { ok: false, error: { code: 'unauthorized' } });
  t.like(await h.call('conversations', { token: ada2 }), { ok: false, error: { code: 'unauthorized' } });
  t.deepEqual((await h.ok('conversations', { token: bob }))['conversations'], [{ with: 'cat', lastId: m1.id + 3, unread: 0 }]);
  t.deepEqual((await h.ok('conversations', { token: cat }))['conversations'], [{ with: 'bob', lastId: m1.id + 3, unread: 1 }]);
  t.like(await h.call('history', { token: bob, with: 'ada' }), { ok: false, error: { code: 'not_found' } });
  t.is((await h.db('messages').where('sender', 'ada').orWhere('recipient', 'ada').count({ n: '*' }))[0]?.n, 0);
  t.is((await h.db('send_requests').where('sender', 'ada').count({ n: '*' }))[0]?.n, 0);

  // The name is free again, and the new ada sees nothing of the old one.
  const newAda = await h.user('ada', 'brand new one');
  t.deepEqual((await h.ok('conversations', { token: newAda }))['conversations'], []);
  t.deepEqual((await h.ok('history', { token: newAda, with: 'bob' }))['messages'], []);
  t.like(await h.call('send', { token: newAda, to: 'bob', text: 'again', requestId: 'a1' }), { ok: true, message: { text: 'again' } });
});

test('deleteAccount tells each peer which ids vanished, at most DELETED_FRAME_MAX_IDS per frame', async (t) => {
  const h = await harness(t);
  const ada = await h.user('ada', 'correct horse');
  await h.user('bob');
  // Rows inserted directly (as a bulk load would); the insert trigger keeps the conversations rows.
  const total = DELETED_FRAME_MAX_IDS * 2 + 500;
  const rows = Array.from({ length: total }, (_, i) => ({
    id: 1_000 + i, sender: i % 2 ? 'ada' : 'bob', recipient: i % 2 ? 'bob' : 'ada', pair_lo: 'ada', pair_hi: 'bob',
    text: `m${i}`, ts: T0, read: 0, hidden_by_sender: 0, hidden_by_recipient: 0,
  }));
  for (let i = 0; i < rows.length; i += 500) await h.db('messages').insert(rows.slice(i, i + 500));
  h.index = 10_000;
  await h.ok('deleteAccount', { token: ada, password: 'correct horse' });
  const frames = (h.deliveries.at(-1) ?? []).filter((d) => 'to' in d);
  t.deepEqual(frames.map((d) => ('to' in d && d.frame.type === 'deleted' ? d.frame.ids.length : -1)), [DELETED_FRAME_MAX_IDS, DELETED_FRAME_MAX_IDS, 500]);
  t.deepEqual(frames.flatMap((d) => ('to' in d && d.frame.type === 'deleted' ? d.frame.ids : [])), rows.map((r) => r.id));
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 0);
});
