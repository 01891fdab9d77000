import test, { type ExecutionContext } from 'ava';
import { type ChatMessage, type LiveEvent } from '../../actors/client/index.ts';
import { eventually } from '../transport/nats-server.ts';
import { fakeClusterWithClient } from './client-fake-cluster.ts';

const PREFIX = 'qcl';
const TOKEN = 'token-of-me';

async function setup(t: ExecutionContext) {
  const { server, fake, client } = await fakeClusterWithClient(t, PREFIX, 2_000);
  const events: LiveEvent[] = [];
  const shown = () => events.flatMap((e) => (e.type === 'message' ? [e.message.id] : []));
  return { server, fake, client, events, shown };
}

const frame = (message: ChatMessage) => ({ type: 'message', message }) as const;

test('history before the baseline is not live news; duplicates and reordering show each message once', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  const old = fake.commit('bob', 'me', 'old');
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  fake.publish(TOKEN, frame(old)); // a late copy of something already in history
  const m2 = fake.commit('bob', 'me', 'two');
  const m3 = fake.commit('me', 'carol', 'three, from my other session');
  const m4 = fake.commit('carol', 'me', 'four');
  for (const m of [m3, m2, m2, m4, m3, m2, m4]) fake.publish(TOKEN, frame(m)); // five replicas' copies, out of order
  fake.publish(TOKEN, '{"type":"typing","who":"bob"}'); // unknown types are skipped
  fake.publish(TOKEN, 'garbage');
  fake.publish(TOKEN, { type: 'read', by: 'bob', with: 'me', upToId: 3 });
  t.true(await eventually(() => events.some((e) => e.type === 'read')));
  t.deepEqual(shown(), [m3.id, m2.id, m4.id]);
  t.deepEqual(events.at(-1), { type: 'read', by: 'bob', with: 'me', upToId: 3 });
  t.deepEqual(live.positions(), { bob: old.id }, 'only what a repair confirmed is a safe resume point');
  live.repairNow();
  t.true(await eventually(() => events.some((e) => e.type === 'repaired')));
  t.deepEqual(live.positions(), { bob: m2.id, carol: m4.id });
  t.deepEqual(shown(), [m3.id, m2.id, m4.id], 'the repair found nothing new to show');
});

test('gap repair shows, from history, exactly the messages whose frames were lost', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  fake.commit('bob', 'me', 'before');
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  const sent: ChatMessage[] = [];
  for (let i = 0; i < 250; i++) sent.push(fake.commit(i % 3 === 0 ? 'carol' : 'bob', 'me', `m${i}`));
  // frames for every other message only; the rest were "lost on the wire"
  for (const m of sent.filter((_, i) => i % 2 === 0)) fake.publish(TOKEN, frame(m));
  t.true(await eventually(() => shown().length === 125));
  live.repairNow();
  t.true(await eventually(() => events.some((e) => e.type === 'repaired')));
  t.deepEqual([...shown()].sort((a, b) => a - b), sent.map((m) => m.id), 'every message once, none from before the baseline');
  t.like(events.find((e) => e.type === 'repaired'), { delivered: 125 });
  // frames for everything arriving late after the repair change nothing
  for (const m of sent) fake.publish(TOKEN, frame(m));
  const extra = fake.commit('bob', 'me', 'after');
  fake.publish(TOKEN, frame(extra));
  t.true(await eventually(() => shown().includes(extra.id)));
  t.is(shown().length, 251);
});

test('history is paged during repair (more than one page per conversation)', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  for (let i = 0; i < 2_345; i++) fake.commit('bob', 'me', `m${i}`);
  live.repairNow();
  t.true(await eventually(() => events.some((e) => e.type === 'repaired')));
  t.is(shown().length, 2_345);
  t.is(new Set(shown()).size, 2_345);
  t.is(fake.count('history'), 3, 'pages of 1,000');
});

