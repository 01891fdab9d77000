import test from 'ava';
import fc from 'fast-check';
import type { Entry } from '../../actors/raft/types.ts';
import type { RaftLog } from '../../actors/raft/log.ts';
import {
  LogInvariantError,
  appendEntries,
  applyMerge,
  compactTo,
  entriesBetween,
  entriesOf,
  logFrom,
  firstIndexOfTerm,
  isUpToDate,
  lastIndex,
  lastIndexOfTerm,
  lastTerm,
  latestConfig,
  planMerge,
  sliceForAppend,
  termAt,
  truncateFrom,
} from '../../actors/raft/log.ts';

const config = { voters: ['r1', 'r2', 'r3'], learners: [] };
const empty: RaftLog = logFrom({ index: 0, term: 0, config }, []);
const cmd = (index: number, term: number, bytes = 1): Entry => ({ index, term, kind: 'command', data: new Uint8Array(bytes) });
const logOf = (terms: number[], base = 0, baseTerm = 0): RaftLog =>
  logFrom(
    { index: base, term: baseTerm, config },
    terms.map((term, i) => cmd(base + i + 1, term)),
  );

/** Non-decreasing terms, as every real log has. */
const termsArb = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 12 }).map((ts) => ts.sort((a, b) => a - b));

test('termAt: the snapshot term at snapshot.index, undefined when compacted or past the end', (t) => {
  const log = logOf([2, 2, 3], 5, 1);
  t.is(termAt(log, 5), 1);
  t.is(termAt(log, 6), 2);
  t.is(termAt(log, 8), 3);
  t.is(termAt(log, 4), undefined);
  t.is(termAt(log, 9), undefined);
  t.is(termAt(log, 1.5), undefined);
  t.is(termAt(empty, 0), 0);
  t.is(lastIndex(log), 8);
  t.is(lastTerm(log), 3);
  t.is(lastTerm(logOf([], 5, 1)), 1);
});

test('isUpToDate compares last term first, then length (Raft §5.4.1)', (t) => {
  const log = logOf([1, 1, 2]);
  t.true(isUpToDate(log, 3, 1));
  t.false(isUpToDate(log, 1, 9));
  t.true(isUpToDate(log, 2, 3));
  t.false(isUpToDate(log, 2, 2));
});

test('appendEntries refuses gaps; truncateFrom refuses the snapshot', (t) => {
  t.throws(() => appendEntries(logOf([1]), [cmd(3, 1)]), { instanceOf: LogInvariantError });
  t.throws(() => truncateFrom(logOf([1], 2, 1), 2), { instanceOf: LogInvariantError });
  t.is(lastIndex(truncateFrom(logOf([1, 1, 1]), 2)), 1);
});

test('planMerge never truncates when the entries already match (stale or duplicate appends)', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(termsArb, fc.nat(12), fc.nat(12), (terms, a, b) => {
      const log = logOf(terms);
      const from = Math.min(a, terms.length);
      const to = Math.min(Math.max(from, b), terms.length);
      const plan = planMerge(log, entriesOf(log).slice(from, to));
      return plan.truncateFrom === null && plan.append.length === 0;
    }),
  ));
});

test('after a merge the follower holds exactly the leader prefix up to the appended entries', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(termsArb, termsArb, fc.nat(12), fc.nat(12), (followerTerms, leaderTerms, p, n) => {
      const follower = logOf(followerTerms);
      const leader = logOf(leaderTerms);
      // The leader sends from a prev up to which the two logs agree (the consistency
      // check passed; by Log Matching, agreement at prev means agreement before it).
      let prev = Math.min(p, followerTerms.length, leaderTerms.length);
      const agreeUpTo = (k: number) => Array.from({ length: k }, (_, i) => i + 1).every((i) => termAt(follower, i) === termAt(leader, i));
      while (prev > 0 && !agreeUpTo(prev)) prev -= 1;
      const sent = entriesOf(leader).slice(prev, prev + n);
      const merged = applyMerge(follower, planMerge(follower, sent));
      const upTo = prev + sent.length;
      for (let i = 1; i <= upTo; i += 1) if (termAt(merged, i) !== termAt(leader, i)) return false;
      // Entries after the sent ones survive only if nothing conflicted.
      const plan = planMerge(follower, sent);
      return plan.truncateFrom === null ? lastIndex(merged) === Math.max(lastIndex(follower), upTo) : lastIndex(merged) === upTo;
    }),
  ));
});

