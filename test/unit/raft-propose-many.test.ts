// proposeMany: a turn's commands in one core step. It must leave exactly the
// log, commits and answers that proposing each in turn leaves, with one round
// of appends instead of one per command.
import test from 'ava';
import { DEFAULT_LIMITS, MAX_PROPOSALS_PER_EVENT, viewOf } from '../../actors/raft/index.ts';
import type { Ready } from '../../actors/raft/index.ts';
import { createProposalBatcher } from '../../actors/replica/proposal-batch.ts';
import type { RaftEvent } from '../../actors/raft/types.ts';
import { memCluster } from '../scenarios/mem-cluster.ts';

function cluster(ids: string[], limits = DEFAULT_LIMITS) {
  const readies = new Map<string, Ready[]>(ids.map((id) => [id, []]));
  const c = memCluster(ids, (id, ready) => readies.get(id)!.push(ready), { limits });
  c.run(2000);
  const leader = c.views().find((v) => v.role === 'leader')!;
  return { ...c, readies, leader, leaderActor: c.actors.get(leader.id)! };
}

const commands = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, data: Uint8Array.of(i) }));

test('proposeMany leaves the log, commits and answers that proposing each in turn leaves, with one round of appends', (t) => {
  const one = cluster(['r1', 'r2', 'r3']);
  const many = cluster(['r1', 'r2', 'r3']);
  const appendsBefore = (c: typeof one) => c.readies.get(c.leader.id)!.flatMap((r) => r.messages).filter((m) => m.type === 'AppendEntries').length;
  const [oneBefore, manyBefore] = [appendsBefore(one), appendsBefore(many)];
  for (const p of commands(20)) one.leaderActor.send({ type: 'propose', ...p });
  const oneAppends = appendsBefore(one) - oneBefore;
  many.leaderActor.send({ type: 'proposeMany', proposals: commands(20) });
  const manyAppends = appendsBefore(many) - manyBefore;
  for (const c of [one, many]) {
    c.pump();
    c.run(300);
  }
  const shape = (c: typeof one) => c.views().map((v) => ({ id: v.id, commitIndex: v.commitIndex, entries: v.entries.map((e) => [e.index, e.kind, e.kind === 'command' ? [...e.data] : null]) }));
  t.deepEqual(shape(many), shape(one));
  t.is(many.views()[0]!.commitIndex, 21);
  const answers = (c: typeof one) => c.readies.get(c.leader.id)!.flatMap((r) => r.proposals);
  t.deepEqual(answers(many), answers(one));
  t.is(answers(many).filter((a) => a.accepted).length, 20);
  // Two followers: one append each for the batch, against one per command and follower (within the pipelining window).
  t.is(manyAppends, 2);
  t.true(oneAppends > manyAppends, `${oneAppends} appends one by one`);
});

test('proposeMany at a follower refuses every command, pointing at the leader', (t) => {
  const c = cluster(['r1', 'r2', 'r3']);
  const follower = c.views().find((v) => v.role === 'follower')!;
  c.actors.get(follower.id)!.send({ type: 'proposeMany', proposals: commands(3) });
  t.deepEqual(
    c.readies.get(follower.id)!.flatMap((r) => r.proposals),
    commands(3).map(({ id }) => ({ id, accepted: false, reason: { kind: 'not_leader', leader: c.leader.id } })),
  );
});

test('proposeMany accepts up to the uncommitted limit and refuses the rest, in order', (t) => {
  const c = cluster(['r1', 'r2', 'r3'], { ...DEFAULT_LIMITS, maxUncommittedEntries: 5 });
  // The followers hear nothing from here on, so nothing commits.
  c.leaderActor.send({ type: 'proposeMany', proposals: commands(8) });
  const answers = c.readies.get(c.leader.id)!.flatMap((r) => r.proposals);
  t.deepEqual(answers.map((a) => a.accepted), [true, true, true, true, true, false, false, false]);
  t.deepEqual(answers[5], { id: 'p5', accepted: false, reason: { kind: 'dropped', detail: 'more than 5 entries await commit' } });
  t.is(viewOf(c.leaderActor.getSnapshot()).lastIndex, 6);
});

test('a malformed proposeMany appends nothing and refuses every command it can name', (t) => {
  const c = cluster(['solo']);
  const before = viewOf(c.leaderActor.getSnapshot()).lastIndex;
  c.leaderActor.send({ type: 'proposeMany', proposals: [{ id: 'good', data: Uint8Array.of(1) }, { id: 'bad', data: 'text' as unknown as Uint8Array }, 7 as unknown as never] });
  c.leaderActor.send({ type: 'proposeMany', proposals: commands(MAX_PROPOSALS_PER_EVENT + 1) });
  c.leaderActor.send({ type: 'proposeMany', proposals: [] });
  c.leaderActor.send({ type: 'proposeMany', proposals: 'nope' as unknown as never });
  t.is(viewOf(c.leaderActor.getSnapshot()).lastIndex, before);
  const answers = c.readies.get('solo')!.flatMap((r) => r.proposals);
  t.deepEqual(answers.slice(0, 2), [
    { id: 'good', accepted: false, reason: { kind: 'dropped', detail: 'malformed proposeMany' } },
    { id: 'bad', accepted: false, reason: { kind: 'dropped', detail: 'malformed proposeMany' } },
  ]);
  t.is(answers.length, 2 + MAX_PROPOSALS_PER_EVENT + 1);
  t.is(c.leaderActor.getSnapshot().status, 'active');
});

test('the batcher gives the core one event for the requests handled side by side, in the order proposed', async (t) => {
  const events: RaftEvent[] = [];
  const batcher = createProposalBatcher((event) => events.push(event));
  // As NATS hands over the requests of one read: each handler awaits its prepare, then proposes.
  const handle = async (id: string, byte: number): Promise<void> => {
    await null;
    batcher.propose(id, Uint8Array.of(byte));
  };
  await Promise.all([handle('a', 1), handle('b', 2), handle('c', 3)]);
  t.deepEqual(events, [{ type: 'proposeMany', proposals: [{ id: 'a', data: Uint8Array.of(1) }, { id: 'b', data: Uint8Array.of(2) }, { id: 'c', data: Uint8Array.of(3) }] }]);
  // Alone, a command goes as a plain propose.
  await handle('d', 4);
  t.deepEqual(events[1], { type: 'propose', id: 'd', data: Uint8Array.of(4) });
  t.is(events.length, 2);
  // What the status reply reports as `proposals`.
  t.deepEqual(batcher.stats, { events: 2, proposals: 4, batched: 1, largest: 3 });
});

test('the batcher never puts more than MAX_PROPOSALS_PER_EVENT in one event', async (t) => {
  const events: RaftEvent[] = [];
  const batcher = createProposalBatcher((event) => events.push(event));
  for (const { id, data } of commands(MAX_PROPOSALS_PER_EVENT * 2 + 3)) batcher.propose(id, data);
  await null;
  const sizes = events.map((e) => (e.type === 'proposeMany' ? e.proposals.length : 1));
  t.deepEqual(sizes, [MAX_PROPOSALS_PER_EVENT, MAX_PROPOSALS_PER_EVENT, 3]);
  const ids = events.flatMap((e) => (e.type === 'proposeMany' ? e.proposals.map((p) => p.id) : e.type === 'propose' ? [e.id] : []));
  t.deepEqual(ids, commands(MAX_PROPOSALS_PER_EVENT * 2 + 3).map((p) => p.id));
});
