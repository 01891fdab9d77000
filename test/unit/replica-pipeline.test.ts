import test from 'ava';
import type { Entry, Message, Ready } from '../../actors/raft/types.ts';
import { createPipeline, mergePersists, sendsBeforePersist, type PersistBatch, type PipelineEffects } from '../../actors/replica/pipeline.ts';

const noop = (index: number, term = 1): Entry => ({ index, term, kind: 'noop' });

function ready(seq: number, parts: Partial<Ready> = {}): Ready {
  return { seq, entries: [], messages: [], snapshotsToSend: [], committed: [], commitIndex: 0, proposals: [], reads: [], ...parts };
}

function heartbeat(to: string): Message {
  return { type: 'AppendEntries', from: 'r1', to, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, round: 1 };
}

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Records every effect in order; persist and apply can be held open to model slow disks. */
function recorder(options: { persistGate?: () => Promise<void>; applyGate?: () => Promise<void> } = {}) {
  const log: string[] = [];
  const persisted: PersistBatch[] = [];
  const errors: unknown[] = [];
  const effects: PipelineEffects = {
    async persist(batch) {
      log.push(`persist:${batch.entries.map((e) => e.index).join(',')}`);
      await options.persistGate?.();
      persisted.push(batch);
      log.push('persisted');
    },
    async adoptSnapshot(meta) {
      log.push(`snapshot:${meta.index}`);
    },
    send(messages) {
      for (const message of messages) log.push(`send:${message.to}`);
    },
    answer(proposals) {
      for (const proposal of proposals) log.push(`answer:${proposal.id}`);
    },
    async apply(committed) {
      log.push(`apply:${committed.map((e) => e.index).join(',')}`);
      await options.applyGate?.();
      log.push('applied');
    },
    fail(error) {
      errors.push(error);
    },
  };
  return { log, persisted, errors, effects };
}

test('each Ready is persisted, then sent, then answered, then applied', async (t) => {
  const { log, errors, effects } = recorder();
  const pipeline = createPipeline(effects);
  pipeline.push(
    ready(1, {
      entries: [noop(1)],
      messages: [heartbeat('r2')],
      proposals: [{ id: 'p1', accepted: true, index: 1, term: 1 }],
      committed: [noop(1)],
      commitIndex: 1,
    }),
  );
  await pipeline.drain();
  t.deepEqual(log, ['persist:1', 'persisted', 'send:r2', 'answer:p1', 'apply:1', 'applied']);
  t.deepEqual(errors, []);
});

test('Readys queued behind a slow persist are group-committed in one transaction, in order', async (t) => {
  const first = gate();
  let calls = 0;
  const { log, persisted, effects } = recorder({ persistGate: () => (calls++ === 0 ? first.promise : Promise.resolve()) });
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(1)] }));
  await new Promise((resolve) => setImmediate(resolve)); // persist of Ready 1 is now in flight
  pipeline.push(ready(2, { entries: [noop(2)], messages: [heartbeat('r2')] }));
  pipeline.push(ready(3, { hardState: { term: 2, votedFor: 'r1' }, entries: [noop(3, 2)], messages: [heartbeat('r3')] }));
  first.open();
  await pipeline.drain();
  t.is(persisted.length, 2);
  t.deepEqual(persisted[1], { hardState: { term: 2, votedFor: 'r1' }, entries: [noop(2), noop(3, 2)] });
  t.deepEqual(log, ['persist:1', 'persisted', 'persist:2,3', 'persisted', 'send:r2', 'send:r3']);
  t.is(pipeline.stats.largestGroup, 2);
});

test('a heartbeat goes out while an earlier apply is still running', async (t) => {
  const slowApply = gate();
  const { log, effects } = recorder({ applyGate: () => slowApply.promise });
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(1)], committed: [noop(1)], commitIndex: 1 }));
  pipeline.push(ready(2, { messages: [heartbeat('r2')] }));
  // Let the microtasks of stage 1 run; apply stays blocked on its gate.
  await new Promise((resolve) => setImmediate(resolve));
  t.true(log.includes('send:r2'));
  t.false(log.includes('applied'));
  slowApply.open();
  await pipeline.drain();
  t.is(log[log.length - 1], 'applied');
});

