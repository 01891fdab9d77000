import test from 'ava';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { Packer } from '../../actors/util/packer.ts';
import { EntryEncoder, encodeEntry } from '../../storage/entry-codec.ts';
import type { Entry } from '../../actors/raft/types.ts';

// Values of every shape the replicas pack, small and large, so one Packer's buffer grows and is reused.
const value = fc.oneof(
  fc.jsonValue(),
  fc.uint8Array({ maxLength: 6_000 }),
  fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }),
  fc.record({ type: fc.constant('AppendEntries'), term: fc.nat(), entries: fc.array(fc.record({ index: fc.nat(), data: fc.uint8Array({ maxLength: 500 }) }), { maxLength: 20 }) }),
);

test('one Packer used over and over gives the bytes the library gives a fresh encoder', (t) => {
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 20 }), (values) => {
      const packer = new Packer();
      for (const v of values) t.deepEqual(Buffer.from(packer.pack(v)), Buffer.from(encode(v)));
    }),
  );
});

test('bytes a Packer returned stay as they were after it packs more (they are a copy, not its buffer)', (t) => {
  fc.assert(
    fc.property(value, fc.array(value, { minLength: 1, maxLength: 10 }), (first, later) => {
      const packer = new Packer();
      const kept = packer.pack(first);
      const expected = Buffer.from(encode(first));
      for (const v of later) packer.pack(v);
      t.deepEqual(Buffer.from(kept), expected);
    }),
  );
});

test('a Packer unpacks what it packed, and still works after refusing garbage', (t) => {
  const packer = new Packer({ maxStrLength: 16 });
  t.throws(() => packer.unpack(Uint8Array.of(0xc1)));
  t.throws(() => packer.unpack(encode('x'.repeat(17))), { message: /max length/i });
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const bytes = encode(v);
      t.deepEqual(packer.unpack(bytes), decode(bytes));
    }),
  );
});

test('a reused EntryEncoder gives every entry its canonical bytes', (t) => {
  const entries: Entry[] = [
    { index: 1, term: 1, kind: 'noop' },
    { index: 2, term: 1, kind: 'command', data: new Uint8Array(3_000).fill(7) },
    { index: 3, term: 2, kind: 'config', config: { voters: ['r1', 'r2', 'r3'], learners: ['r4'] } },
    { index: 4, term: 2, kind: 'command', data: Uint8Array.of(1, 2, 3) },
  ];
  const encoder = new EntryEncoder();
  for (const entry of entries) t.deepEqual(Buffer.from(encoder.encode(entry)), Buffer.from(encodeEntry(entry)));
});
