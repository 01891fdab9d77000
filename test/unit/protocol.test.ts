import test from 'ava';
import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminQueueGroup,
  adminSubject,
  ANY_TOKEN,
  apiQueueGroup,
  apiSubject,
  CHAT_OPS,
  forwardSubject,
  inspectSubject,
  isProtocolError,
  liveSubject,
  OPS,
  parseRequestBytes,
  ProtocolError,
  REPLICA_ID_PATTERN,
  Sealer,
  SealError,
  sessionKeyOf,
  sessionKeyOfTokenHash,
  statusSubject,
  StatusReply,
  type ChatOp,
  type StatusFields,
} from '../../actors/protocol/index.ts';
import { ChatClient } from '../../actors/client/index.ts';
import type { ReplicaStatus } from '../../actors/replica/index.ts';
import type { NatsLink } from '../../actors/transport/nats-connection.ts';
import { openReplicaStore, StoreConfigError } from '../../storage/index.ts';

const message = { id: 3, from: 'ada', to: 'bob', text: 'hi', ts: 1_700_000_000_000, read: false };
/** A well-formed success body per op, for the fake replica below. */
const REPLIES: Record<ChatOp, object> = {
  register: { username: 'ada' },
  login: { token: 'tok', username: 'ada' },
  logout: {},
  accounts: { accounts: ['ada'] },
  send: { message },
  history: { messages: [message], hasMore: false },
  conversations: { conversations: [] },
  markRead: {},
  deleteMessages: { deleted: 1 },
  deleteAccount: {},
};
/** One valid body per op: the property below mutates a field or two, so bodies land on both sides of each rule. */
const VALID: Record<ChatOp, Record<string, unknown>> = {
  register: { username: 'ada', password: 'password1' },
  login: { username: 'ada', password: 'password1' },
  logout: { token: 't' },
  accounts: { token: 't', pattern: 'a*', limit: 10 },
  send: { token: 't', to: 'bob', text: 'hi', requestId: 'r-1' },
  history: { token: 't', with: 'bob', afterId: 0, limit: 5 },
  conversations: { token: 't' },
  markRead: { token: 't', with: 'bob', upToId: 3 },
  deleteMessages: { token: 't', ids: [1, 2], forEveryone: true },
  deleteAccount: { token: 't', password: 'password1' },
};
const FIELDS = ['token', 'username', 'password', 'to', 'text', 'requestId', 'with', 'afterId', 'beforeId', 'limit', 'upToId', 'ids', 'forEveryone', 'pattern', 'after'];

/** Values near every rule's edges, plus anything at all. */
const value = fc.oneof(
  fc.constantFrom('ada', 'b.o_b-1', 'password1', '', 'a b', 'a\ud800', '\udc00x', '😀'.repeat(4_000), 'x'.repeat(4_001), 'x'.repeat(32), 'x'.repeat(33), 'p'.repeat(256), 'p'.repeat(257), '*', 'r'.repeat(65)),
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -1, max: 1_001 }),
  // JSON.stringify changes these (undefined drops the field, a Date becomes a string): the client must judge what is sent.
  fc.constantFrom(0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2, null, true, false, undefined, new Date(0)),
  fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 }),
  fc.anything(),
);
const body = fc.record({
  op: fc.constantFrom(...CHAT_OPS),
  set: fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 2 }),
  drop: fc.option(fc.constantFrom(...FIELDS), { nil: undefined }),
}).map(({ op, set, drop }) => {
  const b: Record<string, unknown> = { ...VALID[op], ...set };
  if (drop !== undefined) delete b[drop];
  return { op, body: b };
});

/** A client over a fake link whose "replica" validates with the real server path (parseRequestBytes) and records what arrives. */
/** A replica double that validates like a replica and, as one does, seals its reply to the request's replyKey (docs/protocol.md §2.5). */
function clientWithFakeReplica() {
  const arrived: string[] = [];
  const sealer = new Sealer({ randomBytes, now: Date.now });
  const inbox = '_INBOX.fake.1';
  const nc = {
    request: async (subject: string, payload: string) => {
      arrived.push(payload);
      const op = subject.slice(subject.lastIndexOf('.') + 1) as ChatOp;
      const parsed = parseRequestBytes(op, new TextEncoder().encode(payload));
      const reply = isProtocolError(parsed) ? parsed.toReply() : { ok: true, ...REPLIES[op] };
      const target = sealer.target((JSON.parse(payload) as { replyKey?: unknown }).replyKey);
      if (target instanceof SealError) throw target;
      return { data: new TextEncoder().encode(JSON.stringify({ sealed: sealer.seal(target, 'reply', inbox, JSON.stringify(reply)) })), subject: inbox };
    },
  };
  const client = ChatClient.over({ nc } as unknown as NatsLink, { prefix: 'qc' });
  return { client, arrived };
}

