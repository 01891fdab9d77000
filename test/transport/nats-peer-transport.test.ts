import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import type { Message, SnapshotMeta } from '../../actors/raft/types.ts';
import { NatsLink, NatsPeerTransport, SnapshotStreamError, type LinkStatus, type ReceivedSnapshot } from '../../actors/transport/index.ts';
import { encodeFrame, SnapshotReplySchema } from '../../actors/transport/snapshot-frames.ts';
import { decode } from '@msgpack/msgpack';
import { eventually, TestNatsServer } from './nats-server.ts';

const PREFIX = 'qt';

interface Pair {
  server: TestNatsServer;
  links: NatsLink[];
  r1: NatsPeerTransport;
  r2: NatsPeerTransport;
  dir2: string;
  inbox2: Message[];
  snapshots2: ReceivedSnapshot[];
}

async function pair(t: ExecutionContext, options: { maxMessageBytes?: number; snapshotChunkBytes?: number } = {}): Promise<Pair> {
  const server = await TestNatsServer.start();
  t.teardown(() => server.stop());
  const dirs = [1, 2].map(() => mkdtempSync(join(tmpdir(), 'qc-transport-')));
  t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const links = await Promise.all([1, 2].map((i) => NatsLink.connect({ servers: server.url, name: `test-r${i}` })));
  t.teardown(async () => {
    for (const l of links) await l.close();
  });
  const [l1, l2] = links as [NatsLink, NatsLink];
  const r1 = await NatsPeerTransport.start({ link: l1, id: 'r1', prefix: PREFIX, snapshotDir: dirs[0] ?? '', ...options });
  const r2 = await NatsPeerTransport.start({ link: l2, id: 'r2', prefix: PREFIX, snapshotDir: dirs[1] ?? '', ...options });
  t.teardown(() => r1.close());
  t.teardown(() => r2.close());
  const inbox2: Message[] = [];
  const snapshots2: ReceivedSnapshot[] = [];
  r2.onMessage((m) => inbox2.push(m));
  r2.onSnapshot((s) => snapshots2.push(s));
  return { server, links, r1, r2, dir2: dirs[1] ?? '', inbox2, snapshots2 };
}

const config = { voters: ['r1', 'r2', 'r3'], learners: ['r4'] };
const everyType: Message[] = [
  { type: 'RequestVote', from: 'r1', to: 'r2', term: 3, lastLogIndex: 10, lastLogTerm: 2, preVote: true, transfer: false },
  { type: 'RequestVoteResponse', from: 'r1', to: 'r2', term: 3, preVote: false, granted: true },
  {
    type: 'AppendEntries', from: 'r1', to: 'r2', term: 5, prevLogIndex: 7, prevLogTerm: 4, leaderCommit: 6, round: 12,
    entries: [
      { index: 8, term: 4, kind: 'noop' },
      { index: 9, term: 5, kind: 'command', data: new Uint8Array([0, 1, 2, 255, 128]) },
      { index: 10, term: 5, kind: 'config', config },
      { index: 11, term: 5, kind: 'command', data: new Uint8Array(0) },
    ],
  },
  { type: 'AppendEntries', from: 'r1', to: 'r2', term: 5, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, entries: [] },
  { type: 'AppendEntriesResponse', from: 'r1', to: 'r2', term: 5, success: false, matchIndex: 0, conflictTerm: 3, conflictIndex: 4, round: 12 },
  { type: 'InstallSnapshot', from: 'r1', to: 'r2', term: 6, snapshot: { index: 100, term: 5, config } },
  { type: 'InstallSnapshotResponse', from: 'r1', to: 'r2', term: 6, matchIndex: 100, success: true },
  { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 7 },
];

test('every Raft message type round-trips through NATS unchanged', async (t) => {
  const p = await pair(t);
  for (const m of everyType) p.r1.send(m);
  t.true(await eventually(() => p.inbox2.length === everyType.length), `got ${p.inbox2.length}`);
  t.deepEqual(p.inbox2, everyType, 'NATS keeps one publisher\'s order to one subscriber');
  t.is(p.r1.stats().sent, everyType.length);
  t.is(p.r2.stats().received, everyType.length);
});

