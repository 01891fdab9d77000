/**
 * The segment log under the store: rolling, truncation, compaction and its
 * interruption, an interrupted snapshot install, the move from the
 * SQLite-only format, and the two writers that no longer wait for each other.
 */
import test from 'ava';
import knexFactory from 'knex';
import { copyFile, cp, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { Entry } from '../../actors/raft/types.ts';
import { CorruptStoreError } from '../../storage/errors.ts';
import { openReplicaStore, type ReplicaStore } from '../../storage/replica-store.ts';
import { applyTestEntry, independentDigest, makeEntries, recordingLogger, segmentFiles, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

/** Small segments, so a few dozen entries span several. */
const SMALL_SEGMENT_BYTES = 512;

async function openStore(t: ExecutionContext, dataDir: string, extra: { walSegmentBytes?: number; logger?: ReturnType<typeof recordingLogger> } = {}): Promise<ReplicaStore> {
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG, ...extra });
  t.teardown(() => store.close());
  return store;
}

function plain(entries: readonly Entry[]): unknown[] {
  return entries.map((e) => (e.kind === 'command' ? { ...e, data: Array.from(e.data) } : e));
}

async function persistInSteps(store: ReplicaStore, entries: readonly Entry[], step: number): Promise<void> {
  for (let i = 0; i < entries.length; i += step) await store.persist({ entries: entries.slice(i, i + step) });
}

test('the log rolls over to new segments, truncates across them, and reads back the same after a reopen', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir, { walSegmentBytes: SMALL_SEGMENT_BYTES });
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  await persistInSteps(store, makeEntries(1, 60, 1), 4);
  t.true((await segmentFiles(dataDir)).length >= 3, 'several segments');
  // A new leader's entries replace an uncommitted suffix that spans segments; then the log goes on.
  await store.persist({ hardState: { term: 2, votedFor: 'r2' }, truncateFrom: 21, entries: makeEntries(21, 25, 2) });
  await store.persist({ entries: makeEntries(26, 30, 2) });
  const expected = [...makeEntries(1, 20, 1), ...makeEntries(21, 30, 2)];
  t.deepEqual(plain((await store.load()).entries), plain(expected));
  await store.close();
  const again = await openStore(t, dataDir, { walSegmentBytes: SMALL_SEGMENT_BYTES });
  const loaded = await again.load();
  t.deepEqual(plain(loaded.entries), plain(expected));
  t.deepEqual(loaded.hardState, { term: 2, votedFor: 'r2' });
  t.deepEqual(plain(await again.readEntries(18, 23)), plain(expected.slice(17, 23)));
  t.like(again.status(), { lastIndex: 30, lastTerm: 2 });
});

test('the log moves into a preallocated segment, and appends then overwrite zeros instead of growing the file', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir, { walSegmentBytes: 64 * 1024 });
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: makeEntries(1, 5, 1) });
  // The spare is filled in the background; the first append after it is ready moves the log into it.
  for (let index = 6; (await segmentFiles(dataDir)).length < 2 && index < 200; index++) {
    await store.persist({ entries: makeEntries(index, index, 1) });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const newest = (await segmentFiles(dataDir)).at(-1)!;
  const size = (await stat(newest)).size;
  t.is(size, 64 * 1024, 'preallocated to the segment size');
  const last = store.status().lastIndex;
  await store.persist({ entries: makeEntries(last + 1, last + 20, 1) });
  t.is((await stat(newest)).size, size, 'the file did not grow');
  await store.close();
  const again = await openStore(t, dataDir, { walSegmentBytes: 64 * 1024 });
  t.deepEqual((await again.load()).entries.map((e) => e.index), Array.from({ length: last + 20 }, (_, i) => i + 1));
});

test('truncating the whole unapplied tail and appending again survives a reopen', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: makeEntries(1, 10, 1) });
  await store.apply(makeEntries(1, 4, 1), applyTestEntry);
  await store.persist({ hardState: { term: 3, votedFor: null }, truncateFrom: 5, entries: [] });
  t.like(store.status(), { lastIndex: 4, lastTerm: 1 });
  await store.persist({ entries: makeEntries(5, 6, 3) });
  await store.close();
  const again = await openStore(t, dataDir);
  const loaded = await again.load();
  t.deepEqual(loaded.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 1], [4, 1], [5, 3], [6, 3]]);
  t.like(loaded.applied, { index: 4 });
});