test('an entry is never applied before the Ready that carries it is durable', async (t) => {
  const slowPersist = gate();
  const { log, effects } = recorder({ persistGate: () => slowPersist.promise });
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(1)], committed: [noop(1)], commitIndex: 1 }));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(log.some((line) => line.startsWith('apply')));
  slowPersist.open();
  await pipeline.drain();
  t.true(log.indexOf('persisted') < log.indexOf('apply:1'));
});

test('a Ready out of sequence stops the pipeline with a clear error', async (t) => {
  const { errors, effects } = recorder();
  const pipeline = createPipeline(effects);
  pipeline.push(ready(5));
  pipeline.push(ready(4));
  await pipeline.drain();
  t.is(errors.length, 1);
  t.regex(String(errors[0]), /seq 4 arrived after seq 5/);
});

test('mergePersists folds truncations so the result equals writing each batch in turn', (t) => {
  const merged = mergePersists([
    ready(1, { entries: [noop(5), noop(6), noop(7)] }),
    ready(2, { truncateFrom: 6, entries: [noop(6, 2), noop(7, 2)] }),
    ready(3, { truncateFrom: 4, entries: [noop(4, 3)] }),
  ]);
  t.deepEqual(merged, { truncateFrom: 4, entries: [noop(4, 3)] });
  t.is(mergePersists([ready(1, { messages: [heartbeat('r2')] })]), null);
  t.deepEqual(mergePersists([ready(1, { entries: [noop(1)] }), ready(2, { truncateFrom: 2, entries: [noop(2, 2)] })]), {
    truncateFrom: 2,
    entries: [noop(1), noop(2, 2)],
  });
});

test('entries committed while an apply runs are applied together in one batch, in order', async (t) => {
  const slowApply = gate();
  let calls = 0;
  const { log, effects } = recorder({ applyGate: () => (calls++ === 0 ? slowApply.promise : Promise.resolve()) });
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(1)], committed: [noop(1)], commitIndex: 1 }));
  await new Promise((resolve) => setImmediate(resolve));
  pipeline.push(ready(2, { entries: [noop(2)], committed: [noop(2)], commitIndex: 2 }));
  pipeline.push(ready(3, { entries: [noop(3)], committed: [noop(3)], commitIndex: 3 }));
  await new Promise((resolve) => setImmediate(resolve));
  slowApply.open();
  await pipeline.drain();
  t.deepEqual(log.filter((line) => line.startsWith('apply')), ['apply:1', 'apply:2,3']);
  t.is(pipeline.stats.applyBatches, 2);
});

test('an apply pause holds applies back; the commits that arrive meanwhile join the same transaction, in order', async (t) => {
  const pause = gate();
  const asked: number[] = [];
  const { log, effects } = recorder();
  const pipeline = createPipeline({ ...effects, applyPause: (queued) => (asked.push(queued), asked.length === 1 ? pause.promise : null) });
  pipeline.push(ready(1, { entries: [noop(1)], committed: [noop(1)], commitIndex: 1 }));
  await new Promise((resolve) => setImmediate(resolve));
  pipeline.push(ready(2, { entries: [noop(2), noop(3)], committed: [noop(2), noop(3)], commitIndex: 3 }));
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(log.filter((line) => line.startsWith('apply')), [], 'nothing applied while paused');
  pause.open();
  await pipeline.drain();
  t.deepEqual(log.filter((line) => line.startsWith('apply')), ['apply:1,2,3']);
  t.deepEqual(asked, [1], 'asked once, with the one entry queued then');
  t.is(pipeline.stats.applyBatches, 1);
});

// ---- a leader's appends in parallel with its own persist (thesis §10.2.1) ----