test('malformed, oversized and misaddressed peer input is dropped and counted, never thrown', async (t) => {
  const p = await pair(t, { maxMessageBytes: 64 * 1024, snapshotChunkBytes: 16 * 1024 });
  const nc = p.links[0]!.nc;
  const valid: Message = { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 1 };
  const at = (kind: string) => `${PREFIX}.raft.r2.${kind}`;
  nc.publish(at('TimeoutNow'), new Uint8Array([0xc1])); // never-used msgpack byte
  nc.publish(at('TimeoutNow'), new Uint8Array(0));
  nc.publish(at('TimeoutNow'), new Uint8Array(200).fill(1)); // one value, then trailing bytes
  nc.publish(at('AppendEntries'), new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])); // array32 header claiming 4 billion items
  nc.publish(at('TimeoutNow'), new Uint8Array(70 * 1024)); // over the size limit
  nc.publish(at('TimeoutNow'), encode({ ...valid, term: -1 }));
  nc.publish(at('TimeoutNow'), encode({ ...valid, term: 2 ** 60 }));
  nc.publish(at('TimeoutNow'), encode({ ...valid, from: 'r1.*' }));
  nc.publish(at('TimeoutNow'), encode({ type: 'Gossip', from: 'r1', to: 'r2', term: 1 }));
  nc.publish(at('TimeoutNow'), encode('just a string'));
  nc.publish(at('AppendEntries'), encode({ type: 'AppendEntries', from: 'r1', to: 'r2', term: 2, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 0, round: 0, entries: [{ index: 5, term: 2, kind: 'noop' }] }));
  nc.publish(at('AppendEntries'), encode({ type: 'AppendEntries', from: 'r1', to: 'r2', term: 2, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 0, round: 0, entries: [{ index: 4, term: 3, kind: 'noop' }] }));
  nc.publish(at('AppendEntries'), encode({ type: 'AppendEntries', from: 'r1', to: 'r2', term: 2, prevLogIndex: 3, prevLogTerm: 1, leaderCommit: 0, round: 0, entries: [{ index: 4, term: 2, kind: 'command', data: 'not bytes' }] }));
  nc.publish(at('RequestVote'), encode(valid)); // type does not match the subject
  nc.publish(at('TimeoutNow'), encode({ ...valid, to: 'r3' })); // published to r2's inbox but addressed to r3
  nc.publish(`${PREFIX}.raft.r2.snapshot`, encode({ op: 'chunk', stream: 'x' })); // not a snapshot frame: invalid
  let threw = 0;
  p.r2.onMessage(() => {
    threw++;
    throw new Error('a buggy handler');
  });
  nc.publish(at('TimeoutNow'), encode(valid));
  t.true(await eventually(() => p.inbox2.length === 1));
  t.deepEqual(p.inbox2, [valid]);
  t.is(threw, 1, 'a handler that throws does not stop the others');
  const s = p.r2.stats();
  t.deepEqual(s.dropped, { oversized: 1, undecodable: 4, invalid: 9, wrong_recipient: 1, wrong_subject: 1, handler_threw: 1 });
  t.is(s.received, 1);
});

test('send never throws: bad addresses and a closed connection are counted', async (t) => {
  const p = await pair(t);
  t.notThrows(() => p.r1.send({ type: 'TimeoutNow', from: 'r1', to: 'bad subject', term: 1 }));
  await p.links[0]!.close();
  t.notThrows(() => p.r1.send({ type: 'TimeoutNow', from: 'r1', to: 'r2', term: 1 }));
  t.is(p.r1.stats().sendFailures, 2);
});

function meta(index: number): SnapshotMeta {
  return { index, term: 3, config };
}

/** A source that yields uneven chunks, some larger than the transport's chunk size. */
async function* unevenChunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  const sizes = [1, 70_000, 300_000, 5, 1_000_000];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

