/**
 * Sealed envelopes (actors/protocol/seal.ts): round trips, and every way an
 * envelope can be wrong (tampered, another key, another subject, another
 * purpose, malformed) gives a typed SealError, never a throw.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  BadSealKeyError,
  checkEnvelope,
  MalformedEnvelopeError,
  Opener,
  OpenFailedError,
  parseSealKey,
  SEAL_KEY_MAX_AGE_MS,
  SEAL_KEY_MAX_USES,
  Sealer,
  SealError,
  sealKeyPairFrom,
  sealOnce,
  SealVersionError,
  type SealedEnvelope,
  type SealPurpose,
  type SealTarget,
} from '../../actors/protocol/seal.ts';

const opener = (): Opener => new Opener(sealKeyPairFrom(randomBytes(32)));
const target = (sealer: Sealer, key: string): SealTarget => {
  const t = sealer.target(key);
  if (t instanceof SealError) throw t;
  return t;
};
const purpose = fc.constantFrom<SealPurpose>('reply', 'live', 'forward');
const subject = fc.stringMatching(/^[A-Za-z0-9_.>*-]{1,60}$/);

test('a sealed reply opens with its key on its subject, for its purpose, and gives back the bytes', (t) => {
  const client = opener();
  const sealer = new Sealer({ randomBytes, now: () => 0 });
  fc.assert(
    fc.property(purpose, subject, fc.string({ maxLength: 2_000 }), (p, s, text) => {
      const envelope = sealer.seal(target(sealer, client.publicKey), p, s, text);
      const opened = client.open(JSON.parse(JSON.stringify(envelope)), p, s);
      t.false(opened instanceof SealError);
      t.is((opened as Buffer).toString('utf8'), Buffer.from(text, 'utf8').toString('utf8'));
    }),
    { numRuns: 200 },
  );
});

test('the envelope has the documented shape: v 1, a 32-byte epk, a 12-byte nonce, ciphertext plus a 16-byte tag', (t) => {
  const envelope = sealOnce(opener().publicKey, 'reply', '_INBOX.x.1', 'hello', randomBytes) as SealedEnvelope;
  t.deepEqual(Object.keys(envelope).sort(), ['ct', 'epk', 'nonce', 'v']);
  t.is(envelope.v, 1);
  t.is(Buffer.from(envelope.epk, 'base64url').byteLength, 32);
  t.is(Buffer.from(envelope.nonce, 'base64url').byteLength, 12);
  t.is(Buffer.from(envelope.ct, 'base64url').byteLength, 5 + 16);
  t.false(JSON.stringify(envelope).includes('hello'));
});

test('another key, another subject or another purpose does not open it (OpenFailedError)', (t) => {
  const client = opener();
  const envelope = sealOnce(client.publicKey, 'reply', '_INBOX.a.1', '{"ok":true,"token":"secret"}', randomBytes) as SealedEnvelope;
  t.true(opener().open(envelope, 'reply', '_INBOX.a.1') instanceof OpenFailedError);
  t.true(client.open(envelope, 'reply', '_INBOX.a.2') instanceof OpenFailedError);
  t.true(client.open(envelope, 'live', '_INBOX.a.1') instanceof OpenFailedError);
  t.true(client.open(envelope, 'forward', '_INBOX.a.1') instanceof OpenFailedError);
  t.false(client.open(envelope, 'reply', '_INBOX.a.1') instanceof SealError);
});

test('flipping any bit of nonce, ciphertext or tag, or swapping the epk, fails to open', (t) => {
  const client = opener();
  const envelope = sealOnce(client.publicKey, 'live', 'qc.live.abc', '{"type":"message"}', randomBytes) as SealedEnvelope;
  const other = sealOnce(client.publicKey, 'live', 'qc.live.abc', '{"type":"message"}', randomBytes) as SealedEnvelope;
  const flip = (text: string, bit: number): string => {
    const bytes = Buffer.from(text, 'base64url');
    bytes[Math.floor(bit / 8) % bytes.length]! ^= 1 << bit % 8;
    return bytes.toString('base64url');
  };
  fc.assert(
    fc.property(fc.constantFrom('nonce', 'ct'), fc.nat(8 * 64), (field, bit) => {
      const tampered = { ...envelope, [field]: flip(envelope[field as 'nonce' | 'ct'], bit) };
      t.true(client.open(tampered, 'live', 'qc.live.abc') instanceof OpenFailedError);
    }),
  );
  t.true(client.open({ ...envelope, epk: other.epk }, 'live', 'qc.live.abc') instanceof OpenFailedError);
  t.true(client.open({ ...envelope, ct: other.ct, nonce: other.nonce }, 'live', 'qc.live.abc') instanceof OpenFailedError);
});

test('malformed envelopes give MalformedEnvelopeError or SealVersionError, never a throw', (t) => {
  const client = opener();
  const good = sealOnce(client.publicKey, 'reply', 's', 'x', randomBytes) as SealedEnvelope;
  const cases: [unknown, new (...args: never[]) => SealError][] = [
    [null, MalformedEnvelopeError],
    ['sealed', MalformedEnvelopeError],
    [[good], MalformedEnvelopeError],
    [{ ...good, v: 2 }, SealVersionError],
    [{ ...good, v: '1' }, MalformedEnvelopeError],
    [{ epk: good.epk, nonce: good.nonce, ct: good.ct }, MalformedEnvelopeError],
    [{ ...good, epk: good.epk.slice(1) }, MalformedEnvelopeError],
    [{ ...good, epk: `${good.epk.slice(0, 42)}+` }, MalformedEnvelopeError],
    [{ ...good, nonce: 'AAAA' }, MalformedEnvelopeError],
    [{ ...good, ct: 'AAAA' }, MalformedEnvelopeError],
    [{ ...good, ct: 'not base64url!' }, MalformedEnvelopeError],
    [{ ...good, ct: 12 }, MalformedEnvelopeError],
    // A low-order point as epk: X25519 refuses it.
    [{ ...good, epk: Buffer.alloc(32).toString('base64url') }, OpenFailedError],
  ];
  for (const [value, kind] of cases) t.true(client.open(value, 'reply', 's') instanceof kind, JSON.stringify(value));
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.record({ v: fc.oneof(fc.constant(1), fc.anything()), epk: fc.oneof(fc.string(), fc.anything()), nonce: fc.string(), ct: fc.string() })), (value) => {
      const opened = client.open(value, 'reply', 's');
      t.true(opened instanceof SealError);
    }),
    { numRuns: 500 },
  );
});

test('parseSealKey takes exactly 32 canonical base64url bytes; a low-order point is refused when sealing to it', (t) => {
  const key = opener().publicKey;
  t.false(parseSealKey(key) instanceof BadSealKeyError);
  for (const bad of [undefined, 42, '', key.slice(1), `${key}A`, `${key.slice(0, 42)}=`, `${key.slice(0, 42)}/`, Buffer.alloc(32).toString('base64')]) {
    t.true(parseSealKey(bad) instanceof BadSealKeyError, String(bad));
  }
  // 'B' sets one of the two unused bits of the last character: the same 32 bytes as 'A', so not canonical.
  t.true(parseSealKey(`${Buffer.alloc(32, 9).toString('base64url').slice(0, 42)}B`) instanceof BadSealKeyError);
  const sealer = new Sealer({ randomBytes, now: () => 0 });
  t.true(sealer.target(Buffer.alloc(32).toString('base64url')) instanceof BadSealKeyError);
  t.true(sealer.target(Buffer.from([1, ...Buffer.alloc(31)]).toString('base64url')) instanceof BadSealKeyError);
  fc.assert(
    fc.property(fc.anything(), (value) => {
      t.notThrows(() => sealer.target(value));
    }),
  );
});

test('a sealer keeps its key across envelopes and rotates it after SEAL_KEY_MAX_USES or SEAL_KEY_MAX_AGE_MS; envelopes of the old key still open', (t) => {
  let now = 0;
  const client = opener();
  const sealer = new Sealer({ randomBytes, now: () => now });
  const first = sealer.seal(target(sealer, client.publicKey), 'reply', 's', 'a');
  t.is(sealer.seal(target(sealer, client.publicKey), 'reply', 's', 'b').epk, first.epk);
  now = SEAL_KEY_MAX_AGE_MS;
  const afterAge = sealer.seal(target(sealer, client.publicKey), 'reply', 's', 'c');
  t.not(afterAge.epk, first.epk);
  const tgt = target(sealer, client.publicKey);
  for (let i = 0; i < SEAL_KEY_MAX_USES; i++) sealer.seal(tgt, 'reply', 's', '');
  const afterUses = sealer.seal(target(sealer, client.publicKey), 'reply', 's', 'd');
  t.not(afterUses.epk, afterAge.epk);
  for (const [envelope, text] of [[first, 'a'], [afterAge, 'c'], [afterUses, 'd']] as const) t.is(String(client.open(envelope, 'reply', 's')), text);
});

test('the same seeded randomness gives the same envelope (the simulation depends on it)', (t) => {
  const seeded = (): ((n: number) => Uint8Array) => {
    let counter = 0;
    return (n) => Buffer.alloc(n, (counter += 1));
  };
  const client = sealKeyPairFrom(Buffer.alloc(32, 7)).publicKey;
  t.deepEqual(sealOnce(client, 'live', 'qc.live.k', 'frame', seeded()), sealOnce(client, 'live', 'qc.live.k', 'frame', seeded()));
  t.false(checkEnvelope(sealOnce(client, 'live', 'qc.live.k', 'frame', seeded())) instanceof SealError);
});
