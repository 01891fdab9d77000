/**
 * The request layer names the replica that answered on every client reply
 * (docs/protocol.md §1.1): success and error, served locally or forwarded to
 * the leader. The context is a small in-memory double; the real replicas are
 * covered by test/integration/replica-bad-requests.test.ts.
 */
import test from 'ava';
import type { Knex } from 'knex';
import { RequestHandler, stampReply, type RequestContext } from '../../actors/replica/requests.ts';
import { forwardSubject } from '../../actors/protocol/index.ts';
import { Waiters } from '../../actors/replica/waiters.ts';
import type { CommandReply } from '../../actors/replica/apply.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import type { RuntimeClock } from '../../actors/replica/ports.ts';

const PREFIX = 'qc-test';
const SEND = { token: 'tok', to: 'bob', text: 'hello', requestId: 'req-1' };
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

interface Role {
  leader: boolean;
  leaderId: string | null;
}

/** Real time: the deadlines here are a few hundred milliseconds. */
const realClock: RuntimeClock = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
  sleep: async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/** A handler for replica `id` whose role, forward answers and cluster body the test controls. */
function handlerFor(id: string, role: Role, forwardAnswer: (subject: string, body: unknown) => unknown = () => ({ ok: false, retry: true })) {
  const forwarded: { subject: string; body: unknown }[] = [];
  const bus = {
    request: async (subject: string, payload: string) => {
      const body = JSON.parse(payload) as unknown;
      forwarded.push({ subject, body });
      return JSON.stringify(forwardAnswer(subject, body));
    },
  };
  const ctx: RequestContext = {
    id,
    prefix: PREFIX,
    bus,
    clock: realClock,
    random: { uuid: () => `u${forwarded.length}`, bytes: (n) => new Uint8Array(n) },
    // Parsing only: these tests never reach prepare or read, so the reader is never used.
    application: chatApplication({ prefix: PREFIX, reader: {} as Knex, log: { error: () => undefined } }),
    waiters: new Waiters<CommandReply>(0),
    requestDeadlineMs: 200,
    maxRequestBytes: 64 * 1024,
    role: () => ({ leader: role.leader, leaderId: role.leaderId, ready: role.leader, term: 3, applyBarrier: 0 }),
    propose: () => undefined,
    readIndex: () => undefined,
    proposeConfig: () => undefined,
    transferLeadership: () => undefined,
    configuration: () => ({ voters: ['r1', 'r2', 'r3'], learners: [] }),
    clusterBody: () => ({ leader: id, term: 3, commitIndex: 9, members: [] }),
    votersInStep: () => new Set(['r1', 'r2', 'r3']),
    log: { warn: () => undefined, error: () => undefined, debug: () => undefined },
    stopping: () => false,
  };
  return { handler: new RequestHandler(ctx), forwarded };
}

test('a forwarded write is answered by the replica that received it, not the leader that did the work', async (t) => {
  const message = { id: 7, from: 'ada', to: 'bob', text: 'hello', ts: 1, read: false };
  const { handler, forwarded } = handlerFor('r2', { leader: false, leaderId: 'r1' }, () => ({ ok: true, message, replica: 'r1', leader: 'r1' }));
  const reply = await handler.handleClient('send', encode(SEND));
  t.deepEqual(reply, { ok: true, message, replica: 'r2', leader: 'r1' });
  t.is(forwarded.length, 1);
  t.is(forwarded[0]?.subject, forwardSubject(PREFIX, 'r1'));
});

test('a forwarded write the leader refused carries the receiving replica on the error too', async (t) => {
  const { handler } = handlerFor('r3', { leader: false, leaderId: 'r1' }, () => ({ ok: false, error: { code: 'forbidden', message: 'no' } }));
  t.deepEqual(await handler.handleClient('send', encode(SEND)), { ok: false, error: { code: 'forbidden', message: 'no' }, replica: 'r3', leader: 'r1' });
});

