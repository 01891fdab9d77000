import test, { type ExecutionContext } from 'ava';
import {
  BadRequestError, ChatClient, ConflictError, ERROR_CODES, ForbiddenError, InternalError, NotFoundError,
  ProtocolError, TooLargeError, UnauthorizedError, UnavailableError, errorFromCode, type Answer,
} from '../../actors/client/index.ts';
import { TestNatsServer } from '../transport/nats-server.ts';
import { FakeCluster } from './client-fake-cluster.ts';

const PREFIX = 'qcc';

async function setup(t: ExecutionContext, options: { timeoutMs?: number; sendDeadlineMs?: number } = {}) {
  const server = await TestNatsServer.start();
  t.teardown(() => server.stop());
  const fake = await FakeCluster.start(server.url, PREFIX);
  t.teardown(() => fake.stop());
  const client = await ChatClient.connect({ servers: server.url, prefix: PREFIX, timeoutMs: options.timeoutMs ?? 2_000, ...(options.sendDeadlineMs === undefined ? {} : { sendDeadlineMs: options.sendDeadlineMs }) });
  t.teardown(() => client.close());
  return { server, fake, client };
}

const message = { id: 3, from: 'ada', to: 'bob', text: 'hi', ts: 1_700_000_000_000, read: false };

test('every op goes to <prefix>.api.<op> as JSON and its typed reply comes back', async (t) => {
  const { fake, client } = await setup(t);
  const replies: Record<string, object> = {
    register: { username: 'ada' },
    login: { token: 'tok-1', username: 'ada' },
    logout: {},
    accounts: { accounts: ['ada', 'bob'], next: 'bob' },
    send: { message },
    history: { messages: [message], hasMore: false },
    conversations: { conversations: [{ with: 'bob', lastId: 3, unread: 1 }] },
    markRead: {},
    deleteMessages: { deleted: 1 },
    deleteAccount: {},
    cluster: { leader: 'r1', term: 4, commitIndex: 99, members: [{ id: 'r1', voter: true, role: 'leader', reachable: true, lastContactMs: 0, matchIndex: 99 }] },
  };
  for (const [op, reply] of Object.entries(replies)) fake.handlers.set(op, () => ({ ok: true, ...reply, extraField: 'ignored' }));
  fake.handlers.set('replica.r2.status', () => ({ ok: true, id: 'r2', role: 'follower', term: 4, leader: 'r1', commitIndex: 99, appliedIndex: 98, digest: 'ab', voters: ['r1', 'r2'], learners: [] }));

  t.deepEqual(await client.register({ username: 'ada', password: 'password1' }), replies.register);
  t.deepEqual(await client.login({ username: 'ada', password: 'password1' }), replies.login);
  t.deepEqual(await client.logout({ token: 'tok-1' }), {});
  t.deepEqual(await client.accounts({ token: 't', pattern: 'a*', limit: 10 }), replies.accounts);
  t.deepEqual(await client.send({ token: 't', to: 'bob', text: 'hi', requestId: 'req-1' }), replies.send);
  t.deepEqual(await client.history({ token: 't', with: 'bob', beforeId: 10 }), replies.history);
  t.deepEqual(await client.conversations({ token: 't' }), replies.conversations);
  t.deepEqual(await client.markRead({ token: 't', with: 'bob', upToId: 3 }), {});
  t.deepEqual(await client.deleteMessages({ token: 't', ids: [3], forEveryone: true }), replies.deleteMessages);
  t.deepEqual(await client.deleteAccount({ token: 't', password: 'password1' }), {});
  t.deepEqual(await client.cluster(), replies.cluster);
  t.like(await client.replicaStatus('r2'), { id: 'r2', appliedIndex: 98, voters: ['r1', 'r2'] });

  // Every api request carries this connection's one replyKey (docs/protocol.md §2.5); login also a fresh liveKey.
  const replyKey = fake.requests.get('send')?.[0]?.['replyKey'];
  t.regex(String(replyKey), /^[A-Za-z0-9_-]{43}$/);
  t.deepEqual(fake.requests.get('send'), [{ token: 't', to: 'bob', text: 'hi', requestId: 'req-1', replyKey }]);
  t.deepEqual(fake.requests.get('history'), [{ token: 't', with: 'bob', beforeId: 10, replyKey }]);
  t.deepEqual(fake.requests.get('cluster'), [{ replyKey }]);
  t.like(fake.requests.get('login')?.[0], { username: 'ada', password: 'password1', replyKey });
  t.regex(String(fake.requests.get('login')?.[0]?.['liveKey']), /^[A-Za-z0-9_-]{43}$/);
  t.not(fake.requests.get('login')?.[0]?.['liveKey'], replyKey);
  t.deepEqual(fake.requests.get('replica.r2.status'), [{}], 'the status subject is not sealed');
});

