// A small in-process cluster over a FIFO queue: elections, replication,
// commit, proposals and reads end to end through createRaftActor.
import test from 'ava';
import { createRaftActor, viewOf, DEFAULT_LIMITS, DEFAULT_TIMING, InvalidRaftInputError, newReplicaInput } from '../../actors/raft/index.ts';
import type { RaftActor, Ready } from '../../actors/raft/index.ts';
import { memCluster } from '../scenarios/mem-cluster.ts';
import { countMessages } from '../scenarios/message-counts.ts';

function cluster(ids: string[]) {
  const readies = new Map<string, Ready[]>(ids.map((id) => [id, []]));
  const c = memCluster(ids, (id, ready) => readies.get(id)!.push(ready));
  return { actors: c.actors, readies, run: c.run, pump: c.pump, views: c.views };
}

test('three replicas elect exactly one leader, commit its no-op, and commit a proposal everywhere', (t) => {
  const c = cluster(['r1', 'r2', 'r3']);
  c.run(2000);
  const leaders = c.views().filter((v) => v.role === 'leader');
  t.is(leaders.length, 1);
  const leaderId = leaders[0]!.id;
  const leader = c.actors.get(leaderId)!;
  t.is(leader.getSnapshot().value, 'leader');
  leader.send({ type: 'propose', id: 'p1', data: new Uint8Array([7]) });
  c.pump();
  c.run(200);
  for (const v of c.views()) {
    t.is(v.commitIndex, 2, `${v.id} commit`);
    t.deepEqual(
      v.entries.map((e) => e.kind),
      ['noop', 'command'],
    );
  }
  const proposals = c.readies.get(leaderId)!.flatMap((r) => r.proposals);
  t.deepEqual(proposals, [{ id: 'p1', accepted: true, index: 2, term: leaders[0]!.term }]);
  const follower = c.views().find((v) => v.role === 'follower')!;
  c.actors.get(follower.id)!.send({ type: 'propose', id: 'p2', data: new Uint8Array([1]) });
  const refused = c.readies.get(follower.id)!.flatMap((r) => r.proposals);
  t.deepEqual(refused, [{ id: 'p2', accepted: false, reason: { kind: 'not_leader', leader: leaderId } }]);
});

test('every Ready is non-empty and seq strictly increases, each entry committed exactly once in order', (t) => {
  const c = cluster(['a', 'b', 'c', 'd', 'e']);
  c.run(1500);
  const leader = c.views().find((v) => v.role === 'leader')!;
  for (let i = 0; i < 50; i += 1) c.actors.get(leader.id)!.send({ type: 'propose', id: `p${i}`, data: new Uint8Array([i]) });
  c.pump();
  c.run(500);
  for (const [id, readies] of c.readies) {
    let seq = 0;
    let applied = 0;
    for (const r of readies) {
      t.true(r.seq > seq, `${id} seq`);
      seq = r.seq;
      const empty = !r.hardState && r.entries.length + r.messages.length + r.committed.length + r.proposals.length + r.reads.length + r.snapshotsToSend.length === 0 && r.truncateFrom === undefined;
      t.false(empty, `${id} empty ready`);
      for (const e of r.committed) {
        t.is(e.index, applied + 1);
        applied = e.index;
      }
    }
    t.is(applied, 51, `${id} applied`);
  }
});

test('a committed proposal costs one append and one answer per follower: the commit index rides on the next append or heartbeat', (t) => {
  const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
  const counts = countMessages();
  const c = memCluster(ids, (_, ready) => counts.add(ready.messages));
  const leader = c.electLeader();
  const leaderId = viewOf(leader.getSnapshot()).id;
  const followers = () => c.views().filter((v) => v.id !== leaderId);
  counts.reset();
  const sends = 10;
  for (let i = 0; i < sends; i += 1) {
    leader.send({ type: 'propose', id: `p${i}`, data: new Uint8Array([i]) });
    c.pump();
    // Each new append carries the commit index of the one before it.
    for (const f of followers()) t.is(f.commitIndex, viewOf(leader.getSnapshot()).commitIndex - 1, `${f.id} after p${i}`);
  }
  t.is(viewOf(leader.getSnapshot()).commitIndex, 1 + sends);
  t.is(counts.total, sends * 2 * (ids.length - 1));
  t.is(counts.commitOnly, 0);
  // The next round skips the followers: each took and accepted an append since the last round.
  c.run(DEFAULT_TIMING.heartbeatMs);
  t.is(counts.heartbeats, 0);
  for (const f of followers()) t.is(f.commitIndex, sends, `${f.id} still one behind`);
  // With nothing more sent, the round after tells them.
  c.run(DEFAULT_TIMING.heartbeatMs);
  for (const f of followers()) t.is(f.commitIndex, 1 + sends, f.id);
  t.is(counts.heartbeats, ids.length - 1);
});

