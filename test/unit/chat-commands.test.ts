import test from 'ava';
import { encode } from '@msgpack/msgpack';
import { CommandCodec, CommandDecodeError, decodeCommand, encodeCommand, type ChatCommand } from '../../actors/chat/commands.ts';
import { resolveDeliveries } from '../../actors/chat/deliveries.ts';
import { hashPassword, verifyPassword, PASSWORD_COST } from '../../actors/chat/passwords.ts';
import { hashToken } from '../../actors/chat/sessions.ts';
import { sessionKeyOfTokenHash } from '../../actors/protocol/index.ts';
import { randomBytes } from 'node:crypto';
import { Harness, TEST_COST } from '../chat/harness.ts';
import { Proposal } from '../../actors/chat/prepare.ts';

const tokenHash = hashToken('t');
const samples: ChatCommand[] = [
  { type: 'register', ts: 1, username: 'ada', salt: new Uint8Array([1, 2]), hash: new Uint8Array([3]), scrypt: { n: 1024, r: 8, p: 1 } },
  { type: 'login', ts: 2, username: 'ada', accountIndex: 1, tokenHash, expiresTs: 3 },
  { type: 'login', ts: 2, username: 'ada', accountIndex: 1, token: 'tok', expiresTs: 3 },
  { type: 'logout', ts: 2, username: 'ada', tokenHash },
  { type: 'send', ts: 1_800_000_000_000, username: 'ada', tokenHash, to: 'bob', text: 'hi 😀', requestId: 'r' },
  { type: 'markRead', ts: 2, username: 'ada', tokenHash, with: 'bob', upToId: 9 },
  { type: 'deleteMessages', ts: 2, username: 'ada', tokenHash, ids: [1, 2], forEveryone: true },
  { type: 'deleteAccount', ts: 2, username: 'ada', tokenHash, accountIndex: 1 },
  { type: 'login', ts: 2, username: 'ada', accountIndex: 1, tokenHash, expiresTs: 3, liveKey: 'A'.repeat(43) },
];

test('every command survives encode/decode unchanged', (t) => {
  for (const cmd of samples) t.deepEqual(decodeCommand(encodeCommand(cmd)), cmd, cmd.type);
});

test('decodeCommand throws CommandDecodeError on garbage, never anything else', (t) => {
  const garbage: Uint8Array[] = [
    new Uint8Array([0xc1]),
    new Uint8Array([]),
    encode('hello'),
    encode([2, samples[0]]),
    encode([1, { type: 'nope' }]),
    encode([1, { ...samples[4], to: 'not a name!' }]),
    encode([1, { ...samples[4], ts: -1 }]),
    encode([1, { ...samples[0], salt: 'not bytes' }]),
    encode([1, { ...samples[6], ids: [] }]),
    encode([1, { ...samples[3], tokenHash: 'short' }]),
    encode([1, { ...samples[1], token: 'both' }]),
    encode([1, { type: 'login', ts: 2, username: 'ada', accountIndex: 1, expiresTs: 3 }]),
    encode([1, { ...samples[8], liveKey: 'too short' }]),
  ];
  for (const bytes of garbage) t.throws(() => decodeCommand(bytes), { instanceOf: CommandDecodeError });
  // One codec, as a replica holds it: garbage in between leaves it decoding and encoding as before.
  const codec = new CommandCodec();
  for (const [i, bytes] of garbage.entries()) {
    t.throws(() => codec.decode(bytes), { instanceOf: CommandDecodeError });
    const cmd = samples[i % samples.length]!;
    t.deepEqual(Buffer.from(codec.encode(cmd)), Buffer.from(encodeCommand(cmd)), cmd.type);
    t.deepEqual(codec.decode(codec.encode(cmd)), cmd, cmd.type);
  }
});

test('passwords: verify the right one, refuse the wrong one, fresh salt each time', async (t) => {
  const a = await hashPassword('correct horse', TEST_COST, randomBytes);
  const b = await hashPassword('correct horse', TEST_COST, randomBytes);
  t.notDeepEqual(a.hash, b.hash);
  t.true(await verifyPassword('correct horse', a));
  t.false(await verifyPassword('correct horsf', a));
});

test('passwords: the production cost hashes and verifies', async (t) => {
  const started = performance.now();
  const stored = await hashPassword('correct horse', PASSWORD_COST, randomBytes);
  t.log(`scrypt N=${PASSWORD_COST.n} r=${PASSWORD_COST.r} p=${PASSWORD_COST.p}: ${(performance.now() - started).toFixed(0)} ms`);
  t.true(await verifyPassword('correct horse', stored));
});

test('deliveries resolve to every live session of an account, and to ended sessions by hash', async (t) => {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const ada1 = await h.user('ada');
  const ada2 = (await h.ok('login', { username: 'ada', password: 'password-of-ada' }))['token'] as string;
  const bob = await h.user('bob');
  await h.ok('send', { token: bob, to: 'ada', text: 'hi', requestId: 'r' });
  const published = await resolveDeliveries(h.db, h.deliveries.at(-1) ?? []);
  t.deepEqual(
    published.map((p) => p.sessionKey).sort(),
    [ada1, ada2, bob].map((tok) => sessionKeyOfTokenHash(hashToken(tok))).sort(),
  );
  t.true(published.every((p) => p.frame.type === 'message'));
  await h.ok('logout', { token: ada1 });
  t.deepEqual(await resolveDeliveries(h.db, h.deliveries.at(-1) ?? []), [{ sessionKey: sessionKeyOfTokenHash(hashToken(ada1)), frame: { type: 'revoked' }, liveKey: null }]);
  t.is(sessionKeyOfTokenHash(hashToken(ada1)).length, 32);
});

test('a login entry holds the token hash, never the token; the proposer still gets the token', async (t) => {
  const h = await Harness.open();
  try {
    await h.ok('register', { username: 'ada', password: 'password-of-ada' });
    const login = await h.ok('login', { username: 'ada', password: 'password-of-ada' });
    const token = login['token'];
    if (typeof token !== 'string') return t.fail('login reply has no token');
    const entry = h.log[h.log.length - 1]!;
    t.false(Buffer.from(entry.bytes).includes(Buffer.from(token)), 'the raw token is not in the log');
    const cmd = decodeCommand(entry.bytes);
    t.is(cmd.type === 'login' ? cmd.tokenHash : null, hashToken(token));
    t.true((await h.call('conversations', { token })).ok, 'the session the entry created accepts the token');
  } finally {
    await h.close();
  }
});

test('a legacy login entry with the raw token applies to the same session row', async (t) => {
  const h = await Harness.open();
  try {
    await h.ok('register', { username: 'ada', password: 'password-of-ada' });
    const legacy: ChatCommand = { type: 'login', ts: h.now, username: 'ada', accountIndex: 1, token: 'legacy-token', expiresTs: h.now + 60_000 };
    const reply = await h.commit(new Proposal(legacy));
    t.like(reply, { ok: true, token: 'legacy-token' });
    t.true((await h.call('conversations', { token: 'legacy-token' })).ok);
  } finally {
    await h.close();
  }
});
