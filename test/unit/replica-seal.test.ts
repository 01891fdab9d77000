/**
 * Sealed replies in the request layer (actors/replica/requests.ts,
 * docs/protocol.md §2.5): with a usable `replyKey` every reply is sealed to
 * the request's reply subject, errors included, also when the work was
 * forwarded to the leader (whose reply to the forwarder is sealed too); a
 * malformed key gets a clear `bad_request`. Real processes are covered by
 * test/integration/security-seal.test.ts.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { RequestHandler, type ClientReply, type RequestContext } from '../../actors/replica/requests.ts';
import { Opener, parseRequest, SealError, sealKeyPairFrom, type SealedEnvelope } from '../../actors/protocol/index.ts';
import { Waiters } from '../../actors/replica/waiters.ts';
import type { CommandReply } from '../../actors/replica/apply.ts';
import type { RuntimeClock, WireReply } from '../../actors/replica/ports.ts';

const INBOX = '_INBOX.client.1';
const LOGIN = { username: 'ada', password: 'correct horse' };
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

const realClock: RuntimeClock = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
  sleep: async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

/**
 * A replica whose application answers every write at prepare with `answer` (as a repeated send
 * is answered), so a leader needs no database; `ask` carries its forwards.
 */
function replica(id: string, leader: boolean, answer: WireReply, ask: (subject: string, payload: string) => Promise<string> = async () => JSON.stringify({ ok: false, retry: true })) {
  const forwards: unknown[] = [];
  const ctx: RequestContext = {
    id,
    prefix: 'qc',
    bus: {
      request: async (subject, payload) => {
        forwards.push(JSON.parse(payload));
        return await ask(subject, payload);
      },
    },
    clock: realClock,
    random: { uuid: () => 'u', bytes: (n) => randomBytes(n) },
    application: {
      parse: (op, body) => parseRequest(op, body),
      prepare: async () => ({ kind: 'answer', reply: answer }),
      read: async () => ({ ok: true, conversations: [] }),
    },
    waiters: new Waiters<CommandReply>(0),
    requestDeadlineMs: 300,
    maxRequestBytes: 64 * 1024,
    role: () => ({ leader, leaderId: 'r1', ready: leader, term: 2, applyBarrier: 0 }),
    propose: () => undefined,
    readIndex: () => undefined,
    proposeConfig: () => undefined,
    transferLeadership: () => undefined,
    configuration: () => ({ voters: ['r1', 'r2', 'r3'], learners: [] }),
    clusterBody: () => ({ leader: 'r1', term: 2, commitIndex: 1, members: [] }),
    votersInStep: () => new Set(['r1']),
    log: { warn: () => undefined, error: () => undefined, debug: () => undefined },
    stopping: () => false,
  };
  return { handler: new RequestHandler(ctx), forwards };
}

const client = (): Opener => new Opener(sealKeyPairFrom(randomBytes(32)));

function open(reply: ClientReply, key: Opener, subject = INBOX): unknown {
  if (!('sealed' in reply)) throw new Error(`expected a sealed reply, got ${JSON.stringify(reply)}`);
  const opened = key.open(reply.sealed, 'reply', subject);
  if (opened instanceof SealError) throw opened;
  return JSON.parse(opened.toString('utf8'));
}

test('the leader answers a request with replyKey sealed to it on the reply subject, and only there', async (t) => {
  const key = client();
  const { handler } = replica('r1', true, { ok: true, token: 'the-secret-token', username: 'ada' });
  const reply = await handler.handleClient('login', encode({ ...LOGIN, replyKey: key.publicKey }), INBOX);
  t.deepEqual(Object.keys(reply), ['sealed']);
  t.false(JSON.stringify(reply).includes('the-secret-token'));
  t.deepEqual(open(reply, key), { leader: 'r1', ok: true, token: 'the-secret-token', username: 'ada', replica: 'r1' });
  t.true(client().open((reply as { sealed: SealedEnvelope }).sealed, 'reply', INBOX) instanceof SealError);
  t.true(key.open((reply as { sealed: SealedEnvelope }).sealed, 'reply', '_INBOX.other.1') instanceof SealError);
});

test('without replyKey the reply is exactly as before (clear, stamped)', async (t) => {
  const { handler } = replica('r1', true, { ok: true, token: 'tok', username: 'ada' });
  t.deepEqual(await handler.handleClient('login', encode(LOGIN), INBOX), { leader: 'r1', ok: true, token: 'tok', username: 'ada', replica: 'r1' });
});

test('errors after the key was read are sealed too: bad_request of another field, unauthorized, unavailable', async (t) => {
  const key = client();
  const { handler } = replica('r1', true, { ok: false, error: { code: 'unauthorized', message: 'wrong username or password' } });
  const badField = await handler.handleClient('login', encode({ username: 'ada', replyKey: key.publicKey }), INBOX);
  t.like(open(badField, key), { ok: false, error: { code: 'bad_request', message: 'login: password is required' }, replica: 'r1' });
  const refused = await handler.handleClient('login', encode({ ...LOGIN, replyKey: key.publicKey }), INBOX);
  t.like(open(refused, key), { ok: false, error: { code: 'unauthorized' } });
  // A follower that knows no reachable leader: `unavailable` at the deadline, sealed.
  const { handler: follower } = replica('r2', false, { ok: true });
  const unavailable = await follower.handleClient('send', encode({ token: 't', to: 'bob', text: 'x', requestId: 'q', replyKey: key.publicKey }), INBOX);
  t.like(open(unavailable, key), { ok: false, error: { code: 'unavailable' }, replica: 'r2' });
  // cluster and reads seal as well.
  t.like(open(await handler.handleClient('cluster', encode({ replyKey: key.publicKey }), INBOX), key), { ok: true, leader: 'r1', replica: 'r1' });
});

