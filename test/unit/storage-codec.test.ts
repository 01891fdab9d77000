import test from 'ava';
import { encode as msgpack } from '@msgpack/msgpack';
import fc from 'fast-check';
import type { Entry } from '../../actors/raft/types.ts';
import { checksumOf, decodeEntry, encodeEntry, EntryDecodeError } from '../../storage/entry-codec.ts';
import { INITIAL_DIGEST, nextDigest } from '../../storage/digest.ts';
import { independentDigest, makeEntries } from '../storage/helpers.ts';

const id = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  fc.record({ index: fc.nat(), term: fc.nat(), kind: fc.constant('noop' as const) }),
  fc.record({ index: fc.nat(), term: fc.nat(), kind: fc.constant('command' as const), data: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({
    index: fc.nat(),
    term: fc.nat(),
    kind: fc.constant('config' as const),
    config: fc.record(
      { voters: fc.array(id, { maxLength: 5 }), learners: fc.array(id, { maxLength: 3 }), dataIds: fc.dictionary(id, fc.stringMatching(/^[0-9a-f]{16}$/), { minKeys: 1, maxKeys: 5 }) },
      { requiredKeys: ['voters', 'learners'] },
    ),
  }),
);

test('decode(encode(entry)) gives back the entry', (t) => {
  fc.assert(
    fc.property(entryArb, (entry) => {
      const decoded = decodeEntry(encodeEntry(entry));
      t.deepEqual(normalize(decoded), normalize(entry));
    }),
  );
});

test('the encoding is canonical: equal entries give equal bytes', (t) => {
  fc.assert(
    fc.property(entryArb, (entry) => {
      const copy = decodeEntry(encodeEntry(entry));
      t.deepEqual(Buffer.from(encodeEntry(copy)), Buffer.from(encodeEntry(entry)));
    }),
  );
});

test('data identities are encoded in id order, and a configuration without them keeps its old bytes', (t) => {
  const roles = { voters: ['r1', 'r2'], learners: ['r3'] };
  const old = { index: 3, term: 2, kind: 'config' as const, config: roles };
  t.deepEqual(Buffer.from(encodeEntry(old)), Buffer.from(msgpack([3, 2, 'config', [['r1', 'r2'], ['r3']]])));
  const a = encodeEntry({ ...old, config: { ...roles, dataIds: { r2: '00000000000000b2', r1: '00000000000000a1' } } });
  const b = encodeEntry({ ...old, config: { ...roles, dataIds: { r1: '00000000000000a1', r2: '00000000000000b2' } } });
  t.deepEqual(Buffer.from(a), Buffer.from(b));
  t.deepEqual(decodeEntry(a), { ...old, config: { ...roles, dataIds: { r1: '00000000000000a1', r2: '00000000000000b2' } } });
  t.deepEqual(Buffer.from(encodeEntry({ ...old, config: { ...roles, dataIds: {} } })), Buffer.from(encodeEntry(old)));
});

test('undecodable bytes raise EntryDecodeError', (t) => {
  t.throws(() => decodeEntry(new Uint8Array([0xc1])), { instanceOf: EntryDecodeError });
  t.throws(() => decodeEntry(encodeEntryLike([1, 1, 'bogus', null])), { instanceOf: EntryDecodeError, message: /unknown entry kind/ });
  t.throws(() => decodeEntry(encodeEntryLike([1, -1, 'noop', null])), { instanceOf: EntryDecodeError });
  t.throws(() => decodeEntry(encodeEntryLike([1, 1, 'command', 'text'])), { instanceOf: EntryDecodeError });
});

test('the checksum changes when any byte changes', (t) => {
  const bytes = encodeEntry({ index: 5, term: 2, kind: 'command', data: new Uint8Array([1, 2, 3]) });
  const sum = checksumOf(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const flipped = Uint8Array.from(bytes);
    flipped[i] = flipped[i]! ^ 0x40;
    t.not(checksumOf(flipped), sum);
  }
});

test('nextDigest agrees with an independent recomputation of the chain', (t) => {
  const entries = makeEntries(1, 40, 3);
  const chained = entries.reduce((digest, entry) => nextDigest(digest, entry), INITIAL_DIGEST);
  t.is(chained, independentDigest(entries));
  t.is(INITIAL_DIGEST, '0'.repeat(64));
});

function normalize(entry: Entry): unknown {
  return entry.kind === 'command' ? { ...entry, data: Array.from(entry.data) } : entry;
}

/** MessagePack of a malformed record, built without encodeEntry's types. */
function encodeEntryLike(value: unknown[]): Uint8Array {
  return msgpack(value);
}