test('a heartbeat round goes to every follower while a read waits, even one that just took an append', (t) => {
  const ids = ['r1', 'r2', 'r3'];
  const counts = countMessages();
  const c = memCluster(ids, (_, ready) => counts.add(ready.messages));
  const leader = c.electLeader();
  leader.send({ type: 'propose', id: 'p', data: new Uint8Array([1]) });
  c.pump();
  // A read that arrives while a round is in flight waits for the next periodic round, which must not skip anyone.
  leader.send({ type: 'readIndex', id: 'q1' });
  leader.send({ type: 'readIndex', id: 'q2' });
  counts.reset();
  leader.send({ type: 'propose', id: 'p2', data: new Uint8Array([2]) });
  c.run(DEFAULT_TIMING.heartbeatMs);
  t.true(counts.heartbeats >= ids.length - 1, `${counts.heartbeats} heartbeats`);
});

test('a read index is answered with the commit index once a quorum confirms leadership', (t) => {
  const c = cluster(['r1', 'r2', 'r3']);
  c.run(2000);
  const leader = c.views().find((v) => v.role === 'leader')!;
  c.actors.get(leader.id)!.send({ type: 'readIndex', id: 'q1' });
  t.deepEqual(c.readies.get(leader.id)!.flatMap((r) => r.reads), [], 'not before the heartbeat round is acknowledged');
  c.pump();
  t.deepEqual(c.readies.get(leader.id)!.flatMap((r) => r.reads), [{ id: 'q1', ok: true, index: 1 }]);
});

test('createRaftActor refuses input no replica could have, with a typed error', (t) => {
  const good = {
    id: 'r1',
    hardState: { term: 2, votedFor: null },
    snapshot: { index: 3, term: 1, config: { voters: ['r1', 'r2', 'r3'], learners: [] } },
    entries: [{ index: 4, term: 2, kind: 'noop' as const }],
    commitIndex: 4,
    timing: DEFAULT_TIMING,
    limits: DEFAULT_LIMITS,
    seed: 1,
  };
  t.notThrows(() => createRaftActor(good));
  const gap = t.throws(() => createRaftActor({ ...good, entries: [{ index: 5, term: 2, kind: 'noop' }] }), { instanceOf: InvalidRaftInputError });
  t.regex(gap.message, /expected index 4, got 5/);
  t.throws(() => createRaftActor({ ...good, commitIndex: 9 }), { instanceOf: InvalidRaftInputError, message: /past the log's end/ });
  t.throws(() => createRaftActor({ ...good, hardState: { term: 1, votedFor: null } }), { instanceOf: InvalidRaftInputError, message: /beyond the persisted term/ });
  t.throws(() => createRaftActor({ ...good, timing: { heartbeatMs: 500, electionMinMs: 300, electionMaxMs: 600 } }), { instanceOf: InvalidRaftInputError, message: /must exceed heartbeatMs/ });
});

test('a malformed proposal is refused, not appended; other malformed local events are ignored', (t) => {
  const c = cluster(['solo']);
  c.run(1000);
  const actor = c.actors.get('solo')!;
  t.is(viewOf(actor.getSnapshot()).role, 'leader');
  const before = viewOf(actor.getSnapshot()).lastIndex;
  actor.send({ type: 'propose', id: 'bad', data: 'not bytes' as unknown as Uint8Array });
  actor.send({ type: 'readIndex', id: 42 as unknown as string });
  actor.send({ type: 'compacted', meta: null as unknown as never });
  t.is(viewOf(actor.getSnapshot()).lastIndex, before);
  t.deepEqual(c.readies.get('solo')!.flatMap((r) => r.proposals), [{ id: 'bad', accepted: false, reason: { kind: 'dropped', detail: 'malformed propose' } }]);
  t.is(actor.getSnapshot().status, 'active');
});

test('with real timers (no clock given) a cluster still elects a leader', async (t) => {
  const ids = ['r1', 'r2', 'r3'];
  const actors = new Map<string, RaftActor>();
  for (const [i, id] of ids.entries()) {
    const actor = createRaftActor(newReplicaInput(id, { voters: ids, learners: [] }, i + 1));
    // Deliver asynchronously, as a transport would.
    actor.on('ready', (e) => {
      for (const m of e.ready.messages) setImmediate(() => actors.get(m.to)?.send({ type: 'message', message: m }));
    });
    actors.set(id, actor);
  }
  t.teardown(() => {
    for (const a of actors.values()) a.stop();
  });
  for (const a of actors.values()) a.start();
  const leader = await new Promise<string | null>((resolve) => {
    const poll = setInterval(() => {
      const found = [...actors.values()].map((a) => viewOf(a.getSnapshot())).find((v) => v.role === 'leader' && v.commitIndex >= 1);
      if (found) {
        clearInterval(poll);
        resolve(found.id);
      }
    }, 20);
    // Generous: this checks that real timers drive elections, not how fast.
    setTimeout(() => {
      clearInterval(poll);
      resolve(null);
    }, 20_000);
  });
  t.not(leader, null);
});
