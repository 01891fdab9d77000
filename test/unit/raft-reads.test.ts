// Batched read index (thesis §6.4): reads that arrive while a confirmation
// round is in flight start no round; the next round answers them all, each
// at the commit index it found on arrival.
import test from 'ava';
import { viewOf } from '../../actors/raft/index.ts';
import type { Message, ReadOutcome } from '../../actors/raft/index.ts';
import { memCluster } from '../scenarios/mem-cluster.ts';

function cluster(size: number) {
  const reads: ReadOutcome[] = [];
  const c = memCluster(
    Array.from({ length: size }, (_, i) => `r${i + 1}`),
    (_, ready) => reads.push(...ready.reads),
  );
  const leader = c.electLeader();
  return { leader, queue: c.queue, reads, pump: c.pump };
}

const roundsIn = (messages: readonly Message[]) => new Set(messages.flatMap((m) => (m.type === 'AppendEntries' && m.round > 0 ? [m.round] : [])));

test('reads arriving while a round is in flight share the next round; one acknowledged round answers them all', (t) => {
  const { leader, queue, reads, pump } = cluster(5);
  leader.send({ type: 'readIndex', id: 'first' });
  t.is(roundsIn(queue).size, 1, 'the first read starts a round');
  const before = queue.length;
  for (let i = 0; i < 100; i++) leader.send({ type: 'readIndex', id: `q${i}` });
  t.is(queue.length, before, 'reads behind an in-flight round send nothing');
  const commit = viewOf(leader.getSnapshot()).commitIndex;
  const sent: Message[] = [];
  while (queue.length > 0) {
    const m = queue.shift()!;
    sent.push(m);
    pump();
  }
  t.is(reads.length, 101);
  t.true(reads.every((r) => r.ok && r.index === commit));
  t.is(roundsIn(sent).size, 1, 'the queued hundred went out in one more round');
});

test('each queued read keeps the commit index it found on arrival', (t) => {
  const { leader, queue, reads, pump } = cluster(3);
  leader.send({ type: 'readIndex', id: 'a' });
  leader.send({ type: 'readIndex', id: 'b' });
  const atB = viewOf(leader.getSnapshot()).commitIndex;
  leader.send({ type: 'propose', id: 'x', data: new Uint8Array([1]) });
  // Hold back a's round so it stays in flight while x commits.
  const held = queue.filter((m) => m.type === 'AppendEntries' && m.round > 0);
  queue.splice(0, queue.length, ...queue.filter((m) => !held.includes(m)));
  pump();
  leader.send({ type: 'readIndex', id: 'c' });
  const atC = viewOf(leader.getSnapshot()).commitIndex;
  t.is(reads.length, 0, 'no read is answered before its round is acknowledged');
  queue.push(...held);
  pump();
  t.true(atC > atB, 'x committed between b and c');
  const byId = Object.fromEntries(reads.map((r) => [r.id, r]));
  t.like(byId.a, { ok: true, index: atB });
  t.like(byId.b, { ok: true, index: atB });
  t.like(byId.c, { ok: true, index: atC });
});