test('each protocol error code becomes its own typed error with the message', async (t) => {
  const { fake, client } = await setup(t);
  const classes = [BadRequestError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError, TooLargeError, UnavailableError, InternalError];
  for (const [i, code] of ERROR_CODES.entries()) {
    fake.handlers.set('logout', () => ({ ok: false, error: { code, message: `because ${code}` } }));
    const err = await t.throwsAsync(client.logout({ token: 't' }));
    t.true(err instanceof classes[i]!, `${code} -> ${err?.name}`);
    t.true(err instanceof ProtocolError);
    t.is((err as ProtocolError).code, code);
    t.is(err?.message, `because ${code}`);
  }
  t.true(errorFromCode('not_found', 'x') instanceof NotFoundError);
});

test('replies that break the protocol are InternalError, not crashes or silent garbage', async (t) => {
  const { fake, client } = await setup(t);
  const cases: [unknown, RegExp][] = [
    [new TextEncoder().encode('not json'), /the reply is not JSON/],
    [{ token: 'x' }, /no "ok": true or false/],
    [{ ok: true, token: 5, username: 'ada' }, /does not follow the protocol/],
    [{ ok: false, error: { code: 'teapot', message: 'x' } }, /error reply that does not follow the protocol/],
  ];
  for (const [reply, pattern] of cases) {
    fake.handlers.set('login', () => reply);
    await t.throwsAsync(client.login({ username: 'ada', password: 'password1' }), { instanceOf: InternalError, message: pattern });
  }
});

test('NATS failures surface as UnavailableError with the cause', async (t) => {
  const { fake, client } = await setup(t, { timeoutMs: 300 });
  // no responder for this op: NATS answers "no responders" at once
  const none = await t.throwsAsync(client.markRead({ token: 't', with: 'bob', upToId: 1 }), { instanceOf: UnavailableError });
  t.truthy(none.cause);
  t.regex(none.message, /qcc\.api\.markRead/);
  fake.handlers.set('conversations', () => 'silence');
  const timeout = await t.throwsAsync(client.conversations({ token: 't' }), { instanceOf: UnavailableError });
  t.truthy(timeout.cause);
  await t.throwsAsync(client.replicaStatus('r9'), { instanceOf: UnavailableError });
});

test('send retries unavailable with the same requestId, then succeeds once', async (t) => {
  const { fake, client } = await setup(t, { timeoutMs: 1_000 });
  let calls = 0;
  fake.handlers.set('send', (b) => {
    calls++;
    if (calls === 1) return { ok: false, error: { code: 'unavailable', message: 'no leader' } };
    if (calls === 2) return 'silence'; // a NATS timeout: the write may or may not have happened
    return { ok: true, message: { ...message, text: String(b.text) } };
  });
  const reply = await client.send({ token: 't', to: 'bob', text: 'once' });
  t.is(reply.message.text, 'once');
  const ids = (fake.requests.get('send') ?? []).map((b) => b.requestId);
  t.is(ids.length, 3);
  t.true(typeof ids[0] === 'string' && (ids[0] as string).length > 0 && (ids[0] as string).length <= 64);
  t.deepEqual(new Set(ids).size, 1, 'every retry carries the same requestId');
  await client.send({ token: 't', to: 'bob', text: 'again', requestId: 'mine' });
  t.is(fake.requests.get('send')?.at(-1)?.requestId, 'mine');
});

test('send gives up at its deadline with UnavailableError, and never retries other errors', async (t) => {
  const { fake, client } = await setup(t);
  fake.handlers.set('send', () => ({ ok: false, error: { code: 'unavailable', message: 'no quorum' } }));
  // Attempts start near 0, 100, 300 and 700 ms (the back-off doubles from 100 ms); a deadline of 1.1 s gives the
  // last one 400 ms to be answered, then ends on the 800 ms pause it cannot fit. A deadline that fell just after
  // an attempt's start would cap that attempt at a few ms, and a loaded machine would turn it into a timeout.
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'x' }, { deadlineMs: 1_100 }), { instanceOf: UnavailableError, message: 'no quorum' });
  const attempts = fake.count('send');
  t.true(attempts >= 2, `retried ${attempts} times`);
  t.is(new Set(fake.requests.get('send')?.map((b) => b.requestId)).size, 1);
  fake.handlers.set('send', () => ({ ok: false, error: { code: 'forbidden', message: 'no' } }));
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'x' }), { instanceOf: ForbiddenError });
  t.is(fake.count('send'), attempts + 1);
});

