import test from 'ava';
import { Harness } from '../chat/harness.ts';

type Msg = { id: number; from: string; to: string; text: string; ts: number; read: boolean };

async function pair(t: import('ava').ExecutionContext) {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const ada = await h.user('ada');
  const bob = await h.user('bob');
  return { h, ada, bob };
}

const ids = (reply: Record<string, unknown>) => (reply['messages'] as Msg[]).map((m) => m.id);

test('send: the message id is the log index, ts the leader time, delivered to both', async (t) => {
  const { h, ada } = await pair(t);
  h.noop();
  h.now += 5;
  const reply = await h.ok('send', { token: ada, to: 'bob', text: 'hello 😀', requestId: 'r1' });
  t.deepEqual(reply, { ok: true, message: { id: h.index, from: 'ada', to: 'bob', text: 'hello 😀', ts: h.now, read: false } });
  const message = reply['message'];
  t.deepEqual(h.deliveries.at(-1), [
    { to: 'bob', frame: { type: 'message', message } },
    { to: 'ada', frame: { type: 'message', message } },
  ]);
  const second = await h.ok('send', { token: ada, to: 'bob', text: 'again', requestId: 'r2' });
  t.true((second['message'] as Msg).id > (message as Msg).id);
});

test('send: unknown recipient is not_found, oneself is bad_request', async (t) => {
  const { h, ada } = await pair(t);
  t.like(await h.call('send', { token: ada, to: 'nobody', text: 'x', requestId: 'r1' }), { ok: false, error: { code: 'not_found' } });
  t.like(await h.call('send', { token: ada, to: 'ada', text: 'x', requestId: 'r2' }), { ok: false, error: { code: 'bad_request' } });
  t.is(h.log.filter(Boolean).length, 4, 'only the registers and logins reached the log');
});

test('send: a recipient deleted between prepare and apply is not_found', async (t) => {
  const { h, ada, bob } = await pair(t);
  const send = await h.prepare('send', { token: ada, to: 'bob', text: 'x', requestId: 'r1' });
  await h.ok('deleteAccount', { token: bob, password: 'password-of-bob' });
  t.like(await h.commit(send), { ok: false, error: { code: 'not_found' } });
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 0);
});

test('send is exactly-once per (sender, requestId): repeats answer at prepare without a log entry', async (t) => {
  const { h, ada, bob } = await pair(t);
  const first = await h.ok('send', { token: ada, to: 'bob', text: 'once', requestId: 'same' });
  const logLength = h.log.length;
  t.deepEqual(await h.ok('send', { token: ada, to: 'bob', text: 'once', requestId: 'same' }), first);
  t.is(h.log.length, logLength);
  // Another sender may use the same requestId.
  t.not((await h.ok('send', { token: bob, to: 'ada', text: 'mine', requestId: 'same' }))['message'], first['message']);
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 2);
});

test('send is exactly-once when two duplicates are both proposed', async (t) => {
  const { h, ada } = await pair(t);
  const a = await h.prepare('send', { token: ada, to: 'bob', text: 'retry', requestId: 'dup' });
  const b = await h.prepare('send', { token: ada, to: 'bob', text: 'retry', requestId: 'dup' });
  const first = await h.commit(a);
  t.deepEqual(await h.commit(b), first);
  t.deepEqual(h.deliveries.at(-1), []);
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 1);
  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'bob', lastId: (first as unknown as { message: Msg }).message.id, unread: 0 }]);
});

test('a repeated send whose message was deleted is not_found and creates nothing', async (t) => {
  const { h, ada } = await pair(t);
  const { message } = (await h.ok('send', { token: ada, to: 'bob', text: 'oops', requestId: 'r1' })) as { message: Msg };
  await h.ok('deleteMessages', { token: ada, ids: [message.id], forEveryone: true });
  t.like(await h.call('send', { token: ada, to: 'bob', text: 'oops', requestId: 'r1' }), { ok: false, error: { code: 'not_found' } });
  t.is((await h.db('messages').count({ n: '*' }))[0]?.n, 0);
});

