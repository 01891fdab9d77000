import test from 'ava';
import fc from 'fast-check';
import { hasQuorum, majority, peersOf, quorumMatchIndex, voteResult } from '../../actors/raft/quorum.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i + 1}`);

test('majority is more than half', (t) => {
  t.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
});

test('quorumMatchIndex is the highest index held by a majority of voters', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.array(fc.nat(100), { minLength: 1, maxLength: 9 }), (matches) => {
      const voters = ids(matches.length);
      const q = quorumMatchIndex(voters, (v) => matches[voters.indexOf(v)]!);
      const atLeast = (i: number) => matches.filter((m) => m >= i).length;
      // a majority holds q, and no higher index is held by a majority
      return atLeast(q) >= majority(matches.length) && atLeast(q + 1) < majority(matches.length);
    }),
  ));
});

test('quorumMatchIndex ignores non-voters (learners never count) and is 0 without voters', (t) => {
  const match: Record<string, number> = { r1: 5, r2: 5, r3: 1, learner: 9 };
  t.is(quorumMatchIndex(['r1', 'r2', 'r3'], (v) => match[v] ?? 0), 5);
  t.is(quorumMatchIndex(['r3'], (v) => match[v] ?? 0), 1);
  t.is(quorumMatchIndex([], () => 7), 0);
});

test('voteResult: won at a majority of grants, lost once a majority is impossible, else pending', (t) => {
  const voters = ids(5);
  t.is(voteResult(voters, { r1: true }), 'pending');
  t.is(voteResult(voters, { r1: true, r2: true, r3: true }), 'won');
  t.is(voteResult(voters, { r1: true, r2: false, r3: false }), 'pending');
  t.is(voteResult(voters, { r1: true, r2: false, r3: false, r4: false }), 'lost');
  t.is(voteResult(voters, { r1: true, x: true, y: true }), 'pending', 'answers from non-voters do not count');
  t.is(voteResult([], { r1: true }), 'lost');
});

test('voteResult never says won and lost for the same answers, and agrees with counting', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.array(fc.option(fc.boolean(), { nil: undefined }), { maxLength: 9 }), (n, raw) => {
      const voters = ids(n);
      const answers: Record<string, boolean> = {};
      raw.slice(0, n).forEach((a, i) => {
        if (a !== undefined) answers[voters[i]!] = a;
      });
      const granted = Object.values(answers).filter((a) => a).length;
      const refused = Object.values(answers).filter((a) => !a).length;
      const result = voteResult(voters, answers);
      if (granted >= majority(n)) return result === 'won';
      if (refused > n - majority(n)) return result === 'lost';
      return result === 'pending';
    }),
  ));
});

test('hasQuorum counts present voters only', (t) => {
  t.true(hasQuorum(ids(3), (v) => v !== 'r3'));
  t.false(hasQuorum(ids(4), (v) => v === 'r1' || v === 'r2'));
  t.false(hasQuorum([], () => true));
});

test('peersOf lists voters and learners except self, once each', (t) => {
  t.deepEqual(peersOf({ voters: ['a', 'b', 'c'], learners: ['d'] }, 'b'), ['a', 'c', 'd']);
});