test('sliceForAppend respects count and bytes but always moves at least one entry', (t) => {
  const log = logFrom(empty.snapshot, [cmd(1, 1, 10), cmd(2, 1, 10), cmd(3, 1, 100), cmd(4, 1, 1)]);
  t.deepEqual(sliceForAppend(log, 1, 10, 25).map((e) => e.index), [1, 2]);
  t.deepEqual(sliceForAppend(log, 3, 10, 25).map((e) => e.index), [3], 'one oversized entry still goes');
  t.deepEqual(sliceForAppend(log, 1, 1, 1000).map((e) => e.index), [1]);
  t.deepEqual(sliceForAppend(log, 5, 10, 1000), []);
  t.deepEqual(sliceForAppend(logOf([1, 1], 3, 1), 2, 10, 1000), [], 'compacted entries cannot be sliced');
});

test('entriesBetween clamps to what the log holds', (t) => {
  const log = logOf([1, 1, 2], 2, 1);
  t.deepEqual(entriesBetween(log, 1, 9).map((e) => e.index), [3, 4, 5]);
  t.deepEqual(entriesBetween(log, 4, 4).map((e) => e.index), [4]);
  t.deepEqual(entriesBetween(log, 5, 4), []);
});

test('fast back-off helpers find the bounds of a term', (t) => {
  const log = logOf([1, 1, 4, 4, 4, 5]);
  t.is(firstIndexOfTerm(log, 4, 5), 3);
  t.is(firstIndexOfTerm(log, 1, 2), 1);
  t.is(lastIndexOfTerm(log, 4), 5);
  t.is(lastIndexOfTerm(log, 3), null);
  t.is(lastIndexOfTerm(logOf([2], 3, 1), 1), 3, 'the snapshot term counts');
});

test('latestConfig: the newest config entry, committed or not, else the snapshot’s', (t) => {
  const next = { voters: ['r1', 'r2'], learners: ['r3'] };
  const log = appendEntries(logOf([1, 1]), [{ index: 3, term: 1, kind: 'config', config: next }, cmd(4, 1)]);
  t.deepEqual(latestConfig(log), { config: next, index: 3 });
  t.deepEqual(latestConfig(truncateFrom(log, 3)), { config, index: 0 });
});

test('compactTo drops entries up to the snapshot and keeps the rest', (t) => {
  const log = logOf([1, 1, 2, 2]);
  const compacted = compactTo(log, { index: 2, term: 1, config });
  t.is(lastIndex(compacted), 4);
  t.is(termAt(compacted, 2), 1);
  t.is(termAt(compacted, 1), undefined);
  t.throws(() => compactTo(log, { index: 9, term: 2, config }), { instanceOf: LogInvariantError });
  t.is(compactTo(compacted, { index: 1, term: 1, config }), compacted);
});

test('logs share storage safely: appending to one log never changes another (Go-slice sharing)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(20), fc.nat(3), fc.nat(3)), { maxLength: 30 }), (ops) => {
        // Keep every log ever produced with the entries it had; none may ever change.
        const logs: { log: RaftLog; entries: Entry[] }[] = [{ log: logOf([1]), entries: entriesOf(logOf([1])) }];
        for (const [pick, cut, add] of ops) {
          const base = logs[pick % logs.length]!.log;
          const cutAt = Math.max(1, lastIndex(base) - cut + 1);
          const truncated = cut > 0 && cutAt <= lastIndex(base) ? truncateFrom(base, cutAt) : base;
          const added = Array.from({ length: add }, (_, i) => cmd(lastIndex(truncated) + i + 1, 2));
          const next = appendEntries(truncated, added);
          logs.push({ log: next, entries: entriesOf(next) });
          for (const { log, entries } of logs) if (JSON.stringify(entriesOf(log)) !== JSON.stringify(entries)) return false;
        }
        return true;
      }),
    ),
  );
});
