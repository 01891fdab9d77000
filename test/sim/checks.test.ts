import test from 'ava';
import type { CoreView, Entry, Ready } from '../../actors/raft/types.ts';
import { SeededRandom } from '../../actors/transport/sim-random.ts';
import { SimulatedDisk, StorageContractError } from './disk.ts';
import { InvariantChecker, InvariantViolation } from './invariants.ts';
import { ReadChecker } from './reads.ts';
import { applyEntry, initialState } from './state-machine.ts';

const config = { voters: ['r1', 'r2', 'r3'], learners: [] };
const encoder = new TextEncoder();
const command = (index: number, term: number, payload: string): Entry => ({ index, term, kind: 'command', data: encoder.encode(payload) });
const noop = (index: number, term: number): Entry => ({ index, term, kind: 'noop' });

function ready(fields: Partial<Ready>): Ready {
  return { seq: 0, entries: [], messages: [], snapshotsToSend: [], committed: [], commitIndex: 0, proposals: [], reads: [], ...fields };
}

function view(fields: Partial<CoreView>): CoreView {
  return {
    id: 'r1',
    role: 'follower',
    term: 1,
    votedFor: null,
    leader: null,
    commitIndex: 0,
    config,
    snapshot: { index: 0, term: 0, config },
    lastIndex: 0,
    entries: [],
    progress: {},
    ...fields,
  };
}

test('disk: persist applies hard state, truncation and appends in order; recover returns them', (t) => {
  const disk = new SimulatedDisk(config, 'honest', new SeededRandom(1));
  disk.persist(ready({ hardState: { term: 2, votedFor: 'r2' }, entries: [noop(1, 1), command(2, 1, 'a'), command(3, 2, 'b')] }), () => undefined);
  disk.persist(ready({ truncateFrom: 3, entries: [command(3, 3, 'c')] }), () => undefined);
  const recovered = disk.recover();
  t.deepEqual(recovered.hardState, { term: 2, votedFor: 'r2' });
  t.deepEqual(recovered.entries.map((e) => `${e.index}/${e.term}`), ['1/1', '2/1', '3/3']);
  t.is(disk.entryAt(3)?.term, 3);
});

test('disk: impossible requests are contract errors, not silent corruption', (t) => {
  const disk = new SimulatedDisk(config, 'honest', new SeededRandom(1));
  t.throws(() => disk.persist(ready({ entries: [noop(2, 1)] }), () => undefined), { instanceOf: StorageContractError, message: /append of index 2 where 1/ });
  t.throws(() => disk.persist(ready({ truncateFrom: 5 }), () => undefined), { instanceOf: StorageContractError });
  t.throws(() => disk.persist(ready({ installSnapshot: { index: 4, term: 1, config } }), () => undefined), { instanceOf: StorageContractError, message: /never arrived/ });
  disk.persist(ready({ hardState: { term: 3, votedFor: null } }), () => undefined);
  t.throws(() => disk.persist(ready({ hardState: { term: 2, votedFor: null } }), () => undefined), { message: /went back/ });
});

test('disk: snapshots replace the log they cover; a received one replaces the state machine', (t) => {
  const disk = new SimulatedDisk(config, 'honest', new SeededRandom(1));
  disk.persist(ready({ entries: [noop(1, 1), command(2, 1, 'a'), command(3, 1, 'b')] }), () => undefined);
  let state = initialState(config);
  for (const entry of [noop(1, 1), command(2, 1, 'a')]) state = applyEntry(state, entry);
  disk.setApplied(state);
  disk.saveSnapshot({ meta: { index: 2, term: 1, config }, state });
  t.deepEqual(disk.recover().entries.map((e) => e.index), [3]);
  t.throws(() => disk.saveSnapshot({ meta: { index: 3, term: 1, config }, state }), { message: /ahead of applied/ });
  const received = { meta: { index: 9, term: 4, config }, state: { ...state, appliedIndex: 9, appliedTerm: 4 } };
  disk.persist(ready({ installSnapshot: received.meta }), () => received);
  t.is(disk.applied.appliedIndex, 9);
  t.is(disk.lastIndex, 9);
  t.deepEqual(disk.recover().entries, []);
});

test('disk: a lying disk acknowledges writes a crash then loses; an honest one keeps them', (t) => {
  const writeMany = (disk: SimulatedDisk) => {
    for (let i = 1; i <= 40; i++) disk.persist(ready({ hardState: { term: i, votedFor: null }, entries: [noop(i, i)] }), () => undefined);
    disk.crash();
    return disk.recover();
  };
  t.is(writeMany(new SimulatedDisk(config, 'honest', new SeededRandom(5))).entries.length, 40);
  const lied = writeMany(new SimulatedDisk(config, 'lying', new SeededRandom(5)));
  t.true(lied.entries.length < 40, `kept ${lied.entries.length} of 40`);
  t.is(lied.hardState.term, lied.entries.length, 'what survives is one consistent earlier flush');
});

test('invariants: two leaders in one term break election safety', (t) => {
  const checker = new InvariantChecker();
  checker.observeView(view({ id: 'r1', role: 'leader', term: 3 }), () => null);
  checker.observeView(view({ id: 'r1', role: 'leader', term: 3 }), () => null);
  const error = t.throws(() => checker.observeView(view({ id: 'r2', role: 'leader', term: 3 }), () => null), { instanceOf: InvariantViolation });
  t.is(error?.invariant, 'election safety');
});

