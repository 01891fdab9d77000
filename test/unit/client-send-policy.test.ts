/**
 * `send`'s retry policy (actors/client/send-policy.ts) with numbers instead
 * of clocks, then one end-to-end check through a real nats-server that a
 * lost request costs a short attempt, not the client's whole request timeout.
 */
import test from 'ava';
import {
  ATTEMPT_GROWTH, INITIAL_ATTEMPT_MS, LATENCY_WINDOW, MIN_ATTEMPT_MS, MIN_SAMPLES, P99_MULTIPLIER,
  PAUSE_AFTER_TIMEOUT_MS, PAUSE_MAX_MS, PAUSE_MIN_MS, SendRetryPolicy,
} from '../../actors/client/send-policy.ts';
import { fakeClusterWithClient } from './client-fake-cluster.ts';
import { eventually } from '../transport/nats-server.ts';

const NO_CAP = Number.POSITIVE_INFINITY;

function policyWith(latencies: readonly number[]): SendRetryPolicy {
  const policy = new SendRetryPolicy();
  for (const ms of latencies) policy.recordReply(ms);
  return policy;
}

test('before MIN_SAMPLES replies there is no p99 and an attempt waits INITIAL_ATTEMPT_MS', (t) => {
  const policy = policyWith(Array.from({ length: MIN_SAMPLES - 1 }, () => 10));
  t.is(policy.p99(), null);
  t.is(policy.attemptTimeout(0, NO_CAP, NO_CAP), INITIAL_ATTEMPT_MS);
  policy.recordReply(10);
  t.is(policy.p99(), 10);
});

test('an attempt waits P99_MULTIPLIER × the p99 of recent replies, never less than MIN_ATTEMPT_MS', (t) => {
  // 99 fast replies and one slow: the slow one is the p99 of 100 only when it is in the top 1%.
  const policy = policyWith([...Array.from({ length: 98 }, () => 20), 150, 400]);
  t.is(policy.p99(), 150);
  t.is(policy.attemptTimeout(0, NO_CAP, NO_CAP), P99_MULTIPLIER * 150);
  t.is(policyWith(Array.from({ length: 100 }, () => 5)).attemptTimeout(0, NO_CAP, NO_CAP), MIN_ATTEMPT_MS);
});

test('the p99 follows the last LATENCY_WINDOW replies only', (t) => {
  const policy = policyWith(Array.from({ length: LATENCY_WINDOW }, () => 900));
  t.is(policy.p99(), 900);
  for (let i = 0; i < LATENCY_WINDOW; i++) policy.recordReply(50);
  t.is(policy.p99(), 50);
  t.is(policy.timing().samples, LATENCY_WINDOW);
});

test('nonsense latencies are ignored', (t) => {
  const policy = policyWith([-1, Number.NaN, Number.POSITIVE_INFINITY]);
  t.is(policy.timing().samples, 0);
});

test('each timeout in a send lengthens the next attempt by ATTEMPT_GROWTH, up to the cap and the deadline', (t) => {
  const policy = policyWith(Array.from({ length: 100 }, () => 100));
  const base = P99_MULTIPLIER * 100;
  t.is(policy.attemptTimeout(1, NO_CAP, NO_CAP), Math.floor(base * ATTEMPT_GROWTH));
  t.is(policy.attemptTimeout(2, NO_CAP, NO_CAP), Math.floor(base * ATTEMPT_GROWTH ** 2));
  t.is(policy.attemptTimeout(20, 3_000, NO_CAP), 3_000, "the client's request timeout caps it");
  t.is(policy.attemptTimeout(0, 3_000, 120), 120, "what is left of the send's deadline caps it");
  t.is(policy.attemptTimeout(0, 3_000, -5), 1, 'never zero or negative (a NATS request needs a positive timeout)');
});

test('a timeout is retried at once; `unavailable` after a pause doubling from PAUSE_MIN_MS to PAUSE_MAX_MS', (t) => {
  const policy = new SendRetryPolicy();
  t.is(policy.pauseAfter('timeout', 0), PAUSE_AFTER_TIMEOUT_MS);
  t.is(policy.pauseAfter('timeout', 7), PAUSE_AFTER_TIMEOUT_MS);
  t.is(policy.pauseAfter('unavailable', 0), PAUSE_MIN_MS);
  t.is(policy.pauseAfter('unavailable', 1), PAUSE_MIN_MS * 2);
  t.is(policy.pauseAfter('unavailable', 30), PAUSE_MAX_MS);
});

