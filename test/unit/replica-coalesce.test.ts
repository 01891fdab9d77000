/** One AppendEntries per follower per send batch (actors/replica/coalesce.ts). */
import test from 'ava';
import { coalesceAppends } from '../../actors/replica/coalesce.ts';
import type { AppendEntries, Entry, Message } from '../../actors/raft/types.ts';

const limits = { maxEntriesPerAppend: 64, maxBytesPerAppend: 1024 };
const entry = (index: number, term = 2, bytes = 10): Entry => ({ index, term, kind: 'command', data: new Uint8Array(bytes) });
const append = (to: string, prev: number, entries: Entry[], extra: Partial<AppendEntries> = {}): AppendEntries => ({
  type: 'AppendEntries',
  from: 'r1',
  to,
  term: 2,
  prevLogIndex: prev,
  prevLogTerm: 2,
  entries,
  leaderCommit: prev,
  round: 0,
  ...extra,
});
const shape = (messages: readonly Message[]): string[] =>
  messages.map((m) => (m.type === 'AppendEntries' ? `${m.to}:${m.prevLogIndex}+[${m.entries.map((e) => e.index).join(',')}]c${m.leaderCommit}r${m.round}` : `${m.to}:${m.type}`));

test('consecutive appends to one follower become one, per follower, in order', (t) => {
  const messages = [append('r2', 4, [entry(5)]), append('r3', 4, [entry(5)]), append('r2', 5, [entry(6)]), append('r3', 5, [entry(6)]), append('r2', 6, [entry(7)])];
  t.deepEqual(shape(coalesceAppends(messages, limits)), ['r2:4+[5,6,7]c6r0', 'r3:4+[5,6]c5r0']);
});

test('appends that do not continue one another, or cross a term, stay apart', (t) => {
  const gap = [append('r2', 4, [entry(5)]), append('r2', 9, [entry(10)])];
  t.is(coalesceAppends(gap, limits).length, 2, 'a gap (a probe after a rejection) is not joined');
  const otherTerm = [append('r2', 4, [entry(5)]), append('r2', 5, [entry(6, 3)], { term: 3 })];
  t.is(coalesceAppends(otherTerm, limits).length, 2);
  const prevTermDiffers = [append('r2', 4, [entry(5, 1)]), append('r2', 5, [entry(6)])];
  t.is(coalesceAppends(prevTermDiffers, limits).length, 2, "the next append's prevLogTerm must be the last entry's term");
});

test('a message of another kind to the same follower keeps the order: nothing is joined across it', (t) => {
  const timeoutNow: Message = { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 2 };
  const messages = [append('r2', 4, [entry(5)]), timeoutNow, append('r2', 5, [entry(6)])];
  t.deepEqual(shape(coalesceAppends(messages, limits)), ['r2:4+[5]c4r0', 'r2:TimeoutNow', 'r2:5+[6]c5r0']);
});

test('heartbeat rounds: one round joins plain appends, two different rounds do not', (t) => {
  t.deepEqual(shape(coalesceAppends([append('r2', 5, [], { round: 7 }), append('r2', 5, [entry(6)])], limits)), ['r2:5+[6]c5r7']);
  t.is(coalesceAppends([append('r2', 5, [], { round: 7 }), append('r2', 5, [], { round: 8 })], limits).length, 2);
});

test("the joined append stays within the core's per-message limits", (t) => {
  const many = Array.from({ length: 10 }, (_, i) => append('r2', 4 + i, [entry(5 + i, 2, 300)]));
  const joined = coalesceAppends(many, limits);
  t.true(joined.every((m) => m.type === 'AppendEntries' && m.entries.length * 300 <= limits.maxBytesPerAppend));
  t.is(joined.length, 4, '3 + 3 + 3 + 1 entries of 300 bytes under 1,024');
  t.is(coalesceAppends(many, { maxEntriesPerAppend: 2, maxBytesPerAppend: 1 << 20 }).length, 5);
});