function append(to: string, index: number): Message {
  return { type: 'AppendEntries', from: 'r1', to, term: 1, prevLogIndex: index - 1, prevLogTerm: 1, entries: [noop(index)], leaderCommit: 0, round: 0 };
}
function answer(to: string, matchIndex: number): Message {
  return { type: 'AppendEntriesResponse', from: 'r2', to, term: 1, success: true, matchIndex, conflictTerm: 0, conflictIndex: 0, round: 0 };
}

/** The recorder, with `persisted` reports logged (which switches the early sends on). */
function reporting(options: { persistGate?: () => Promise<void> } = {}) {
  const r = recorder(options);
  const effects: PipelineEffects = { ...r.effects, persisted: (index, term) => r.log.push(`persisted-report:${index}@${term}`) };
  return { ...r, effects };
}

test('with persisted reports, a leader\'s appends leave before its persist; answers wait, and the fsync is reported', async (t) => {
  const slowPersist = gate();
  const { log, effects } = reporting({ persistGate: () => slowPersist.promise });
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(2)], messages: [append('r2', 2), append('r3', 2)], proposals: [{ id: 'p2', accepted: true, index: 2, term: 1 }] }));
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(log, ['send:r2', 'send:r3', 'persist:2'], 'sent while the persist is in flight');
  slowPersist.open();
  await pipeline.drain();
  t.deepEqual(log, ['send:r2', 'send:r3', 'persist:2', 'persisted', 'persisted-report:2@1', 'answer:p2']);
});

test('with persisted reports, vote traffic, a follower\'s answers and whatever follows a hard-state change still wait for the persist', async (t) => {
  const { log, effects } = reporting();
  const pipeline = createPipeline(effects);
  const vote: Message = { type: 'RequestVote', from: 'r1', to: 'r2', term: 2, lastLogIndex: 1, lastLogTerm: 1, preVote: false, transfer: false };
  // One group: a leader append, then a follower's answer, then a leader append behind it.
  pipeline.push(ready(1, { entries: [noop(1)], messages: [append('r2', 1)] }));
  pipeline.push(ready(2, { entries: [noop(2)], messages: [answer('r1', 2)] }));
  pipeline.push(ready(3, { entries: [noop(3)], messages: [append('r3', 3)] }));
  await pipeline.drain();
  t.deepEqual(log, ['send:r2', 'persist:1,2,3', 'persisted', 'persisted-report:3@1', 'send:r1', 'send:r3'], 'only the leading appends go early; the order per peer is kept');
  log.length = 0;
  pipeline.push(ready(4, { hardState: { term: 2, votedFor: 'r1' }, entries: [], messages: [vote] }));
  pipeline.push(ready(5, { entries: [noop(4, 2)], messages: [append('r3', 4)] }));
  await pipeline.drain();
  t.deepEqual(log, ['persist:4', 'persisted', 'persisted-report:4@2', 'send:r2', 'send:r3'], 'a new term or vote is durable before any message carries it');
});

test('without persisted reports the pipeline sends nothing before the persist', async (t) => {
  const { log, effects } = recorder();
  const pipeline = createPipeline(effects);
  pipeline.push(ready(1, { entries: [noop(2)], messages: [append('r2', 2)] }));
  await pipeline.drain();
  t.deepEqual(log, ['persist:2', 'persisted', 'send:r2']);
});

test('sendsBeforePersist counts the leading Readys that carry only appends and change nothing durable', (t) => {
  const leader = ready(1, { entries: [noop(1)], messages: [append('r2', 1)] });
  t.is(sendsBeforePersist([leader, leader]), 2);
  t.is(sendsBeforePersist([ready(1, { hardState: { term: 1, votedFor: 'r1' }, messages: [append('r2', 1)] }), leader]), 0);
  t.is(sendsBeforePersist([leader, ready(2, { truncateFrom: 1, messages: [append('r2', 1)] })]), 1);
  t.is(sendsBeforePersist([ready(1, { messages: [append('r2', 1)], snapshotsToSend: [{ to: 'r2', meta: { index: 1, term: 1, config: { voters: ['r1', 'r2'], learners: [] } } }] })]), 0);
  t.is(sendsBeforePersist([ready(1, { messages: [append('r2', 1), { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 1 }] })]), 0);
});