test('send tells onRetry of each retry, numbered from 1 with its cause, under one requestId', async (t) => {
  const { fake, client } = await setup(t, { timeoutMs: 1_000 });
  let calls = 0;
  fake.handlers.set('send', () => {
    calls++;
    if (calls === 1) return { ok: false, error: { code: 'unavailable', message: 'no leader' } };
    if (calls === 2) return 'silence';
    return { ok: true, message };
  });
  const retries: [number, UnavailableError][] = [];
  await client.send({ token: 't', to: 'bob', text: 'hi' }, { onRetry: (attempt, cause) => retries.push([attempt, cause]) });
  t.deepEqual(retries.map(([attempt]) => attempt), [1, 2]);
  t.is(retries[0]?.[1].message, 'no leader');
  t.true(retries[1]?.[1] instanceof UnavailableError);
  t.truthy(retries[1]?.[1].cause, 'a NATS timeout carries the NATS error');
  t.is(fake.count('send'), retries.length + 1, 'one callback per repeated request');
  t.is(new Set(fake.requests.get('send')?.map((b) => b.requestId)).size, 1);

  // A send that succeeds at once never calls it; a throwing callback does not stop the retries.
  const none: number[] = [];
  await client.send({ token: 't', to: 'bob', text: 'hi' }, { onRetry: (attempt) => none.push(attempt) });
  t.deepEqual(none, []);
  calls = 0;
  const reply = await client.send({ token: 't', to: 'bob', text: 'hi' }, { onRetry: () => { throw new Error('a UI bug'); } });
  t.is(reply.message.id, message.id);
  t.is(calls, 3);
});

test('send that gives up has told onRetry of every retry it made, and of none for other errors', async (t) => {
  const { fake, client } = await setup(t, { timeoutMs: 200 });
  fake.handlers.set('send', () => ({ ok: false, error: { code: 'unavailable', message: 'no quorum' } }));
  const retries: number[] = [];
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'x' }, { deadlineMs: 800, onRetry: (attempt) => retries.push(attempt) }), { instanceOf: UnavailableError });
  t.true(retries.length >= 1);
  // The last retry may have timed out at the client before the fake took it in: let it arrive (NATS keeps order per connection).
  await client.nc.flush();
  await fake.link.nc.flush();
  t.deepEqual(retries, Array.from({ length: fake.count('send') - 1 }, (_, i) => i + 1));
  fake.handlers.set('send', () => ({ ok: false, error: { code: 'forbidden', message: 'no' } }));
  const after: number[] = [];
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'x' }, { onRetry: (attempt) => after.push(attempt) }), { instanceOf: ForbiddenError });
  t.deepEqual(after, []);
});

test('lastAnswer and onAnswer name the replica of each reply, success and error; typed replies are unchanged', async (t) => {
  const { fake, client } = await setup(t);
  t.is(client.lastAnswer, null);
  const answers: Answer[] = [];
  const stop = client.onAnswer((a) => answers.push(a));
  client.onAnswer(() => {
    throw new Error('a listener bug');
  });
  fake.handlers.set('conversations', () => ({ ok: true, conversations: [], replica: 'r2', leader: 'r1' }));
  t.deepEqual(await client.conversations({ token: 't' }), { conversations: [] }, 'the extension fields are not part of the typed reply');
  t.deepEqual(client.lastAnswer, { op: 'conversations', ok: true, replica: 'r2', leader: 'r1' });

  fake.handlers.set('markRead', () => ({ ok: false, error: { code: 'forbidden', message: 'no' }, replica: 'r3', leader: null }));
  await t.throwsAsync(client.markRead({ token: 't', with: 'bob', upToId: 1 }), { instanceOf: ForbiddenError });
  t.deepEqual(client.lastAnswer, { op: 'markRead', ok: false, replica: 'r3', leader: null });

  // A reply that does not name its replica (an older replica) leaves the last answer as it was.
  fake.handlers.set('history', () => ({ ok: true, messages: [], hasMore: false }));
  await client.history({ token: 't', with: 'bob' });
  fake.handlers.set('accounts', () => ({ ok: true, accounts: [], replica: 7 }));
  await client.accounts({ token: 't' });
  t.is(client.lastAnswer?.replica, 'r3');

  stop();
  fake.handlers.set('logout', () => ({ ok: true, replica: 'r4' }));
  await client.logout({ token: 't' });
  t.deepEqual(client.lastAnswer, { op: 'logout', ok: true, replica: 'r4', leader: null });
  t.deepEqual(answers.map((a) => `${a.op}:${a.replica}`), ['conversations:r2', 'markRead:r3']);
});

test('connect fails at once without a server, or waits for one with waitOnFirstConnect', async (t) => {
  const server = await TestNatsServer.start();
  await server.stop(); // a port with nothing listening
  await t.throwsAsync(ChatClient.connect({ servers: server.url }));
  const waiting = ChatClient.connect({ servers: server.url, prefix: PREFIX, waitOnFirstConnect: true });
  await new Promise((r) => setTimeout(r, 300));
  await server.restart();
  t.teardown(() => server.stop());
  const client = await waiting;
  t.teardown(() => client.close());
  t.is(client.status, 'connected');
  await t.throwsAsync(client.cluster(), { instanceOf: UnavailableError }, 'no replica answers: no responders');
});