test('client and replica accept and refuse the same bodies, with the same error', async (t) => {
  const { client, arrived } = clientWithFakeReplica();
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(body, async ({ op, body: b }) => {
      arrived.length = 0;
      const wire = JSON.stringify(b);
      const server = parseRequestBytes(op, new TextEncoder().encode(wire));
      const outcome = await client.request(op, b as never).then(
        () => null,
        (err: unknown) => err,
      );
      if (isProtocolError(server)) {
        refused++;
        // Refused before sending: the same class and message, and no round trip.
        if (!(outcome instanceof ProtocolError)) return false;
        return outcome.constructor === server.constructor && outcome.message === server.message && arrived.length === 0;
      }
      accepted++;
      // Accepted: sent once, exactly as given plus this connection's replyKey (the replica fills the defaults), and accepted there too.
      const replyKey = (JSON.parse(arrived[0] ?? '{}') as { replyKey?: unknown }).replyKey;
      return outcome === null && arrived.length === 1 && typeof replyKey === 'string' && arrived[0] === JSON.stringify({ ...(b as object), replyKey });
    }),
    { numRuns: 1_500, seed: 8 },
  );
  t.true(accepted > 100 && refused > 100, `both verdicts exercised (accepted ${accepted}, refused ${refused})`);
});

test('the client refuses a lone surrogate and an over-long field before sending, like the replica', async (t) => {
  const { client, arrived } = clientWithFakeReplica();
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'a\ud800', requestId: 'r' }), { name: 'BadRequest', message: 'send: text is not well-formed Unicode (lone surrogate)' });
  await t.throwsAsync(client.send({ token: 't', to: 'bob', text: 'x'.repeat(4_001), requestId: 'r' }), { name: 'TooLarge', message: /text must be at most 4000 characters/ });
  await t.throwsAsync(client.accounts({ token: 't', after: 'x'.repeat(33) }), { name: 'TooLarge' });
  t.is(arrived.length, 0);
  t.deepEqual(await client.history({ token: 't', with: 'bob' }), REPLIES.history);
  t.regex(arrived[0] ?? '', /^\{"token":"t","with":"bob","replyKey":"[A-Za-z0-9_-]{43}"\}$/, 'defaults are left to the replica');
});

test('every subject, queue group and the live session key', (t) => {
  t.deepEqual(Object.keys(OPS), [...CHAT_OPS, 'cluster']);
  t.is(apiSubject('qc', 'send'), 'qc.api.send');
  t.is(apiSubject('qc', ANY_TOKEN), 'qc.api.*');
  t.is(apiQueueGroup('qc'), 'qc.api');
  t.is(statusSubject('acme.chat', 'r1'), 'acme.chat.replica.r1.status');
  t.is(adminSubject('qc', 'members'), 'qc.admin.members');
  t.is(adminQueueGroup('qc'), 'qc.admin');
  t.is(forwardSubject('qc', 'r2'), 'qc.replica.r2.forward');
  t.is(inspectSubject('qc', ANY_TOKEN), 'qc.inspect.*');
  const hash = createHash('sha256').update('tok', 'utf8').digest('hex');
  t.is(sessionKeyOf('tok'), hash.slice(0, 32));
  t.is(sessionKeyOfTokenHash(hash), sessionKeyOf('tok'), 'the replica derives the key from the stored hash');
  t.is(liveSubject('qc', sessionKeyOf('tok')), `qc.live.${hash.slice(0, 32)}`);
});

/** What a replica builds (actors/replica/status.ts) must be what the status schema accepts: checked by the compiler. */
function asReply(built: ReplicaStatus): StatusReply {
  return { ...built, voters: [...built.voters], learners: [...built.learners], progress: { ...built.progress } };
}
void asReply;

test('the status reply round-trips through JSON and keeps unknown extras; a broken one is refused', (t) => {
  const fields: StatusFields = { id: 'r1', role: 'leader', term: 3, leader: 'r1', commitIndex: 9, appliedIndex: 9, digest: 'ab12', voters: ['r1', 'r2', 'r3'], learners: ['r4'] };
  const built = { ...fields, pid: 42, lag: 0, health: 'ok', progress: { r2: { matchIndex: 9, nextIndex: 10, lastContactMs: 12 }, r3: { matchIndex: 0, nextIndex: 1, lastContactMs: null } }, futureExtra: { x: 1 } };
  const parsed = StatusReply.safeParse(JSON.parse(JSON.stringify({ ok: true, ...built })));
  t.true(parsed.success);
  t.like(parsed.data, built);
  t.false(StatusReply.safeParse({ ...built, digest: undefined }).success, 'a PROTOCOL.md field is required');
  t.false(StatusReply.safeParse({ ...built, commitIndex: -1 }).success);
  t.false(StatusReply.safeParse({ ...built, progress: { r2: { matchIndex: 'x' } } }).success, 'extras are checked when present');
  t.true(StatusReply.safeParse(fields).success, 'extras are optional');
});

test('storage refuses the replica ids the configuration refuses: one rule', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qc-protocol-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  for (const id of ['r.1', 'r 1', '']) {
    t.false(REPLICA_ID_PATTERN.test(id));
    await t.throwsAsync(openReplicaStore({ dataDir, replicaId: id, migrations: [] }), { instanceOf: StoreConfigError }, id);
  }
});
