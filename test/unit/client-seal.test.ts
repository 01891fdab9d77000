/**
 * The typed client seals (docs/protocol.md §2.5): every request carries the
 * connection's replyKey and its reply is opened; a clear reply is refused
 * (NotSealedError) unless it is a refusal a sealing replica sends before it
 * can read the key; every login gets its own liveKey, and that session's
 * frames are opened while clear ones are dropped (history repairs).
 */
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import {
  BadRequestError,
  InternalError,
  NotSealedError,
  sealOnce,
  sealKeyPairFrom,
  TooLargeError,
  UnavailableError,
  type LiveEvent,
} from '../../actors/client/index.ts';
import { eventually } from '../transport/nats-server.ts';
import { fakeClusterWithClient } from './client-fake-cluster.ts';

const PREFIX = 'qcs';

async function setup(t: ExecutionContext) {
  const { fake, client } = await fakeClusterWithClient(t, PREFIX, 2_000);
  fake.handlers.set('login', () => ({ ok: true, token: 'tok-sealed', username: 'me' }));
  return { fake, client };
}

test('sealed replies are opened; the same request answered in the clear is refused as NotSealedError', async (t) => {
  const { fake, client } = await setup(t);
  t.deepEqual(await client.login({ username: 'me', password: 'password1' }), { token: 'tok-sealed', username: 'me' });
  fake.sealing = false;
  const refused = await t.throwsAsync(client.login({ username: 'me', password: 'password1' }));
  t.true(refused instanceof NotSealedError);
  t.true(refused instanceof InternalError, 'an internal error to callers that know no more');
  t.regex(refused?.message ?? '', /in the clear though this client asked for it sealed/);
  fake.handlers.set('logout', () => ({ ok: false, error: { code: 'unauthorized', message: 'unknown or revoked token' } }));
  t.true((await t.throwsAsync(client.logout({ token: 't' }))) instanceof NotSealedError, 'a clear unauthorized is refused too');
});

test('the clear refusals a sealing replica sends before reading the key come through as their typed errors', async (t) => {
  const { fake, client } = await setup(t);
  fake.sealing = false;
  const cases = [
    ['bad_request', BadRequestError],
    ['too_large', TooLargeError],
    ['unavailable', UnavailableError],
  ] as const;
  for (const [code, kind] of cases) {
    fake.handlers.set('conversations', () => ({ ok: false, error: { code, message: `clear ${code}` } }));
    const err = await t.throwsAsync(client.conversations({ token: 't' }));
    t.true(err instanceof kind, code);
    t.is(err?.message, `clear ${code}`);
  }
});

test('a reply sealed to another key, or for another subject, does not open: InternalError, never a guess', async (t) => {
  const { fake, client } = await setup(t);
  fake.sealing = false;
  const stranger = sealKeyPairFrom(randomBytes(32)).publicKey;
  fake.handlers.set('conversations', () => ({ sealed: sealOnce(stranger, 'reply', '_INBOX.x', '{"ok":true,"conversations":[]}', randomBytes) }));
  const err = await t.throwsAsync(client.conversations({ token: 't' }));
  t.true(err instanceof InternalError);
  t.regex(err?.message ?? '', /sealed reply does not open/);
});

test('a session this client logged in opens its sealed frames and drops clear ones; history repairs what was dropped', async (t) => {
  const { fake, client } = await setup(t);
  const { token } = await client.login({ username: 'me', password: 'password1' });
  t.regex(fake.liveKeys.get(token) ?? '', /^[A-Za-z0-9_-]{43}$/, 'the login carried a liveKey');
  const events: LiveEvent[] = [];
  const live = client.live(token, (e) => events.push(e), { repairEveryMs: 0 });
  await live.ready;
  const sealed = fake.commit('bob', 'me', 'sealed one');
  fake.publish(token, { type: 'message', message: sealed });
  t.true(await eventually(() => events.some((e) => e.type === 'message')));
  fake.sealing = false;
  const clear = fake.commit('bob', 'me', 'sent in the clear by an old replica');
  fake.publish(token, { type: 'message', message: clear });
  fake.sealing = true;
  const after = fake.commit('bob', 'me', 'sealed two');
  fake.publish(token, { type: 'message', message: after });
  t.true(await eventually(() => events.filter((e) => e.type === 'message').length === 2));
  const shown = (): number[] => events.flatMap((e) => (e.type === 'message' ? [e.message.id] : []));
  t.deepEqual(shown(), [sealed.id, after.id], 'the clear frame was not shown');
  live.repairNow();
  t.true(await eventually(() => events.some((e) => e.type === 'repaired')));
  t.deepEqual(shown(), [sealed.id, after.id, clear.id], 'the repair brought it from history');
  await live.close();
});

test('live for a token this client did not log in takes clear frames, as before', async (t) => {
  const { fake, client } = await setup(t);
  const events: LiveEvent[] = [];
  const live = client.live('token-from-elsewhere', (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  fake.publish('token-from-elsewhere', { type: 'read', by: 'bob', with: 'me', upToId: 1 });
  t.true(await eventually(() => events.some((e) => e.type === 'read')));
  await live.close();
});
