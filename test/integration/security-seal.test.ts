/**
 * A client cannot read replies or live frames meant for another session
 * (issue 9, docs/security.md; docs/protocol.md §2.5), with real processes: a
 * secured nats-server and three `quorumchat replica` processes. A second
 * holder of the client credential subscribes to `_INBOX.>` and
 * `<prefix>.live.*`, which the credential allows, while a sealed session
 * (the typed client) registers, logs in, sends, reads history, receives
 * live frames, marks read and logs out, with writes answered both by the
 * leader and through followers that forward. The eavesdropper receives
 * plenty, but every reply and frame of that session is a sealed envelope it
 * cannot open, and no token, password or message text appears in anything
 * it received. A client that does not seal still gets clear replies, and a
 * malformed replyKey a clear bad_request.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import test from 'ava';
import { ChatClient, Opener, sealKeyPairFrom, SealError, type Answer } from '../../actors/client/index.ts';
import { apiSubject, SEALED_FRAME_TYPE } from '../../actors/protocol/index.ts';
import { NATS_ENV } from '../../config/nats-security.ts';
import { CLIENT_TIMEOUT_MS, ReplicaCluster } from './support/replica-cluster.ts';
import { connectAs, secure, until } from './support/secured.ts';

const PREFIX = 'qc';
/** Enough writes that, with the queue group spreading them over three replicas, some are certainly forwarded to the leader. */
const SENDS = 12;

interface Heard {
  readonly subject: string;
  readonly text: string;
}