test('bad requests, unknown ops and oversized bodies name the replica and the leader it knows', async (t) => {
  const { handler, forwarded } = handlerFor('r4', { leader: false, leaderId: 'r1' });
  for (const [op, body] of [
    ['send', new TextEncoder().encode('{"token": ')],
    ['send', encode({ ...SEND, text: '' })],
    ['noSuchOp', encode({})],
    ['history', encode({ token: 'x', with: 'bob', pad: 'x'.repeat(70 * 1024) })],
  ] as const) {
    const reply = (await handler.handleClient(op, body)) as { ok: boolean; error?: { code: string }; replica?: string; leader?: string | null };
    t.false(reply.ok, op);
    t.true(reply.error?.code === 'bad_request' || reply.error?.code === 'too_large', `${op}: ${reply.error?.code}`);
    t.is(reply.replica, 'r4');
    t.is(reply.leader, 'r1');
  }
  t.is(forwarded.length, 0, 'nothing bad reaches the leader');
});

test('unavailable while no leader is known says which replica gave up, and that it knew no leader', async (t) => {
  const { handler } = handlerFor('r5', { leader: false, leaderId: null });
  const reply = (await handler.handleClient('send', encode(SEND))) as { ok: boolean; error?: { code: string }; replica?: string; leader?: unknown };
  t.is(reply.error?.code, 'unavailable');
  t.is(reply.replica, 'r5');
  t.is(reply.leader, null);
});

test('the leader answering `cluster` names itself; the body keeps its own leader field', async (t) => {
  const { handler } = handlerFor('r1', { leader: true, leaderId: 'r1' });
  t.deepEqual(await handler.handleClient('cluster', encode({})), { ok: true, leader: 'r1', term: 3, commitIndex: 9, members: [], replica: 'r1' });
});

test('an empty body is a bad request on `cluster` and on operator requests (PROTOCOL.md: every body is a JSON object)', async (t) => {
  const { handler } = handlerFor('r1', { leader: true, leaderId: 'r1' });
  for (const answer of [await handler.handleClient('cluster', new Uint8Array()), await handler.handleAdmin('members', new Uint8Array())]) {
    const reply = answer as { ok: boolean; error?: { code: string; message: string } };
    t.false(reply.ok);
    t.is(reply.error?.code, 'bad_request');
    t.regex(reply.error?.message ?? '', /empty/);
  }
});

test('admin replies are stamped like client replies', async (t) => {
  const { handler } = handlerFor('r2', { leader: false, leaderId: null });
  const reply = (await handler.handleAdmin('members', encode({ action: 'nonsense' }))) as { ok: boolean; replica?: string };
  t.false(reply.ok);
  t.is(reply.replica, 'r2');
});

test('stampReply overwrites a relayed replica and keeps a body leader', (t) => {
  t.deepEqual(stampReply({ ok: true, replica: 'r1' }, 'r2', 'r1'), { ok: true, replica: 'r2', leader: 'r1' });
  t.deepEqual(stampReply({ ok: true, leader: 'r9' }, 'r2', 'r1'), { ok: true, leader: 'r9', replica: 'r2' });
  t.deepEqual(stampReply({ ok: false, error: { code: 'internal', message: 'x' } }, 'r2', null), { ok: false, error: { code: 'internal', message: 'x' }, leader: null, replica: 'r2' });
});

test('a leader that answers "retry" on the forward subject is asked again until the deadline, then unavailable', async (t) => {
  const { handler, forwarded } = handlerFor('r2', { leader: false, leaderId: 'r1' }, () => ({ ok: false, retry: true }));
  const reply = (await handler.handleClient('send', encode(SEND))) as { ok: boolean; error?: { code: string }; retry?: unknown };
  t.is(reply.error?.code, 'unavailable');
  t.is(reply.retry, undefined, 'the forward wire form of "retry elsewhere" never reaches a client');
  t.true(forwarded.length > 1, `asked ${forwarded.length} times`);
});

test('a follower asked to do leader work on the forward subject answers the retry wire form', async (t) => {
  const { handler } = handlerFor('r2', { leader: false, leaderId: 'r1' });
  t.deepEqual(await handler.handleForward(encode({ kind: 'readIndex', deadlineMs: 100 })), { ok: false, retry: true });
  t.deepEqual(await handler.handleForward(encode({ kind: 'cluster' })), { ok: false, retry: true });
  const bad = (await handler.handleForward(encode({ kind: 'nonsense' }))) as { error?: { code: string } };
  t.is(bad.error?.code, 'bad_request');
});