test('a lost request costs one short attempt, and the retry carries the same requestId', async (t) => {
  // A long request timeout, as before issue 9: the policy must not wait for it.
  const { fake, client } = await fakeClusterWithClient(t, 'qcp', 10_000);
  const message = { id: 1, from: 'ada', to: 'bob', text: 'hi', ts: 1, read: false };
  let calls = 0;
  // The first request vanishes, as one handed to a replica behind a dead route does.
  fake.handlers.set('send', () => (++calls === 1 ? 'silence' : { ok: true, message, replica: 'r2', leader: 'r1' }));
  const retries: number[] = [];
  const started = Date.now();
  await client.send({ token: 't', to: 'bob', text: 'hi' }, { onRetry: (attempt) => retries.push(attempt) });
  const elapsed = Date.now() - started;
  t.deepEqual(retries, [1]);
  t.true(elapsed < INITIAL_ATTEMPT_MS + 1_000, `took ${elapsed} ms: one INITIAL_ATTEMPT_MS attempt, not the 10 s request timeout`);
  t.is(new Set(fake.requests.get('send')?.map((b) => b.requestId)).size, 1);
  t.is(client.lastAnswer?.replica, 'r2');
  t.is(client.sendTiming.samples, 1, 'the answered attempt taught the policy its reply time, the lost one did not');
});

test('after a timeout a send is aimed at a replica that answered lately, not at the leader it last heard of', async (t) => {
  const { fake, client } = await fakeClusterWithClient(t, 'qcp', 10_000);
  const message = { id: 1, from: 'ada', to: 'bob', text: 'hi', ts: 1, read: false };
  // A follower answered once; then the leader pauses: the queue group's requests vanish, the follower still answers.
  let paused = false;
  fake.handlers.set('send', () => (paused && fake.subjects.at(-1) === 'qcp.api.send' ? 'silence' : { ok: true, message, replica: 'r2', leader: 'r1' }));
  await client.send({ token: 't', to: 'bob', text: 'one' });
  paused = true;
  const retries: number[] = [];
  await client.send({ token: 't', to: 'bob', text: 'two' }, { onRetry: (attempt) => retries.push(attempt) });
  t.deepEqual(retries, [1]);
  t.deepEqual(fake.subjects.slice(-2), ['qcp.api.send', 'qcp.replica.r2.api.send'], 'the retry went to r2 itself');
  t.is(new Set(fake.requests.get('send')?.slice(-2).map((b) => b.requestId)).size, 1);
});

test('a client that only ever heard from the leader learns the members from `cluster`, and aims its retry at one of them', async (t) => {
  const { fake, client } = await fakeClusterWithClient(t, 'qcm', 10_000);
  const message = { id: 1, from: 'ada', to: 'bob', text: 'hi', ts: 1, read: false };
  const member = (id: string) => ({ id, voter: true, role: id === 'r1' ? 'leader' : 'follower', reachable: true, lastContactMs: 0, matchIndex: 1 });
  fake.handlers.set('cluster', () => ({ ok: true, leader: 'r1', term: 2, commitIndex: 1, members: ['r1', 'r2', 'r3'].map(member), replica: 'r1' }));
  let paused = false;
  // Through the group only the leader answers, until it pauses; aimed at a follower, the follower answers.
  fake.handlers.set('send', () => {
    const subject = fake.subjects.at(-1) ?? '';
    if (subject === 'qcm.api.send') return paused ? 'silence' : { ok: true, message, replica: 'r1', leader: 'r1' };
    return { ok: true, message, replica: subject.split('.')[2], leader: 'r1' };
  });
  await client.send({ token: 't', to: 'bob', text: 'one' });
  t.true(await eventually(() => fake.count('cluster') === 1, 2_000), 'the first answer from an unknown replica asks `cluster` in the background');
  // The `cluster` reply must have arrived (it is asked in the background); asking again resolves after it.
  await client.cluster();
  paused = true;
  await client.send({ token: 't', to: 'bob', text: 'two' });
  const last = fake.subjects.filter((s) => s.endsWith('.send')).slice(-2);
  t.is(last[0], 'qcm.api.send');
  t.regex(last[1] ?? '', /^qcm\.replica\.r[23]\.api\.send$/, 'the retry went to a follower the `cluster` reply listed');
  t.is(fake.count('cluster'), 2, 'one background ask, then the test\'s own: a known member does not ask again');
});

test("`fixed` mode is send's old policy: the whole request timeout per attempt, and a doubling pause after every failure", (t) => {
  const policy = policyWith(Array.from({ length: 100 }, () => 10));
  const fixed = new SendRetryPolicy('fixed');
  for (let i = 0; i < 100; i++) fixed.recordReply(10);
  t.is(policy.attemptTimeout(0, 3_000, 5_000), MIN_ATTEMPT_MS);
  t.is(fixed.attemptTimeout(0, 3_000, 5_000), 3_000);
  t.is(fixed.attemptTimeout(3, 3_000, 700), 700);
  t.is(fixed.pauseAfter('timeout', 0, 0), PAUSE_MIN_MS);
  t.is(fixed.pauseAfter('timeout', 0, 2), PAUSE_MIN_MS * 4);
  t.is(fixed.pauseAfter('unavailable', 1, 3), PAUSE_MIN_MS * 8);
});