test('history: newest page by default, paging both ways with correct hasMore', async (t) => {
  const { h, ada, bob } = await pair(t);
  const sent: number[] = [];
  for (let i = 0; i < 7; i++) {
    const token = i % 2 === 0 ? ada : bob;
    const to = i % 2 === 0 ? 'bob' : 'ada';
    sent.push(((await h.ok('send', { token, to, text: `m${i}`, requestId: `r${i}` }))['message'] as Msg).id);
  }
  // Another conversation in between must not show up.
  const cat = await h.user('cat');
  await h.ok('send', { token: cat, to: 'ada', text: 'not in this conversation', requestId: 'c' });

  const page = (body: object) => h.ok('history', { token: ada, with: 'bob', ...body });
  const all = await page({});
  t.deepEqual(ids(all), sent);
  t.false(all['hasMore']);
  t.deepEqual((all['messages'] as Msg[]).map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);

  const newest = await page({ limit: 3 });
  t.deepEqual(ids(newest), sent.slice(4));
  t.true(newest['hasMore']);
  const older = await page({ limit: 3, beforeId: sent[4] });
  t.deepEqual(ids(older), sent.slice(1, 4));
  t.true(older['hasMore']);
  const oldest = await page({ limit: 3, beforeId: sent[1] });
  t.deepEqual(ids(oldest), sent.slice(0, 1));
  t.false(oldest['hasMore']);

  const forward = await page({ limit: 3, afterId: 0 });
  t.deepEqual(ids(forward), sent.slice(0, 3));
  t.true(forward['hasMore']);
  const forward2 = await page({ limit: 4, afterId: sent[2] });
  t.deepEqual(ids(forward2), sent.slice(3));
  t.false(forward2['hasMore']);

  const window = await page({ limit: 2, afterId: sent[1], beforeId: sent[6] });
  t.deepEqual(ids(window), sent.slice(2, 4));
  t.true(window['hasMore']);
  const windowEnd = await page({ limit: 2, afterId: sent[3], beforeId: sent[6] });
  t.deepEqual(ids(windowEnd), sent.slice(4, 6));
  t.false(windowEnd['hasMore']);

  // Both parties see the same conversation.
  t.deepEqual(ids(await h.ok('history', { token: bob, with: 'ada' })), sent);
  t.like(await h.call('history', { token: ada, with: 'nobody' }), { ok: false, error: { code: 'not_found' } });
});

test('conversations: newest first with unread counts; markRead; message.read', async (t) => {
  const { h, ada, bob } = await pair(t);
  const cat = await h.user('cat');
  const send = async (token: string, to: string, text: string) =>
    ((await h.ok('send', { token, to, text, requestId: `${text}` }))['message'] as Msg).id;
  const b1 = await send(bob, 'ada', 'b1');
  const b2 = await send(bob, 'ada', 'b2');
  await send(cat, 'ada', 'c1');
  const b3 = await send(bob, 'ada', 'b3');
  const a1 = await send(ada, 'cat', 'a1');

  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], [
    { with: 'cat', lastId: a1, unread: 1 },
    { with: 'bob', lastId: b3, unread: 3 },
  ]);
  t.deepEqual((await h.ok('conversations', { token: bob }))['conversations'], [{ with: 'ada', lastId: b3, unread: 0 }]);

  t.deepEqual(await h.call('markRead', { token: ada, with: 'bob', upToId: b2 }), { ok: true });
  t.deepEqual(h.deliveries.at(-1), [
    { to: 'ada', frame: { type: 'read', by: 'ada', with: 'bob', upToId: b2 } },
    { to: 'bob', frame: { type: 'read', by: 'ada', with: 'bob', upToId: b2 } },
  ]);
  t.deepEqual(
    ((await h.ok('history', { token: bob, with: 'ada' }))['messages'] as Msg[]).map((m) => [m.id, m.read]),
    [[b1, true], [b2, true], [b3, false]],
  );
  t.like((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'cat', unread: 1 }, { with: 'bob', unread: 1 }]);
  // Marking again changes nothing and delivers nothing.
  await h.ok('markRead', { token: ada, with: 'bob', upToId: b2 });
  t.deepEqual(h.deliveries.at(-1), []);
  // markRead never marks the caller's own messages: bob marking ada's conversation touches only ada→bob.
  await h.ok('markRead', { token: bob, with: 'ada', upToId: b3 });
  t.like((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'cat', unread: 1 }, { with: 'bob', unread: 1 }]);
  await h.ok('markRead', { token: ada, with: 'bob', upToId: 1_000_000 });
  t.like((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'cat', unread: 1 }, { with: 'bob', unread: 0 }]);
  t.like(await h.call('markRead', { token: ada, with: 'nobody', upToId: 1 }), { ok: false, error: { code: 'not_found' } });
});

