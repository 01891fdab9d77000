/**
 * Child process of the crash-consistency test (test/unit/storage-crash.test.ts).
 *
 * Usage: node --import tsx test/storage/crash-child.ts <dataDir> <seed>
 *
 * Waits for `GO` on stdin, opens the store, then loops forever doing what a replica does: persist
 * steps (sometimes several queued at once, so they group-commit; new terms,
 * votes, truncations of unapplied entries), applies of the next committed
 * entries, and now and then a snapshot with compaction. Before each step it
 * prints `INTENT <json>`, after it is durable `ACK <n>`, so the parent knows
 * exactly what may and what must have reached the disk when it SIGKILLs us.
 */
import { createInterface } from 'node:readline';
import type { Entry, HardState } from '../../actors/raft/types.ts';
import { openReplicaStore, type PersistRequest } from '../../storage/replica-store.ts';
import { applyTestEntry, makeEntries, TEST_CONFIG, testMigrations } from './helpers.ts';

/** Entries per persist step at most: small steps give many crash points. */
const MAX_ENTRIES_PER_STEP = 5;
/** Entries per apply at most. */
const MAX_ENTRIES_PER_APPLY = 10;
/** Log segments this small roll every few group commits, so kills also land on a segment being started. */
const SEGMENT_BYTES = 4096;

const [dataDir, seedText] = process.argv.slice(2);
if (dataDir === undefined || seedText === undefined) throw new Error('usage: crash-child.ts <dataDir> <seed>');
const random = mulberry32(Number(seedText));
const pick = (n: number): number => Math.floor(random() * n);

// Wait for the parent's go-ahead: it starts the next child early, so that loading modules overlaps the current child's run.
for await (const line of createInterface({ input: process.stdin })) if (line === 'GO') break;

const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG, walSegmentBytes: SEGMENT_BYTES });
const loaded = await store.load();
let hardState: HardState = loaded.hardState;
const terms = new Map<number, number>(loaded.entries.map((e) => [e.index, e.term]));
let lastIndex = store.status().lastIndex;
let applied = loaded.applied.index;
let snapshotIndex = loaded.snapshot?.meta.index ?? 0;
print('READY');

for (;;) {
  const roll = random();
  if (roll < 0.55 || lastIndex === applied) {
    const count = 1 + pick(3);
    const requests: PersistRequest[] = [];
    for (let i = 0; i < count; i++) requests.push(nextPersist());
    for (const request of requests) print(`INTENT ${JSON.stringify({ kind: 'persist', ...describe(request) })}`);
    // Queued together: the store writes them with one write and one fdatasync.
    const pending = requests.map((request) => store.persist(request));
    for (const promise of pending) {
      await promise;
      print('ACK');
    }
  } else if (roll < 0.96) {
    const to = applied + 1 + pick(Math.min(MAX_ENTRIES_PER_APPLY, lastIndex - applied));
    const entries: Entry[] = [];
    for (let index = applied + 1; index <= to; index++) entries.push(entryAt(index));
    print(`INTENT ${JSON.stringify({ kind: 'apply', to })}`);
    await store.apply(entries, applyTestEntry);
    applied = to;
    print('ACK');
  } else if (applied > snapshotIndex) {
    print(`INTENT ${JSON.stringify({ kind: 'snapshot' })}`);
    const snapshot = await store.createSnapshot();
    await store.compact(snapshot.meta.index);
    snapshotIndex = snapshot.meta.index;
    print('ACK');
  }
}

function nextPersist(): PersistRequest {
  let next: HardState | undefined;
  if (hardState.term === 0 || random() < 0.15) {
    const candidates = ['r1', 'r2', 'r3', null];
    next = { term: hardState.term + 1, votedFor: candidates[pick(candidates.length)] ?? null };
    hardState = next;
  }
  let truncateFrom: number | undefined;
  if (lastIndex > applied && random() < 0.15) {
    truncateFrom = applied + 1 + pick(lastIndex - applied);
    lastIndex = truncateFrom - 1;
  }
  const count = pick(MAX_ENTRIES_PER_STEP + 1);
  const entries = count === 0 ? [] : makeEntries(lastIndex + 1, lastIndex + count, hardState.term);
  for (const entry of entries) terms.set(entry.index, entry.term);
  lastIndex += count;
  return { ...(next ? { hardState: next } : {}), ...(truncateFrom !== undefined ? { truncateFrom } : {}), entries };
}

function entryAt(index: number): Entry {
  const term = terms.get(index);
  if (term === undefined) throw new Error(`child lost track of entry ${index}`);
  return makeEntries(index, index, term)[0]!;
}

function describe(request: PersistRequest): object {
  return { hardState: request.hardState, truncateFrom: request.truncateFrom, entries: request.entries.map((e) => [e.index, e.term]) };
}

function print(line: string): void {
  // stdout on a pipe is synchronous on Linux: the line is out before the next step starts.
  process.stdout.write(`${line}\n`);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