test('an eavesdropper with the client credential on _INBOX.> and live.* sees only sealed envelopes of a sealed session, and cannot open them', async (t) => {
  const sec = secure(t, PREFIX);
  const replicaEnv = { [NATS_ENV.authFile]: join(sec.dir, 'credentials', 'replica.json') };
  const cluster = await ReplicaCluster.start(t, { size: 3, prefix: PREFIX, nats: { configFile: sec.configFile, replicaEnv, security: sec.security('operator') } });
  const leader = await cluster.waitForLeader();

  // The eavesdropper: the same client credential, subscribed where the credential allows.
  const eavesdropper = await connectAs(cluster.nats.url, sec.security('client'));
  t.teardown(() => eavesdropper.close());
  const heard: Heard[] = [];
  for (const subject of ['_INBOX.>', `${PREFIX}.live.*`]) {
    eavesdropper.subscribe(subject, { callback: (err, msg) => void (err === null && heard.push({ subject: msg.subject, text: msg.string() })) });
  }
  await eavesdropper.flush();

  // The victim: the typed client, which seals replies and live frames.
  const client = await ChatClient.connect({ servers: cluster.nats.url, security: sec.security('client'), prefix: PREFIX, timeoutMs: CLIENT_TIMEOUT_MS, waitOnFirstConnect: true });
  t.teardown(() => client.close());
  const answers: Answer[] = [];
  client.onAnswer((answer) => answers.push(answer));
  const secrets = ['ada-password-x', 'bob-password-y'];
  await client.register({ username: 'ada', password: secrets[0]! });
  await client.register({ username: 'bob', password: secrets[1]! });
  const ada = await client.login({ username: 'ada', password: secrets[0]! });
  const bob = await client.login({ username: 'bob', password: secrets[1]! });
  secrets.push(ada.token, bob.token);
  const shown: string[] = [];
  const live = client.live(bob.token, (event) => {
    if (event.type === 'message') shown.push(event.message.text);
  });
  await live.ready;
  t.teardown(() => live.close());
  const texts = Array.from({ length: SENDS }, (_, i) => `secret text number ${i} ${randomBytes(6).toString('hex')}`);
  secrets.push(...texts);
  let lastId = 0;
  for (const text of texts) lastId = (await client.send({ token: ada.token, to: 'bob', text })).message.id;
  const history = await client.history({ token: bob.token, with: 'ada' });
  t.deepEqual(history.messages.map((m) => m.text), texts, 'the sealed session reads its history');
  await until('every message shown live to the sealed session', () => texts.every((text) => shown.includes(text)), 15_000);
  t.deepEqual(await client.markRead({ token: bob.token, with: 'ada', upToId: lastId }), {});
  t.like(await client.conversations({ token: bob.token }), { conversations: [{ with: 'ada', lastId, unread: 0 }] });
  t.like(await client.cluster(), { leader });
  // A write aimed at a follower (docs/protocol.md §1.2) is surely forwarded: the leader's reply to it crosses an inbox too.
  const follower = cluster.ids.find((id) => id !== leader) ?? '';
  const aimed = `secret aimed text ${randomBytes(6).toString('hex')}`;
  secrets.push(aimed);
  const forwarded = await client.request('send', { token: ada.token, to: 'bob', text: aimed, requestId: randomBytes(8).toString('hex') }, CLIENT_TIMEOUT_MS, follower);
  t.is(forwarded.message.text, aimed);
  t.is(client.lastAnswer?.replica, follower);
  await client.logout({ token: ada.token });
  const writes = answers.filter((a) => ['register', 'login', 'send', 'markRead', 'logout'].includes(a.op));
  t.true(writes.some((a) => a.replica !== a.leader), 'some writes were answered by a follower that forwarded them to the leader');
  t.true(writes.some((a) => a.replica === a.leader), 'and some by the leader itself');

  // The eavesdropper heard replies and frames...
  await eavesdropper.flush();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const frames = heard.filter((h) => h.subject.startsWith(`${PREFIX}.live.`));
  const inbox = heard.filter((h) => h.subject.startsWith('_INBOX.'));
  t.true(frames.length >= SENDS, `live frames heard: ${frames.length}`);
  t.true(inbox.length >= answers.length, `inbox messages heard: ${inbox.length}`);
  // ...none with a secret in it: no password, token or message text, anywhere.
  for (const secret of secrets) t.false(heard.some((h) => h.text.includes(secret)), `"${secret.slice(0, 24)}…" was heard`);
  // Every live frame is sealed; every chat reply on an inbox is sealed (what is clear is replica bookkeeping: read indexes, `cluster`, status).
  t.deepEqual(frames.filter((h) => (JSON.parse(h.text) as { type?: unknown }).type !== SEALED_FRAME_TYPE), []);
  const parsed = inbox.map((h) => ({ ...h, body: JSON.parse(h.text) as Record<string, unknown> }));
  const sealed = parsed.filter((h) => Object.keys(h.body).length === 1 && typeof h.body['sealed'] === 'object');
  t.true(sealed.length >= answers.length, `every reply to the victim was sealed (${sealed.length} sealed, ${answers.length} replies)`);
  // (A `cluster` forwarded to the leader comes back to the follower in the clear: it is the same for every client, no session's.)
  const chatFields = ['token', 'username', 'message', 'messages', 'conversations', 'accounts'];
  t.deepEqual(parsed.filter((h) => chatFields.some((f) => f in h.body)).map((h) => h.text), [], 'no chat reply in the clear');
  t.true(sealed.length > answers.length, 'forwarded writes: the leader\'s replies to the followers were sealed too');
  // It cannot open them: they are sealed to keys it does not hold, and bound to their subjects.
  const own = new Opener(sealKeyPairFrom(randomBytes(32)));
  t.true(sealed.every((h) => own.open(h.body['sealed'], 'reply', h.subject) instanceof SealError));
  t.true(frames.every((h) => own.open(JSON.parse(h.text), 'live', h.subject) instanceof SealError));
});

test('a client that does not seal sees no change; a malformed replyKey is a clear bad_request', async (t) => {
  const cluster = await ReplicaCluster.start(t, { size: 3, prefix: PREFIX });
  await cluster.waitForLeader();
  const ask = async (op: Parameters<typeof apiSubject>[1], body: unknown): Promise<Record<string, unknown>> =>
    JSON.parse((await cluster.nc.request(apiSubject(PREFIX, op), JSON.stringify(body), { timeout: CLIENT_TIMEOUT_MS })).string()) as Record<string, unknown>;
  t.like(await ask('register', { username: 'cleo', password: 'cleo-password' }), { ok: true, username: 'cleo' });
  const login = await ask('login', { username: 'cleo', password: 'cleo-password' });
  t.like(login, { ok: true, username: 'cleo' });
  t.regex(String(login['token']), /^[A-Za-z0-9_-]{43}$/, 'a PROTOCOL.md client gets its token in the clear, as before');
  for (const replyKey of ['not-a-key', Buffer.alloc(32).toString('base64url')]) {
    const refused = await ask('conversations', { token: login['token'], replyKey });
    t.like(refused, { ok: false, error: { code: 'bad_request' } });
    t.regex(String((refused['error'] as { message: string }).message), /^replyKey /);
  }
});
