// Unit checks of the simulation's own parts: the in-memory store's contract and
// crash model, the chat model's exactly-once rule, and that each core invariant
// fires on a hand-made violation.
import test from 'ava';
import type { CoreView, Entry } from '../../actors/raft/types.ts';
import { MemoryDisk } from '../../storage/memory-store.ts';
import { InvalidPersistError, ApplyOrderError } from '../../storage/errors.ts';
import { chatModel, chatModelCodec, type ChatModelState } from './chat-model.ts';
import { InvariantChecker, InvariantViolation } from './invariants.ts';

const config = { voters: ['r1', 'r2', 'r3'], learners: [] };
const encoder = new TextEncoder();
const command = (index: number, term: number, payload: string): Entry => ({ index, term, kind: 'command', data: encoder.encode(payload) });
const noop = (index: number, term: number): Entry => ({ index, term, kind: 'noop' });

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

function disk(options: { mode?: 'honest' | 'lying'; flushes?: () => boolean } = {}): MemoryDisk<ChatModelState> {
  return new MemoryDisk({ codec: chatModelCodec, initialConfig: config, dataId: '00000000000000d1', mode: options.mode ?? 'honest', ...(options.flushes ? { flushes: options.flushes } : {}) });
}

const send = (index: number, term: number, from: string, requestId: string): Entry =>
  command(index, term, JSON.stringify({ type: 'send', from, to: 'bob', text: `m-${requestId}`, requestId, ts: index }));

test('memory store: persist and apply survive a crash on an honest disk; recovery starts where they left off', async (t) => {
  const d = disk();
  const store = d.open();
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [noop(1, 1), send(2, 1, 'ada', 'q1')] });
  const model = chatModel(() => store.app);
  await store.apply([noop(1, 1), send(2, 1, 'ada', 'q1')], async (tx, entry) => (entry.kind === 'command' ? await model.apply(tx, entry) : null));
  d.crash();
  const again = d.open();
  const loaded = again.load();
  t.deepEqual(loaded.hardState, { term: 1, votedFor: 'r1' });
  t.is(loaded.entries.length, 2);
  t.is(loaded.appliedIndex, 2);
  t.is(again.app.messages.length, 1);
  await t.throwsAsync(store.persist({ entries: [] }), { message: /closed/ }, 'the crashed incarnation writes nothing more');
});

test('memory store: the same contract errors as the SQLite store', async (t) => {
  const store = disk().open();
  await store.persist({ hardState: { term: 1, votedFor: null }, entries: [noop(1, 1)] });
  await t.throwsAsync(store.persist({ entries: [noop(3, 1)] }), { instanceOf: InvalidPersistError });
  await store.apply([noop(1, 1)], async () => null);
  await t.throwsAsync(store.persist({ truncateFrom: 1, entries: [noop(1, 1)] }), { instanceOf: InvalidPersistError });
  await t.throwsAsync(store.apply([noop(1, 1)], async () => null), { instanceOf: ApplyOrderError });
  await t.throwsAsync(store.apply([noop(2, 1)], async () => null), { message: /only persisted entries/ });
  // Raft §5.2: no term going back, no second vote in a term.
  await store.persist({ hardState: { term: 2, votedFor: 'r1' }, entries: [] });
  await t.throwsAsync(store.persist({ hardState: { term: 1, votedFor: null }, entries: [] }), { instanceOf: InvalidPersistError, message: /term may not go back/ });
  await t.throwsAsync(store.persist({ hardState: { term: 2, votedFor: 'r2' }, entries: [] }), { instanceOf: InvalidPersistError, message: /may not change/ });
});

test('memory store: a lying disk acknowledges writes a crash then loses; snapshots travel as bytes', async (t) => {
  const d = disk({ mode: 'lying', flushes: () => false });
  const store = d.open();
  await store.persist({ hardState: { term: 1, votedFor: null }, entries: [noop(1, 1)] });
  t.is(store.status().lastIndex, 1, 'acknowledged');
  d.crash();
  t.is(d.open().status().lastIndex, 0, 'lost: it was never flushed');

  const leader = disk().open();
  await leader.persist({ hardState: { term: 2, votedFor: null }, entries: [noop(1, 2), send(2, 2, 'ada', 'q1')] });
  const model = chatModel(() => leader.app);
  await leader.apply([noop(1, 2), send(2, 2, 'ada', 'q1')], async (tx, entry) => (entry.kind === 'command' ? await model.apply(tx, entry) : null));
  const { meta } = await leader.createSnapshot();
  const stream = await leader.openSnapshot();
  const follower = disk().open();
  await follower.installSnapshot(meta, stream!.chunks());
  t.is(follower.status().appliedIndex, 2);
  t.is(follower.status().digest, leader.status().digest);
  t.deepEqual(follower.app, leader.app);
  t.is(follower.load().hardState.term, 2, 'the hard state starts at least in the snapshot term (storage hardStateCovering)');
});

test('memory store: the unsafe non-atomic apply re-applies entries after a crash between its two writes', async (t) => {
  let release!: () => void;
  const d = new MemoryDisk<ChatModelState>({
    codec: chatModelCodec,
    initialConfig: config,
    dataId: '00000000000000d1',
    mode: 'honest',
    latencyMs: () => 1,
    sleep: async () => await new Promise<void>((resolve) => (release = resolve)),
    unsafe: { nonAtomicApply: true },
  });
  const store = d.open();
  const entries = [send(1, 1, 'ada', 'q1')];
  const persisted = store.persist({ hardState: { term: 1, votedFor: null }, entries });
  release();
  await persisted;
  const model = chatModel(() => store.app);
  const applying = store.apply(entries, async (tx, entry) => (entry.kind === 'command' ? await model.apply(tx, entry) : null));
  release(); // the first wait, before applying
  await new Promise((resolve) => setImmediate(resolve));
  d.crash(); // between "tables written" and "appliedIndex written"
  release();
  await t.throwsAsync(applying);
  const again = d.open();
  t.is(again.status().appliedIndex, 0);
  t.is(again.app.applied, 1, 'the tables already hold the entry the store says is not applied');
});

test('chat model: one message per (sender, requestId), at prepare and at apply', async (t) => {
  const state = chatModelCodec.initial();
  const model = chatModel(() => state);
  const request = { op: 'send', token: 't-ada', to: 'bob', text: 'hi', requestId: 'q1' } as const;
  const prepared = await model.prepare(request, 10, () => new Uint8Array());
  t.is(prepared.kind, 'propose');
  const entry = { index: 1, term: 1, kind: 'command', data: prepared.kind === 'propose' ? prepared.data : new Uint8Array() } as const;
  await model.apply(state, entry);
  await model.apply(state, { ...entry, index: 2 }); // the same request proposed twice (a retry after a lost leader)
  t.is(state.messages.length, 1);
  const again = await model.prepare(request, 11, () => new Uint8Array());
  t.deepEqual(again, { kind: 'answer', reply: { ok: true, message: { id: 1, from: 'ada', to: 'bob', text: 'hi', ts: 10 } } });
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

test('invariants: a commit index claimed with two terms breaks state machine safety', (t) => {
  const checker = new InvariantChecker();
  checker.observeCommit(view({ id: 'r1', commitIndex: 2 }), 1);
  t.throws(() => checker.observeCommit(view({ id: 'r2', commitIndex: 2 }), 2), { message: /committed with term 1 at r1 but with term 2/ });
});