test('a few MB of snapshot stream through, verified, to a file in the given directory', async (t) => {
  const p = await pair(t);
  const bytes = randomBytes(3 * 1024 * 1024 + 12_345);
  await p.r1.streamSnapshot('r2', meta(500), unevenChunks(bytes), 9);
  t.true(await eventually(() => p.snapshots2.length === 1));
  const got = p.snapshots2[0]!;
  t.like(got, { from: 'r1', term: 9, meta: meta(500), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  t.true(readFileSync(got.filePath).equals(bytes));
  t.deepEqual(readdirSync(p.dir2), [got.filePath.slice(p.dir2.length + 1)], 'no temp files are left');
  t.is(p.r1.stats().snapshotsSent, 1);
  t.is(p.r2.stats().snapshotsReceived, 1);
});

async function ask(p: Pair, frame: Parameters<typeof encodeFrame>[0]) {
  const reply = await p.links[0]!.nc.request(`${PREFIX}.raft.r2.snapshot`, encodeFrame(frame), { timeout: 5_000 });
  return SnapshotReplySchema.parse(decode(reply.data));
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

test('a corrupted chunk aborts the stream: refused, temp file deleted, nothing handed on', async (t) => {
  const p = await pair(t);
  const stream = randomBytes(16).toString('hex');
  const good = randomBytes(1000);
  t.deepEqual(await ask(p, { op: 'begin', stream, from: 'r1', to: 'r2', term: 2, meta: meta(10) }), { ok: true });
  t.deepEqual(await ask(p, { op: 'chunk', stream, seq: 0, data: good, sha256: sha(good) }), { ok: true });
  t.deepEqual(await ask(p, { op: 'chunk', stream, seq: 0, data: good, sha256: sha(good) }), { ok: true }, 'a retried chunk is acknowledged again');
  const corrupted = Uint8Array.from(good);
  corrupted[17] = (corrupted[17] ?? 0) ^ 0xff;
  t.deepEqual(await ask(p, { op: 'chunk', stream, seq: 1, data: corrupted, sha256: sha(good) }), { ok: false, error: 'chunk 1 failed its sha256 check', fatal: true });
  t.like(await ask(p, { op: 'end', stream, chunks: 2, bytes: 2000, sha256: sha(good) }), { ok: false, fatal: true });
  t.deepEqual(readdirSync(p.dir2), []);
  t.deepEqual(p.snapshots2, []);
  t.is(p.r2.stats().snapshotsFailed, 1);
});

test('a whole-file checksum mismatch or missing chunk aborts at end', async (t) => {
  const p = await pair(t);
  const data = randomBytes(500);
  const s1 = randomBytes(16).toString('hex');
  await ask(p, { op: 'begin', stream: s1, from: 'r1', to: 'r2', term: 2, meta: meta(10) });
  await ask(p, { op: 'chunk', stream: s1, seq: 0, data, sha256: sha(data) });
  t.deepEqual(await ask(p, { op: 'end', stream: s1, chunks: 1, bytes: 500, sha256: sha(randomBytes(1)) }), { ok: false, error: 'the whole file failed its sha256 check', fatal: true });
  const s2 = randomBytes(16).toString('hex');
  await ask(p, { op: 'begin', stream: s2, from: 'r1', to: 'r2', term: 2, meta: meta(10) });
  t.deepEqual(await ask(p, { op: 'chunk', stream: s2, seq: 1, data, sha256: sha(data) }), { ok: true }, 'within the window, held until chunk 0 arrives');
  t.deepEqual(await ask(p, { op: 'end', stream: s2, chunks: 2, bytes: 1000, sha256: sha(data) }), { ok: false, error: 'chunks are missing', fatal: true });
  t.deepEqual(await ask(p, { op: 'begin', stream: randomBytes(16).toString('hex'), from: 'r1', to: 'r9', term: 2, meta: meta(10) }), { ok: false, error: 'this is r2, not r9', fatal: true });
  t.deepEqual(readdirSync(p.dir2), []);
  t.deepEqual(p.snapshots2, []);
});

test('streaming to a peer nobody serves fails with SnapshotStreamError after its retries', async (t) => {
  const p = await pair(t);
  const err = await t.throwsAsync(p.r1.streamSnapshot('r7', meta(5), unevenChunks(randomBytes(10)), 1), { instanceOf: SnapshotStreamError });
  t.regex(err.message, /^snapshot stream to r7 failed: begin: no acknowledgement after 5 attempts/);
  t.is(p.r1.stats().snapshotsFailed, 1);
});

test('a source that fails mid-stream aborts cleanly on both sides', async (t) => {
  const p = await pair(t);
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield randomBytes(1000);
    throw new Error('disk read failed');
  }
  const err = await t.throwsAsync(p.r1.streamSnapshot('r2', meta(5), broken(), 1), { instanceOf: SnapshotStreamError });
  t.regex(err.message, /disk read failed/);
  t.true(await eventually(() => readdirSync(p.dir2).length === 0), 'the abort frame makes the receiver delete its temp file');
  t.deepEqual(p.snapshots2, []);
});

test('across a nats-server restart: status follows, send never throws, traffic resumes', async (t) => {
  const p = await pair(t);
  const statuses: LinkStatus[] = [];
  p.links[0]!.onStatus((s) => statuses.push(s));
  const ping: Message = { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 1 };
  p.r1.send(ping);
  t.true(await eventually(() => p.inbox2.length === 1));
  await p.server.stop();
  t.true(await eventually(() => p.links[0]!.status !== 'connected'));
  t.notThrows(() => p.r1.send({ ...ping, term: 2 }));
  await p.server.restart();
  t.true(await eventually(() => p.links.every((l) => l.status === 'connected')));
  t.true(statuses.includes('connected') && statuses[0] !== 'connected', `statuses: ${statuses.join(',')}`);
  // Subscriptions are restored on reconnect; keep sending until one arrives (at most once per send).
  t.true(await eventually(() => {
    p.r1.send({ ...ping, term: 3 });
    return p.inbox2.some((m) => m.term === 3);
  }));
  const bytes = randomBytes(600_000);
  await p.r1.streamSnapshot('r2', meta(77), unevenChunks(bytes), 4);
  t.true(await eventually(() => p.snapshots2.length === 1));
  t.true(readFileSync(p.snapshots2[0]!.filePath).equals(bytes));
});

test('start clears what a crash left in the snapshot directory, and only that', async (t) => {
  const server = await TestNatsServer.start();
  t.teardown(() => server.stop());
  const dir = mkdtempSync(join(tmpdir(), 'qc-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['incoming-r1-abc.part', 'snapshot-r1-5-2-abc.snap', 'notes.txt']) writeFileSync(join(dir, name), 'x');
  const link = await NatsLink.connect({ servers: server.url });
  t.teardown(() => link.close());
  const transport = await NatsPeerTransport.start({ link, id: 'r2', prefix: PREFIX, snapshotDir: dir });
  t.teardown(() => transport.close());
  t.deepEqual(readdirSync(dir), ['notes.txt']);
});

test('a few-MB stream corrupted in transit: the sender fails with the reason, the receiver keeps nothing', async (t) => {
  const p = await pair(t);
  const nc = p.links[0]!.nc;
  // A man in the middle posing as replica "rx": forwards every frame to r2, flipping one byte of chunk 5.
  const proxy = nc.subscribe(`${PREFIX}.raft.rx.snapshot`, {
    callback: (_err, msg) => {
      const frame = decode(msg.data) as Record<string, unknown>;
      if (frame.op === 'begin') frame.to = 'r2';
      if (frame.op === 'chunk' && frame.seq === 5) {
        const data = Uint8Array.from(frame.data as Uint8Array);
        data[1234] = (data[1234] ?? 0) ^ 0x01;
        frame.data = data;
      }
      void nc.request(`${PREFIX}.raft.r2.snapshot`, encode(frame), { timeout: 5_000 }).then(
        (reply) => msg.respond(reply.data),
        () => undefined,
      );
    },
  });
  t.teardown(() => proxy.unsubscribe());
  const bytes = randomBytes(4 * 1024 * 1024);
  const err = await t.throwsAsync(p.r1.streamSnapshot('rx', meta(900), unevenChunks(bytes), 9), { instanceOf: SnapshotStreamError });
  t.regex(err.message, /chunk 5 refused: chunk 5 failed its sha256 check/);
  t.true(await eventually(() => readdirSync(p.dir2).length === 0), 'the temp file is gone');
  await new Promise((r) => setTimeout(r, 200)); // chunks still in flight after the abort are refused, not written
  t.deepEqual(readdirSync(p.dir2), []);
  t.deepEqual(p.snapshots2, []);
  t.is(p.r2.stats().snapshotsFailed, 1);
  t.is(p.r1.stats().snapshotsFailed, 1);
});