test('resuming with `since` delivers what was missed, once', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  const a = fake.commit('bob', 'me', 'seen last run');
  const b = fake.commit('bob', 'me', 'missed');
  const c = fake.commit('dave', 'me', 'missed, new partner');
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', since: { bob: a.id }, repairEveryMs: 0 });
  await live.ready;
  t.true(await eventually(() => events.some((e) => e.type === 'repaired')));
  t.deepEqual(shown().sort((x, y) => x - y), [b.id, c.id]);
});

test('after a nats-server restart the session repairs the gap by itself', async (t) => {
  const { server, fake, client, events, shown } = await setup(t);
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  const before = fake.commit('bob', 'me', 'before');
  fake.publish(TOKEN, frame(before));
  t.true(await eventually(() => shown().length === 1));
  await server.stop();
  const during = [fake.commit('bob', 'me', 'during 1'), fake.commit('carol', 'me', 'during 2')]; // committed while we were cut off
  await server.restart();
  t.true(await eventually(() => shown().length === 3));
  t.deepEqual(shown(), [before.id, ...during.map((m) => m.id)]);
  t.true(events.some((e) => e.type === 'repaired'));
});

test('a failed repair is reported and retried; a revoked session closes', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await live.ready;
  const m = fake.commit('bob', 'me', 'x');
  let failures = 1;
  const real = fake.handlers.get('conversations')!;
  fake.handlers.set('conversations', (b, raw) => (failures-- > 0 ? { ok: false, error: { code: 'unavailable', message: 'election' } } : real(b, raw)));
  live.repairNow();
  t.true(await eventually(() => shown().includes(m.id)));
  t.like(events.find((e) => e.type === 'error'), { type: 'error' });
  fake.publish(TOKEN, { type: 'revoked' });
  await live.closed;
  t.is(events.at(-1)?.type, 'revoked');
  fake.publish(TOKEN, frame(fake.commit('bob', 'me', 'after close')));
  await new Promise((r) => setTimeout(r, 100));
  t.is(shown().length, 1, 'nothing after close');
});

test('live needs to know whose session it is', async (t) => {
  const { fake, client } = await setup(t);
  t.throws(() => client.live('never-logged-in', () => undefined), { instanceOf: TypeError });
  fake.handlers.set('login', () => ({ ok: true, token: 'tok-ada', username: 'ada' }));
  await client.login({ username: 'ada', password: 'password1' });
  const live = client.live('tok-ada', () => undefined, { repairEveryMs: 0 });
  await live.ready;
  await live.close();
  t.pass();
});

test('an unavailable baseline is retried; frames that arrive before it are kept and judged against it', async (t) => {
  const { fake, client, events, shown } = await setup(t);
  const old = fake.commit('bob', 'me', 'old');
  const real = fake.handlers.get('conversations')!;
  let refuse = true;
  let fresh: ChatMessage | undefined;
  fake.handlers.set('conversations', (b, raw) => {
    if (refuse) return { ok: false, error: { code: 'unavailable', message: 'no leader' } };
    const reply = real(b, raw);
    // committed just after the baseline was read; its frame overtakes the reply
    fresh = fake.commit('bob', 'me', 'fresh');
    fake.publish(TOKEN, frame(fresh));
    return reply;
  });
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  t.true(await eventually(() => events.some((e) => e.type === 'error')));
  fake.publish(TOKEN, frame(old)); // arrives before the baseline; it turns out to be history
  refuse = false;
  await live.ready;
  t.true(await eventually(() => shown().length === 1));
  t.deepEqual(shown(), [fresh?.id]);
});

test('an unauthorized token at the baseline ends the session', async (t) => {
  const { fake, client, events } = await setup(t);
  fake.handlers.set('conversations', () => ({ ok: false, error: { code: 'unauthorized', message: 'revoked' } }));
  const live = client.live(TOKEN, (e) => events.push(e), { username: 'me', repairEveryMs: 0 });
  await t.throwsAsync(live.ready, { message: 'revoked' });
  await live.closed;
  t.deepEqual(events, [{ type: 'revoked' }]);
});