test('a malformed or low-order replyKey, or no reply subject, gets a clear bad_request naming replyKey; nothing is done', async (t) => {
  const key = client();
  const { handler, forwards } = replica('r2', false, { ok: true });
  for (const bad of [42, '', 'short', `${key.publicKey}A`, Buffer.alloc(32).toString('base64url'), Buffer.from([1, ...Buffer.alloc(31)]).toString('base64url')]) {
    const reply = await handler.handleClient('send', encode({ token: 't', to: 'bob', text: 'x', requestId: 'q', replyKey: bad }), INBOX);
    t.like(reply, { ok: false, error: { code: 'bad_request' }, replica: 'r2' }, JSON.stringify(bad));
    t.regex((reply as { error: { message: string } }).error.message, /^replyKey /);
  }
  t.like(await handler.handleClient('send', encode({ token: 't', to: 'bob', text: 'x', requestId: 'q', replyKey: key.publicKey }), undefined), { ok: false, error: { code: 'bad_request' } });
  t.is(forwards.length, 0, 'nothing was forwarded for a refused request');
});

test('refusals before the body is read stay clear: too large, not JSON', async (t) => {
  const { handler } = replica('r1', true, { ok: true });
  t.like(await handler.handleClient('send', new Uint8Array(65 * 1024), INBOX), { ok: false, error: { code: 'too_large' } });
  t.like(await handler.handleClient('send', encode('{'), INBOX), { ok: false, error: { code: 'bad_request' } });
});

test('forwarded: the leader seals its reply to the forwarder, which opens it and seals the stamped reply to the client', async (t) => {
  const key = client();
  const secret = { ok: true as const, token: 'the-secret-token', username: 'ada' };
  const { handler: leader } = replica('r1', true, secret);
  const onTheWire: string[] = [];
  const { handler: follower, forwards } = replica('r2', false, { ok: true }, async (_subject, payload) => {
    const reply = JSON.stringify(await leader.handleForward(new TextEncoder().encode(payload)));
    onTheWire.push(reply);
    return reply;
  });
  const reply = await follower.handleClient('login', encode({ ...LOGIN, replyKey: key.publicKey }), INBOX);
  t.deepEqual(open(reply, key), { leader: 'r1', ...secret, replica: 'r2' });
  t.is(forwards.length, 1);
  t.like(forwards[0], { kind: 'write', op: 'login', seal: { subject: INBOX } });
  t.false(JSON.stringify(forwards[0]).includes(key.publicKey), 'the client key does not travel; the forwarder seals for it');
  t.is(onTheWire.length, 1);
  t.deepEqual(Object.keys(JSON.parse(onTheWire[0]!) as object), ['sealed']);
  t.false(onTheWire[0]!.includes('the-secret-token'));
});

test('forwarded without replyKey: no seal asked, the leader answers in the clear as before', async (t) => {
  const { handler: leader } = replica('r1', true, { ok: true, token: 'tok', username: 'ada' });
  const { handler: follower, forwards } = replica('r2', false, { ok: true }, async (_subject, payload) => JSON.stringify(await leader.handleForward(new TextEncoder().encode(payload))));
  t.deepEqual(await follower.handleClient('login', encode(LOGIN), INBOX), { leader: 'r1', ok: true, token: 'tok', username: 'ada', replica: 'r2' });
  t.false('seal' in (forwards[0] as object));
});

test('a leader refuses a forward whose seal key is malformed, in the clear', async (t) => {
  const { handler: leader } = replica('r1', true, { ok: true });
  const reply = await leader.handleForward(encode({ kind: 'write', op: 'login', body: LOGIN, deadlineMs: 100, seal: { key: 'nope', subject: INBOX } }));
  t.like(reply, { ok: false, error: { code: 'bad_request' } });
});

test('whatever a client puts in replyKey, the replica answers (clear bad_request, or sealed when it is a usable key) and never throws', async (t) => {
  const { handler } = replica('r1', true, { ok: true, token: 'tok', username: 'ada' });
  const usable = client().publicKey;
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.anything(), fc.string(), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.constant(usable)), async (replyKey) => {
      const reply = await handler.handleClient('login', encode({ ...LOGIN, replyKey }), INBOX);
      // JSON leaves an undefined field out: no replyKey, a clear reply as before.
      if (replyKey === undefined) return 'ok' in reply && reply.ok;
      if ('sealed' in reply) return replyKey === usable || typeof replyKey === 'string';
      return !reply.ok && reply.error.code === 'bad_request' && reply.error.message.startsWith('replyKey ');
    }),
    { numRuns: 300 },
  );
  t.pass();
});