test('compaction starts a fresh segment and deletes the older ones; the log after it survives a restart', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir, { walSegmentBytes: SMALL_SEGMENT_BYTES });
  const entries = makeEntries(1, 60, 1);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  await persistInSteps(store, entries, 5);
  await store.apply(entries.slice(0, 50), applyTestEntry);
  const before = await segmentFiles(dataDir);
  const snapshot = await store.createSnapshot();
  await store.compact(snapshot.meta.index);
  const after = await segmentFiles(dataDir);
  t.is(after.length, 1, 'one segment left');
  t.false(before.includes(after[0]!), 'and it is a new one');
  await store.persist({ entries: makeEntries(61, 62, 1) });
  await store.close();
  const again = await openStore(t, dataDir, { walSegmentBytes: SMALL_SEGMENT_BYTES });
  const loaded = await again.load();
  t.is(loaded.snapshot?.meta.index, 50);
  t.deepEqual(plain(loaded.entries), plain(makeEntries(51, 62, 1)));
  t.like(loaded.applied, { index: 50, digest: independentDigest(entries.slice(0, 50)) });
  await again.apply(makeEntries(51, 62, 1), applyTestEntry);
  t.is(again.status().digest, independentDigest(makeEntries(1, 62, 1)));
});

test('a compaction interrupted before it deleted the older segments is finished on open', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir, { walSegmentBytes: SMALL_SEGMENT_BYTES });
  const entries = makeEntries(1, 40, 1);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  await persistInSteps(store, entries, 5);
  await store.apply(entries.slice(0, 30), applyTestEntry);
  const saved = join(await tempDir(t), 'wal');
  await cp(join(dataDir, 'wal'), saved, { recursive: true });
  const snapshot = await store.createSnapshot();
  await store.compact(snapshot.meta.index);
  await store.close();
  // Put the older segments back, as if the crash came between writing the new segment and deleting them.
  const old = await segmentFiles(join(saved, '..'));
  for (const file of old) await copyFile(file, join(dataDir, 'wal', file.split('/').at(-1)!));
  t.true((await segmentFiles(dataDir)).length > 1);
  const logger = recordingLogger();
  const again = await openStore(t, dataDir, { logger });
  t.is((await segmentFiles(dataDir)).length, 1);
  t.true(logger.lines.some((l) => /superseded by a checkpoint/.test(l.msg)));
  t.deepEqual(plain((await again.load()).entries), plain(entries.slice(30)));
});

test('compaction makes the applied state durable in the database file before the log forgets anything', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  const entries = makeEntries(1, 30, 1);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
  await store.apply(entries.slice(0, 10), applyTestEntry);
  const snapshot = await store.createSnapshot();
  await store.apply(entries.slice(10, 20), applyTestEntry);
  await store.compact(snapshot.meta.index);
  // Power loss under synchronous=NORMAL can take SQLite's WAL: the database file alone must hold applied ≥ the compaction point.
  const alone = join(await tempDir(t), 'replica.sqlite');
  await copyFile(join(dataDir, 'replica.sqlite'), alone);
  const db = knexFactory({ client: 'sqlite3', connection: { filename: alone }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const [row] = (await db('raft_applied').select('applied_index')) as { applied_index: number }[];
  t.true(row!.applied_index >= snapshot.meta.index, `applied ${row!.applied_index} ≥ compaction point ${snapshot.meta.index}`);
});

test('applies the database lost in a crash are applied again from the log, to the same digest', async (t) => {
  const dataDir = await tempDir(t);
  const entries = makeEntries(1, 30, 1);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
  await store.apply(entries.slice(0, 10), applyTestEntry);
  await store.close();
  // The database as a crash would leave it if the later applies never reached the disk (synchronous=NORMAL).
  const saved = join(await tempDir(t), 'replica.sqlite');
  await copyFile(join(dataDir, 'replica.sqlite'), saved);
  const second = await openStore(t, dataDir);
  await second.apply(entries.slice(10, 20), applyTestEntry);
  await second.close();
  for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `replica.sqlite${suffix}`), { force: true });
  await copyFile(saved, join(dataDir, 'replica.sqlite'));
  const third = await openStore(t, dataDir);
  const loaded = await third.load();
  t.like(loaded.applied, { index: 10 });
  t.is(loaded.entries.length, 30, 'the log still holds everything above the durable appliedIndex');
  await third.apply(loaded.entries.slice(10, 30), applyTestEntry);
  t.is(third.status().digest, independentDigest(entries));
  const rows = (await third.reader('test_rows').count({ n: '*' })) as { n: number }[];
  t.is(rows[0]?.n, entries.filter((e) => e.kind === 'command').length, 'each row once');
});

