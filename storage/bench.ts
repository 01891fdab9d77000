/**
 * Storage benchmark: `npm run bench:storage` (options: --messages N, --dir PATH, --keep).
 *
 * Prints, for this machine:
 *   - appends/s with one entry per transaction and with batched transactions;
 *   - applies/s likewise (applyOne inserts one row into the chat schema's messages table);
 *   - for a state machine of N (default 1,000,000) messages: the time to snapshot,
 *     event-loop delay and persist latency while the snapshot runs (against a
 *     baseline without it), the time to stream the file, and the time to install
 *     (restore) it on a fresh replica.
 * The chat tables come from storage/chat's migration; rows are written by a
 * bench-local applyOne of the same shape as chat's messages (storage may not
 * import actors/chat).
 */
import { createHistogram, monitorEventLoopDelay, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import type { Entry } from '../actors/raft/types.ts';
import { CHAT_MIGRATIONS } from './chat/schema.ts';
import { openReplicaStore, type ReplicaStore } from './replica-store.ts';

/** Entries in the single-entry runs: each is one fsync'd transaction. */
const SINGLE_ENTRIES = 1_000;
/** Entries in the batched runs, and entries per batch (a busy leader's group commit). */
const BATCHED_ENTRIES = 50_000;
const BATCH_SIZE = 100;
/** Entries in the batched apply run: each inserts an indexed row, so fewer than appends keep the run short. */
const BATCHED_APPLIES = 20_000;
/** Persists measured for the baseline latency before the snapshot. */
const BASELINE_PERSISTS = 200;
/** Messages in the snapshot/restore database unless --messages says otherwise. */
const DEFAULT_MESSAGES = 1_000_000;
/** Messages written per apply when building the large database. */
const MESSAGES_PER_BULK_APPLY = 100_000;
/** Resolution of the event-loop delay monitor, ms. */
const LOOP_MONITOR_RESOLUTION_MS = 10;

const CONFIG = { voters: ['r1', 'r2', 'r3', 'r4', 'r5'], learners: [] };
const USERS = 1_000;

const { values } = parseArgs({ options: { messages: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' } } });
const messages = Number(values.messages ?? DEFAULT_MESSAGES);
const root = values.dir ?? (await mkdtemp(join(tmpdir(), 'qc-bench-storage-')));

try {
  console.log(`storage bench: node ${process.version}, data under ${root}`);
  await throughput();
  await snapshotAndRestore();
} finally {
  if (!values.keep) await rm(root, { recursive: true, force: true });
}

async function throughput(): Promise<void> {
  const store = await open('throughput');
  try {
    await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
    let next = 1;
    const commands = (count: number): Entry[] => Array.from({ length: count }, () => messageEntry(next++));

    const single = commands(SINGLE_ENTRIES);
    await measured('append, 1 entry/transaction', SINGLE_ENTRIES, async () => {
      for (const entry of single) await store.persist({ entries: [entry] });
    });

    const batched = commands(BATCHED_ENTRIES);
    await measured(`append, ${BATCH_SIZE} entries/transaction`, BATCHED_ENTRIES, async () => {
      for (let i = 0; i < batched.length; i += BATCH_SIZE) await store.persist({ entries: batched.slice(i, i + BATCH_SIZE) });
    });

    const queued = commands(SINGLE_ENTRIES);
    const before = store.status().persistTransactions;
    await measured(
      () => `append, ${SINGLE_ENTRIES} 1-entry persists queued at once (group commit: ${store.status().persistTransactions - before} transactions)`,
      SINGLE_ENTRIES,
      () => Promise.all(queued.map((entry) => store.persist({ entries: [entry] }))),
    );

    await measured('apply, 1 entry/transaction', SINGLE_ENTRIES, async () => {
      for (const entry of single) await store.apply([entry], applyMessage);
    });

    // Storage's own cost per applied entry (log check, digest, appliedIndex), with an applyOne that writes nothing.
    const noop = batched.slice(0, BATCHED_APPLIES / 2);
    await measured(`apply, ${BATCH_SIZE} entries/transaction, applyOne writing nothing`, noop.length, async () => {
      for (let i = 0; i < noop.length; i += BATCH_SIZE) await store.apply(noop.slice(i, i + BATCH_SIZE), () => Promise.resolve());
    });

    const toApply = batched.slice(BATCHED_APPLIES / 2, BATCHED_APPLIES * 1.5);
    await measured(`apply, ${BATCH_SIZE} entries/transaction`, BATCHED_APPLIES, async () => {
      for (let i = 0; i < toApply.length; i += BATCH_SIZE) await store.apply(toApply.slice(i, i + BATCH_SIZE), applyMessage);
    });
  } finally {
    await store.close();
  }
}

async function snapshotAndRestore(): Promise<void> {
  const leader = await open('leader');
  const follower = await open('follower');
  try {
    // Build the state machine: a few bulk entries, each inserting many messages in its apply.
    let ms = await timed(async () => {
      await leader.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
      const bulk: Entry[] = [];
      for (let first = 1, index = 1; first <= messages; first += MESSAGES_PER_BULK_APPLY, index++) {
        const count = Math.min(MESSAGES_PER_BULK_APPLY, messages - first + 1);
        bulk.push({ index, term: 1, kind: 'command', data: new TextEncoder().encode(JSON.stringify({ first, count })) });
      }
      await leader.persist({ entries: bulk });
      await leader.apply(bulk, bulkInsertMessages);
    });
    const dbBytes = (await stat(leader.file)).size;
    console.log(`built ${messages.toLocaleString('en')} messages in ${(ms / 1000).toFixed(1)} s; database ${mb(dbBytes)}`);

    let index = leader.status().lastIndex;
    const baseline = createHistogram();
    const baselineLoop = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    baselineLoop.enable();
    for (let i = 0; i < BASELINE_PERSISTS; i++) await timedInto(baseline, () => leader.persist({ entries: [messageEntry(++index)] }));
    baselineLoop.disable();

    const loop = monitorEventLoopDelay({ resolution: LOOP_MONITOR_RESOLUTION_MS });
    const during = createHistogram();
    let snapshotDone = false;
    loop.enable();
    const started = performance.now();
    const snapshotting = leader.createSnapshot().finally(() => (snapshotDone = true));
    // The writer keeps persisting, one entry at a time, for as long as the snapshot runs.
    while (!snapshotDone) await timedInto(during, () => leader.persist({ entries: [messageEntry(++index)] }));
    const snapshot = await snapshotting;
    const snapshotMs = performance.now() - started;
    loop.disable();
    console.log(`snapshot of ${messages.toLocaleString('en')} messages: ${(snapshotMs / 1000).toFixed(2)} s, file ${mb(snapshot.bytes)}`);
    console.log(`  event-loop delay before it: ${loopDelay(baselineLoop)}`);
    console.log(`  event-loop delay during it: ${loopDelay(loop)}`);
    console.log(`  persist latency (1 entry) before: ${latency(baseline)}`);
    console.log(`  persist latency (1 entry) during: ${latency(during)}`);

    ms = await timed(() => leader.compact(snapshot.meta.index));
    console.log(`compact log up to ${snapshot.meta.index}: ${ms.toFixed(0)} ms`);

    let streamed = 0;
    ms = await timed(async () => {
      const stream = await leader.openSnapshot();
      if (stream === null) throw new Error('no snapshot');
      for await (const chunk of stream.chunks()) streamed += chunk.length;
    });
    console.log(`open (sha256 check) and stream the snapshot: ${(ms / 1000).toFixed(2)} s, ${mb(streamed)}`);

    ms = await timed(async () => {
      await follower.persist({ hardState: { term: 1, votedFor: null }, entries: [] });
      await follower.installSnapshot(snapshot.meta, snapshot.file);
    });
    const restored = (await follower.reader('messages').count({ n: '*' })) as { n: number }[];
    console.log(`install (restore) on a fresh replica: ${(ms / 1000).toFixed(2)} s, ${restored[0]?.n.toLocaleString('en')} messages, digest ${follower.status().digest === snapshot.digest ? 'matches' : 'DIFFERS'}`);
  } finally {
    await leader.close();
    await follower.close();
  }
  const ms = await timed(async () => (await open('leader')).close());
  console.log(`reopen the ${messages.toLocaleString('en')}-message replica (quick_check, migrations): ${(ms / 1000).toFixed(2)} s`);
}

// ---- helpers ----

function open(name: string): Promise<ReplicaStore> {
  return openReplicaStore({ dataDir: join(root, name), replicaId: name, migrations: CHAT_MIGRATIONS, initialConfig: CONFIG });
}

function messageEntry(index: number): Entry {
  return { index, term: 1, kind: 'command', data: new TextEncoder().encode(`message ${index}: the quick brown fox jumps over the lazy dog`) };
}

async function applyMessage(trx: Knex, entry: Entry): Promise<void> {
  if (entry.kind !== 'command') return;
  const from = `user${entry.index % USERS}`;
  const to = `user${(entry.index * 7 + 1) % USERS}`;
  const [lo, hi] = from < to ? [from, to] : [to, from];
  await trx('messages').insert({ id: entry.index, sender: from, recipient: to, pair_lo: lo, pair_hi: hi, text: new TextDecoder().decode(entry.data), ts: 1_700_000_000_000 + entry.index });
}

/** One entry standing for `count` messages: inserted by a single statement, so building 1,000,000 rows takes seconds. */
async function bulkInsertMessages(trx: Knex, entry: Entry): Promise<void> {
  if (entry.kind !== 'command') return;
  const { first, count } = JSON.parse(new TextDecoder().decode(entry.data)) as { first: number; count: number };
  await trx.raw(
    `WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO messages (id, sender, recipient, pair_lo, pair_hi, text, ts)
     SELECT i, 'user' || (i % ${USERS}), 'user' || ((i * 7 + 1) % ${USERS}),
            min('user' || (i % ${USERS}), 'user' || ((i * 7 + 1) % ${USERS})),
            max('user' || (i % ${USERS}), 'user' || ((i * 7 + 1) % ${USERS})),
            'message ' || i || ': the quick brown fox jumps over the lazy dog', 1700000000000 + i
     FROM n`,
    [first, first + count - 1],
  );
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function timedInto(histogram: RecordableHistogram, run: () => Promise<unknown>): Promise<void> {
  const started = process.hrtime.bigint();
  await run();
  histogram.record(process.hrtime.bigint() - started);
}

/**
 * Run `run`, then print its rate and the CPU it took per entry (user + system
 * of the whole process, so SQLite's work on libuv's threads counts too): on a
 * shared machine the rates follow the disk's fsync latency, the CPU does not.
 */
async function measured(label: string | (() => string), count: number, run: () => Promise<unknown>): Promise<void> {
  const cpu = process.cpuUsage();
  const ms = await timed(run);
  const { user, system } = process.cpuUsage(cpu);
  report(`${typeof label === 'string' ? label : label()}, CPU ${((user + system) / count).toFixed(0)} µs/entry`, count, ms);
}

function report(label: string, count: number, ms: number): void {
  console.log(`${label}: ${Math.round((count * 1000) / ms).toLocaleString('en')}/s (${count.toLocaleString('en')} in ${(ms / 1000).toFixed(2)} s)`);
}

function latency(h: RecordableHistogram): string {
  return `n=${h.count}, p50 ${nsToMs(h.percentile(50))} ms, p99 ${nsToMs(h.percentile(99))} ms, max ${nsToMs(h.max)} ms`;
}

function loopDelay(h: IntervalHistogram): string {
  return `p50 ${nsToMs(h.percentile(50))} ms, p99 ${nsToMs(h.percentile(99))} ms, max ${nsToMs(h.max)} ms (monitor resolution ${LOOP_MONITOR_RESOLUTION_MS} ms)`;
}

function nsToMs(ns: number): string {
  return (ns / 1e6).toFixed(1);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
