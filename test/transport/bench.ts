/**
 * Transport benchmark on a private loopback nats-server; prints figures, asserts nothing.
 *   node --import tsx test/transport/bench.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, Message } from '../../actors/raft/types.ts';
import { encodeMessage, MessageDecoder } from '../../actors/transport/codec.ts';
import { NatsLink, NatsPeerTransport, type ReceivedSnapshot } from '../../actors/transport/index.ts';
import { eventually, TestNatsServer } from './nats-server.ts';

const ENTRIES_PER_APPEND = 16;
const ENTRY_BYTES = 200;
const CODEC_ROUNDS = 20_000;
const PUBLISHED = 50_000;
const SNAPSHOT_MB = 32;

function append(i: number): Message {
  const entries: Entry[] = Array.from({ length: ENTRIES_PER_APPEND }, (_, k) => ({ index: i * ENTRIES_PER_APPEND + k + 1, term: 2, kind: 'command', data: randomBytes(ENTRY_BYTES) }));
  return { type: 'AppendEntries', from: 'r1', to: 'r2', term: 2, prevLogIndex: i * ENTRIES_PER_APPEND, prevLogTerm: i === 0 ? 0 : 2, entries, leaderCommit: 0, round: 0 };
}

const sample = append(7);
const wire = encodeMessage(sample);
const decoder = new MessageDecoder(1024 * 1024);
let t0 = performance.now();
for (let i = 0; i < CODEC_ROUNDS; i++) encodeMessage(sample);
const encodeUs = ((performance.now() - t0) * 1000) / CODEC_ROUNDS;
t0 = performance.now();
for (let i = 0; i < CODEC_ROUNDS; i++) decoder.decode(wire);
const decodeUs = ((performance.now() - t0) * 1000) / CODEC_ROUNDS;
console.log(`codec: AppendEntries of ${ENTRIES_PER_APPEND} x ${ENTRY_BYTES} B = ${wire.length} B on the wire; encode ${encodeUs.toFixed(1)} µs, decode+validate ${decodeUs.toFixed(1)} µs`);

const server = await TestNatsServer.start();
const dirs = [mkdtempSync(join(tmpdir(), 'qc-bench-')), mkdtempSync(join(tmpdir(), 'qc-bench-'))];
const links = await Promise.all([1, 2].map(() => NatsLink.connect({ servers: server.url })));
try {
  const r1 = await NatsPeerTransport.start({ link: links[0]!, id: 'r1', prefix: 'bench', snapshotDir: dirs[0]! });
  const r2 = await NatsPeerTransport.start({ link: links[1]!, id: 'r2', prefix: 'bench', snapshotDir: dirs[1]! });
  let received = 0;
  r2.onMessage(() => received++);
  const messages = Array.from({ length: 1000 }, (_, i) => append(i));
  t0 = performance.now();
  for (let i = 0; i < PUBLISHED; i++) {
    r1.send(messages[i % messages.length]!);
    if (i % 1000 === 999) await links[0]!.nc.flush();
  }
  await eventually(() => received >= PUBLISHED * 0.999, 120_000, 5);
  const secs = (performance.now() - t0) / 1000;
  console.log(`one-way: ${PUBLISHED} AppendEntries (${(wire.length / 1024).toFixed(1)} KiB each) in ${secs.toFixed(2)} s = ${Math.round(PUBLISHED / secs)} msg/s, ${((PUBLISHED * wire.length) / secs / 1e6).toFixed(1)} MB/s; received ${received}, dropped ${JSON.stringify(r2.stats().dropped)}`);

  const snapshots: ReceivedSnapshot[] = [];
  r2.onSnapshot((s) => snapshots.push(s));
  const bytes = randomBytes(SNAPSHOT_MB * 1024 * 1024);
  async function* chunks() {
    for (let at = 0; at < bytes.length; at += 1024 * 1024) yield bytes.subarray(at, at + 1024 * 1024);
  }
  t0 = performance.now();
  await r1.streamSnapshot('r2', { index: 1, term: 1, config: { voters: ['r1', 'r2'], learners: [] } }, chunks(), 1);
  const snapSecs = (performance.now() - t0) / 1000;
  console.log(`snapshot: ${SNAPSHOT_MB} MiB in ${snapSecs.toFixed(2)} s = ${(SNAPSHOT_MB / snapSecs).toFixed(1)} MiB/s (256 KiB chunks, window 4, sha256 per chunk and whole, fsync at end)`);
  await r1.close();
  await r2.close();
} finally {
  for (const l of links) await l.close();
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