test('a snapshot install interrupted before the log was restarted is finished on open', async (t) => {
  const leaderDir = await tempDir(t);
  const leader = await openStore(t, leaderDir);
  const entries = makeEntries(1, 20, 2);
  await leader.persist({ hardState: { term: 2, votedFor: null }, entries });
  await leader.apply(entries, applyTestEntry);
  const snapshot = await leader.createSnapshot();

  const followerDir = await tempDir(t);
  const follower = await openStore(t, followerDir);
  await follower.persist({ hardState: { term: 2, votedFor: null }, entries: makeEntries(1, 25, 1) });
  const saved = join(await tempDir(t), 'wal');
  await cp(join(followerDir, 'wal'), saved, { recursive: true });
  await follower.installSnapshot(snapshot.meta, snapshot.file);
  await follower.close();
  // The crash came after the database committed the install but before the log's checkpoint: the old log is back.
  await rm(join(followerDir, 'wal'), { recursive: true });
  await cp(saved, join(followerDir, 'wal'), { recursive: true });
  const logger = recordingLogger();
  const again = await openStore(t, followerDir, { logger });
  t.true(logger.lines.some((l) => /interrupted snapshot install/.test(l.msg)));
  const loaded = await again.load();
  t.deepEqual(loaded.entries, [], 'the conflicting log is gone (Raft §7)');
  t.like(again.status(), { lastIndex: 20, lastTerm: 2, appliedIndex: 20 });
});

test('a data directory of the SQLite-only format has its log moved into the segment log, and the tables emptied', async (t) => {
  const dataDir = await oldFormatDirectory(t);
  const logger = recordingLogger();
  const store = await openStore(t, dataDir, { logger });
  t.true(logger.lines.some((l) => /moved the Raft log from SQLite/.test(l.msg)));
  const loaded = await store.load();
  t.deepEqual(loaded.hardState, { term: 3, votedFor: 'r2' });
  t.deepEqual(plain(loaded.entries), plain(makeEntries(1, 12, 3)));
  t.like(loaded.applied, { index: 5 });
  await store.apply(makeEntries(6, 12, 3), applyTestEntry);
  t.is(store.status().digest, independentDigest(makeEntries(1, 12, 3)));
  await store.persist({ entries: makeEntries(13, 13, 3) });
  const count = (await store.reader('raft_log').count({ n: '*' })) as { n: number }[];
  t.is(count[0]?.n, 0, 'raft_log is empty');
  await store.close();
  const again = await openStore(t, dataDir);
  t.is((await again.load()).entries.length, 13);
});

test('a damaged row of the SQLite-only format is refused when it is moved', async (t) => {
  const dataDir = await oldFormatDirectory(t, async (db) => {
    await db('raft_log').where({ idx: 7 }).update({ crc: 12345 });
  });
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError, message: /log index 7.*checksum mismatch/s });
  t.deepEqual(await segmentFiles(dataDir), [], 'no log was started from a damaged one');
});

test('a persist does not wait for an apply that is running', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: makeEntries(1, 5, 1) });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const applying = store.apply(makeEntries(1, 2, 1), async (trx, entry) => {
    await held;
    return applyTestEntry(trx, entry);
  });
  await store.persist({ entries: makeEntries(6, 8, 1) });
  t.is(store.status().lastIndex, 8, 'the persist finished while the apply was held');
  t.is(store.status().appliedIndex, 0);
  // Nor may it truncate what the running apply is applying.
  await t.throwsAsync(store.persist({ truncateFrom: 2, entries: [] }), { message: /never removed/ });
  release();
  await applying;
  t.is(store.status().appliedIndex, 2);
});

/**
 * A data directory as the SQLite-only format left it: a store is opened and
 * closed (schema, identity, applied state), its segment log removed, and the
 * log and hard state written into raft_log / raft_hard_state as that format did.
 */
async function oldFormatDirectory(t: ExecutionContext, damage?: (db: ReturnType<typeof knexFactory>) => Promise<void>): Promise<string> {
  const dataDir = await tempDir(t);
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
  const entries = makeEntries(1, 12, 3);
  await store.persist({ hardState: { term: 3, votedFor: 'r2' }, entries });
  await store.apply(entries.slice(0, 5), applyTestEntry);
  await store.close();
  await rm(join(dataDir, 'wal'), { recursive: true });
  await mkdir(join(dataDir, 'wal'));
  const { encodeEntry, checksumOf } = await import('../../storage/entry-codec.ts');
  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dataDir, 'replica.sqlite') }, useNullAsDefault: true });
  try {
    await db('raft_hard_state').where({ id: 1 }).update({ term: 3, voted_for: 'r2' });
    await db('raft_log').insert(entries.map((e) => {
      const bytes = Buffer.from(encodeEntry(e));
      return { idx: e.index, term: e.term, kind: e.kind, entry: bytes, crc: checksumOf(bytes) };
    }));
    await damage?.(db);
  } finally {
    await db.destroy();
  }
  t.true((await stat(join(dataDir, 'replica.sqlite'))).size > 0);
  return dataDir;
}
