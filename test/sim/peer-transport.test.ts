import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message, SnapshotMeta } from '../../actors/raft/types.ts';
import { SnapshotStreamError } from '../../actors/transport/errors.ts';
import { SimulatedPeerTransport, type PeerWire } from '../../actors/transport/sim-peer-transport.ts';
import { REAL_TIME, SeededRandom, SimulatedNetwork } from '../../actors/transport/simulated.ts';
import type { ReceivedSnapshot } from '../../actors/transport/types.ts';

const meta: SnapshotMeta = { index: 7, term: 2, config: { voters: ['r1', 'r2'], learners: [] } };
const heartbeat = (from: string, to: string): Message => ({
  type: 'AppendEntries',
  from,
  to,
  term: 2,
  prevLogIndex: 0,
  prevLogTerm: 0,
  entries: [],
  leaderCommit: 0,
  round: 1,
});

async function pair(t: { teardown: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'qc-sim-transport-'));
  const network = new SimulatedNetwork<PeerWire>(REAL_TIME, new SeededRandom(1));
  const r1 = new SimulatedPeerTransport({ network, id: 'r1', snapshotDir: join(dir, 'r1') });
  const r2 = new SimulatedPeerTransport({ network, id: 'r2', snapshotDir: join(dir, 'r2') });
  t.teardown(async () => {
    await r1.close();
    await r2.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { network, r1, r2 };
}

async function* chunksOf(...parts: string[]) {
  for (const part of parts) yield new TextEncoder().encode(part);
}

test('messages cross the simulated network; a partition stops them', async (t) => {
  const { network, r1, r2 } = await pair(t);
  const got: Message[] = [];
  r2.onMessage((message) => got.push(message));
  r1.send(heartbeat('r1', 'r2'));
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(got.length, 1);
  network.partition([['r1'], ['r2']]);
  r1.send(heartbeat('r1', 'r2'));
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(got.length, 1);
  t.is(r1.stats().sent, 2);
  t.is(r2.stats().received, 1);
  r1.send(heartbeat('r3', 'r2')); // not from this replica: refused at the sender
  t.is(r1.stats().sendFailures, 1);
});

test('a snapshot stream arrives as a verified file before the sender resolves', async (t) => {
  const { r1, r2 } = await pair(t);
  let received: ReceivedSnapshot | null = null;
  r2.onSnapshot((snapshot) => (received = snapshot));
  await r1.streamSnapshot('r2', meta, chunksOf('state ', 'machine'), 2);
  t.truthy(received);
  const snapshot = received as unknown as ReceivedSnapshot;
  t.deepEqual(snapshot.meta, meta);
  t.is(snapshot.from, 'r1');
  t.is(snapshot.bytes, 13);
  t.is(await readFile(snapshot.filePath, 'utf8'), 'state machine');
  t.is(r1.stats().snapshotsSent, 1);
  t.is(r2.stats().snapshotsReceived, 1);
});

test('a snapshot stream to an unreachable or closed peer rejects with SnapshotStreamError', async (t) => {
  const { network, r1, r2 } = await pair(t);
  network.cutLink('r1', 'r2');
  await t.throwsAsync(r1.streamSnapshot('r2', meta, chunksOf('x'), 2), { instanceOf: SnapshotStreamError, message: /r2.*lost/ });
  network.heal();
  await r2.close();
  await t.throwsAsync(r1.streamSnapshot('r2', meta, chunksOf('x'), 2), { instanceOf: SnapshotStreamError });
  t.is(r1.stats().snapshotsFailed, 2);
  await r1.close();
  await t.throwsAsync(r1.streamSnapshot('r2', meta, chunksOf('x'), 2), { instanceOf: SnapshotStreamError, message: /closed/ });
});