test('invariants: changing a vote within a term breaks vote safety', (t) => {
  const checker = new InvariantChecker();
  checker.observeHardState('r1', { term: 2, votedFor: 'r2' });
  checker.observeHardState('r1', { term: 2, votedFor: 'r2' });
  checker.observeHardState('r1', { term: 3, votedFor: null });
  t.throws(() => checker.observeHardState('r1', { term: 2, votedFor: 'r3' }), { instanceOf: InvariantViolation, message: /voted for r2 and then for r3/ });
});

test('invariants: log matching catches different entries, or different histories, under one (index, term)', (t) => {
  const checker = new InvariantChecker();
  checker.observeAppend('r1', command(2, 1, 'a'), 1);
  checker.observeAppend('r2', command(2, 1, 'a'), 1);
  t.throws(() => checker.observeAppend('r3', command(2, 1, 'z'), 1), { message: /log matching.*"t1 command a" at r1/ });
  t.throws(() => checker.observeAppend('r3', command(2, 1, 'a'), 0), { message: /log matching.*logs differ/ });
  checker.observeAppend('r3', command(2, 1, 'a'), null); // predecessor hidden by a snapshot: nothing to compare
  t.pass();
});

test('invariants: a leader of a later term lacking a committed entry breaks leader completeness', (t) => {
  const checker = new InvariantChecker();
  checker.observeCommit(view({ id: 'r1', role: 'leader', term: 2, commitIndex: 5 }), 2);
  // Same term: not required to hold it (a stale leader of term 2 may exist).
  checker.observeView(view({ id: 'r2', role: 'leader', term: 2 }), () => null);
  checker.observeView(view({ id: 'r3', role: 'leader', term: 3 }), (i) => (i === 5 ? 2 : null));
  checker.observeView(view({ id: 'r1', role: 'leader', term: 4 }), () => undefined); // covered by its snapshot
  const error = t.throws(() => checker.observeView(view({ id: 'r2', role: 'leader', term: 5 }), (i) => (i === 5 ? 4 : null)), { instanceOf: InvariantViolation });
  t.is(error?.invariant, 'leader completeness');
});

test('invariants: state machine safety: different entries at one index, gaps, repeats and lost applied state', (t) => {
  const checker = new InvariantChecker();
  let r1 = initialState(config);
  let r2 = initialState(config);
  r1 = checker.observeApply('r1', r1, noop(1, 1));
  r1 = checker.observeApply('r1', r1, command(2, 1, 'a'));
  r2 = checker.observeApply('r2', r2, noop(1, 1));
  t.throws(() => checker.observeApply('r2', r2, command(2, 2, 'b')), { message: /state machine safety.*"t1 command a"/ });
  t.throws(() => checker.observeApply('r1', r1, command(4, 1, 'x')), { message: /applied index 4 right after 2/ });
  t.throws(() => checker.observeApply('r1', r1, command(2, 1, 'a')), { message: /applied index 2 right after 2/ });
  t.throws(() => checker.observeState('r1', r2, 'recovery'), { message: /had applied through 2.*apply 2..2 again/ });
  checker.observeState('r3', r1, 'snapshot install');
  checker.observeCommit(view({ id: 'r1', commitIndex: 2 }), 1);
  t.throws(() => checker.observeCommit(view({ id: 'r2', commitIndex: 2 }), 2), { message: /committed with term 1 at r1 but with term 2/ });
});

test('invariants: an acknowledgement must match what was applied there', (t) => {
  const checker = new InvariantChecker();
  checker.observeApply('r1', initialState(config), command(1, 1, 'p1'));
  checker.observeAck('p1', 't1 command p1', 1, 1);
  t.is(checker.maxAckedIndex, 1);
  t.throws(() => checker.observeAck('p2', 't1 command p2', 1, 1), { message: /acknowledged write lost/ });
  t.throws(() => checker.observeAck('p3', 't1 command p3', 2, 1), { message: /holds "nothing"/ });
});

test('reads: a read observes what was committed when it was issued, and what earlier reads observed', (t) => {
  const reads = new ReadChecker();
  const first = reads.issue('r1', 10, 5);
  t.is(reads.onOutcome('r1', { id: first, ok: true, index: 6 }, 5), null); // waits for apply of 6
  reads.onApplied('r1', 6);
  t.is(reads.stats.served, 1);
  const refused = reads.issue('r2', 11, 6);
  t.is(reads.onOutcome('r2', { id: refused, ok: false, reason: { kind: 'not_leader', leader: 'r1' } }, 4), 'r1', 'a refusal names the leader to ask next');
  const stale = reads.issue('r3', 12, 6);
  t.throws(() => reads.onOutcome('r3', { id: stale, ok: true, index: 4 }, 4), { instanceOf: InvariantViolation, message: /index 6 was already committed/ });
  const behind = reads.issue('r3', 13, 0);
  t.throws(() => reads.serveLocally(behind, 5), { message: /less than 6 observed by a read served before/ });
});