test('deleteMessages for me hides from my view only and keeps counts right', async (t) => {
  const { h, ada, bob } = await pair(t);
  const m1 = ((await h.ok('send', { token: bob, to: 'ada', text: 'one', requestId: '1' }))['message'] as Msg).id;
  const m2 = ((await h.ok('send', { token: bob, to: 'ada', text: 'two', requestId: '2' }))['message'] as Msg).id;

  t.deepEqual(await h.call('deleteMessages', { token: ada, ids: [m2] }), { ok: true, deleted: 1 });
  t.deepEqual(h.deliveries.at(-1), [{ to: 'ada', frame: { type: 'deleted', with: 'bob', ids: [m2] } }]);
  t.deepEqual(ids(await h.ok('history', { token: ada, with: 'bob' })), [m1]);
  t.deepEqual(ids(await h.ok('history', { token: bob, with: 'ada' })), [m1, m2]);
  // The unread hidden message no longer counts, and lastId moved back to what ada still sees.
  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'bob', lastId: m1, unread: 1 }]);
  t.deepEqual((await h.ok('conversations', { token: bob }))['conversations'], [{ with: 'ada', lastId: m2, unread: 0 }]);
  // Deleting it again from my view: not in my view any more.
  t.like(await h.call('deleteMessages', { token: ada, ids: [m2] }), { ok: false, error: { code: 'not_found' } });

  // markRead does not count the hidden one twice.
  await h.ok('markRead', { token: ada, with: 'bob', upToId: m2 });
  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'bob', lastId: m1, unread: 0 }]);

  // Hiding the last visible message removes ada's conversation row; bob hiding m2 too removes the row itself.
  await h.ok('deleteMessages', { token: ada, ids: [m1] });
  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], []);
  await h.ok('deleteMessages', { token: bob, ids: [m2] });
  t.deepEqual(await h.db('messages').pluck('id'), [m1]);
  t.deepEqual((await h.ok('conversations', { token: bob }))['conversations'], [{ with: 'ada', lastId: m1, unread: 0 }]);
});

test('deleteMessages for everyone (sender only) removes from both views', async (t) => {
  const { h, ada, bob } = await pair(t);
  const a1 = ((await h.ok('send', { token: ada, to: 'bob', text: 'a1', requestId: '1' }))['message'] as Msg).id;
  const b1 = ((await h.ok('send', { token: bob, to: 'ada', text: 'b1', requestId: '2' }))['message'] as Msg).id;
  const a2 = ((await h.ok('send', { token: ada, to: 'bob', text: 'a2', requestId: '3' }))['message'] as Msg).id;

  t.like(await h.call('deleteMessages', { token: bob, ids: [a2], forEveryone: true }), { ok: false, error: { code: 'forbidden' } });
  t.deepEqual(await h.call('deleteMessages', { token: ada, ids: [a2, a1, a2], forEveryone: true }), { ok: true, deleted: 2 });
  t.deepEqual(h.deliveries.at(-1), [
    { to: 'ada', frame: { type: 'deleted', with: 'bob', ids: [a2, a1] } },
    { to: 'bob', frame: { type: 'deleted', with: 'ada', ids: [a2, a1] } },
  ]);
  t.deepEqual(ids(await h.ok('history', { token: ada, with: 'bob' })), [b1]);
  t.deepEqual(ids(await h.ok('history', { token: bob, with: 'ada' })), [b1]);
  t.deepEqual((await h.ok('conversations', { token: bob }))['conversations'], [{ with: 'ada', lastId: b1, unread: 0 }]);
  t.deepEqual((await h.ok('conversations', { token: ada }))['conversations'], [{ with: 'bob', lastId: b1, unread: 1 }]);
  t.like(await h.call('deleteMessages', { token: ada, ids: [a1], forEveryone: true }), { ok: false, error: { code: 'not_found' } });
});

test('deleteMessages: any id I may not delete is forbidden and nothing is deleted', async (t) => {
  const { h, ada, bob } = await pair(t);
  await h.user('cat');
  const mine = ((await h.ok('send', { token: ada, to: 'bob', text: 'mine', requestId: '1' }))['message'] as Msg).id;
  const theirs = ((await h.ok('send', { token: bob, to: 'cat', text: 'not mine', requestId: '2' }))['message'] as Msg).id;
  const logLength = h.log.length;
  t.like(await h.call('deleteMessages', { token: ada, ids: [mine, theirs] }), { ok: false, error: { code: 'forbidden' } });
  t.like(await h.call('deleteMessages', { token: ada, ids: [mine, 999_999] }), { ok: false, error: { code: 'not_found' } });
  t.is(h.log.length, logLength, 'refused at prepare: nothing proposed');
  t.deepEqual(ids(await h.ok('history', { token: ada, with: 'bob' })), [mine]);

  // The same rule holds at apply when the state changed after prepare.
  const del = await h.prepare('deleteMessages', { token: ada, ids: [mine] });
  await h.ok('deleteMessages', { token: ada, ids: [mine], forEveryone: true });
  t.like(await h.commit(del), { ok: false, error: { code: 'not_found' } });
});

test('markRead prepared under a session revoked before it applies is unauthorized and marks nothing', async (t) => {
  const { h, ada, bob } = await pair(t);
  const m = ((await h.ok('send', { token: bob, to: 'ada', text: 'unread', requestId: '1' }))['message'] as Msg).id;
  const mark = await h.prepare('markRead', { token: ada, with: 'bob', upToId: m });
  await h.ok('logout', { token: ada });
  t.like(await h.commit(mark), { ok: false, error: { code: 'unauthorized' } });
  t.deepEqual(await h.db('conversations').where({ owner: 'ada' }).select('unread'), [{ unread: 1 }]);
  t.deepEqual(await h.db('messages').pluck('read'), [0]);
});
