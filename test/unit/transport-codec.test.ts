import test from 'ava';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import type { Entry, Message } from '../../actors/raft/types.ts';
import { encodeMessage, MessageDecoder, MAX_ENTRIES_PER_MESSAGE } from '../../actors/transport/codec.ts';
import { RateLimitedLog } from '../../actors/transport/rate-limited-log.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const nat = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const config = fc.uniqueArray(id, { minLength: 1, maxLength: 6 }).chain((ids) =>
  fc.integer({ min: 0, max: ids.length - 1 }).map((split) => ({ voters: ids.slice(0, split + 1), learners: ids.slice(split + 1) })),
);

/** AppendEntries whose entries respect the log invariants the decoder checks. */
const appendEntries = fc
  .record({ from: id, to: id, prevLogIndex: fc.nat({ max: 1e9 }), leaderCommit: nat, round: nat, termSteps: fc.array(fc.nat({ max: 3 }), { maxLength: 8 }), kinds: fc.array(fc.oneof(fc.constant('noop' as const), fc.uint8Array({ maxLength: 64 }), config), { maxLength: 8 }), base: fc.nat({ max: 1e6 }) })
  .map((r): Message => {
    let term = r.base;
    const entries: Entry[] = r.kinds.map((k, i) => {
      term += r.termSteps[i] ?? 0;
      const index = r.prevLogIndex + 1 + i;
      const t = Math.max(term, 1);
      if (k === 'noop') return { index, term: t, kind: 'noop' };
      if (k instanceof Uint8Array) return { index, term: t, kind: 'command', data: k };
      return { index, term: t, kind: 'config', config: k };
    });
    const maxTerm = Math.max(r.base, ...entries.map((e) => e.term));
    return { type: 'AppendEntries', from: r.from, to: r.to, term: maxTerm + 1, prevLogIndex: r.prevLogIndex, prevLogTerm: r.base, entries, leaderCommit: r.leaderCommit, round: r.round };
  });

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('RequestVote' as const), from: id, to: id, term: nat, lastLogIndex: nat, lastLogTerm: nat, preVote: fc.boolean(), transfer: fc.boolean() }),
  fc.record({ type: fc.constant('RequestVoteResponse' as const), from: id, to: id, term: nat, preVote: fc.boolean(), granted: fc.boolean() }),
  appendEntries,
  fc.record({ type: fc.constant('AppendEntriesResponse' as const), from: id, to: id, term: nat, success: fc.boolean(), matchIndex: nat, conflictTerm: nat, conflictIndex: nat, round: nat }),
  fc.record({ type: fc.constant('InstallSnapshot' as const), from: id, to: id, term: nat, snapshot: fc.record({ index: nat, term: nat, config }) }),
  fc.record({ type: fc.constant('InstallSnapshotResponse' as const), from: id, to: id, term: nat, matchIndex: nat, success: fc.boolean() }),
  fc.record({ type: fc.constant('TimeoutNow' as const), from: id, to: id, term: nat }),
);

test('every valid message decodes to itself', (t) => {
  const decoder = new MessageDecoder(1024 * 1024);
  fc.assert(
    fc.property(message, (m) => {
      const decoded = decoder.decode(encodeMessage(m));
      t.true(decoded.ok, decoded.ok ? '' : decoded.detail);
      t.deepEqual(decoded.ok ? decoded.value : null, m);
    }),
    { numRuns: 300 },
  );
});

test('arbitrary bytes and arbitrary msgpack values never throw, and never pass as a message by accident', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const r = decoder.decode(bytes);
      if (r.ok) t.fail(`random bytes decoded as ${JSON.stringify(r.value)}`);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.anything(), (value) => {
      let bytes: Uint8Array;
      try {
        bytes = encode(value);
      } catch {
        return; // not encodable: not a case
      }
      t.notThrows(() => decoder.decode(bytes));
    }),
    { numRuns: 500 },
  );
});

test('mutating one field of a valid message out of range is caught', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  const base = { type: 'AppendEntriesResponse', from: 'r1', to: 'r2', term: 3, success: true, matchIndex: 4, conflictTerm: 0, conflictIndex: 0, round: 1 };
  const bad: Record<string, unknown>[] = [
    { term: -1 }, { term: 1.5 }, { term: '3' }, { matchIndex: Number.MAX_SAFE_INTEGER + 2 }, { success: 1 },
    { from: '' }, { from: 'a b' }, { to: 'x'.repeat(65) }, { type: 'appendentriesresponse' }, { round: null },
  ];
  for (const change of bad) {
    const r = decoder.decode(encode({ ...base, ...change }));
    t.false(r.ok, JSON.stringify(change));
  }
  t.true(decoder.decode(encode(base)).ok);
  const tooMany = { type: 'AppendEntries', from: 'r1', to: 'r2', term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, entries: Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, (_, i) => ({ index: i + 1, term: 1, kind: 'noop' })) };
  t.false(new MessageDecoder(16 * 1024 * 1024).decode(encode(tooMany)).ok);
  const dupConfig = { type: 'InstallSnapshot', from: 'r1', to: 'r2', term: 1, snapshot: { index: 1, term: 1, config: { voters: ['r1'], learners: ['r1'] } } };
  t.false(decoder.decode(encode(dupConfig)).ok);
});

test('received command bytes are copied out of the receive buffer', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  const wire = encodeMessage({ type: 'AppendEntries', from: 'r1', to: 'r2', term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, entries: [{ index: 1, term: 1, kind: 'command', data: new Uint8Array([1, 2, 3]) }] });
  const r = decoder.decode(wire);
  wire.fill(0);
  t.true(r.ok);
  const entry = r.ok && r.value.type === 'AppendEntries' ? r.value.entries[0] : undefined;
  t.deepEqual(entry?.kind === 'command' ? [...entry.data] : null, [1, 2, 3]);
});

test('the drop log writes one line per kind per interval and counts the rest', (t) => {
  const lines: object[] = [];
  let now = 0;
  const log = new RateLimitedLog({ info: () => undefined, error: () => undefined, warn: (obj) => lines.push(obj) }, 1_000, () => now);
  t.true(log.warn('invalid', { n: 1 }, 'dropped'));
  t.false(log.warn('invalid', { n: 2 }, 'dropped'));
  t.false(log.warn('invalid', { n: 3 }, 'dropped'));
  t.true(log.warn('oversized', { n: 4 }, 'dropped'), 'other kinds are not held back');
  now = 1_000;
  t.true(log.warn('invalid', { n: 5 }, 'dropped'));
  t.deepEqual(lines, [{ n: 1 }, { n: 4 }, { n: 5, suppressedSinceLast: 2 }]);
});
