/**
 * Corruption: damage in the log's segment files, in the database file and in
 * a snapshot file is detected with typed errors, and nothing garbage is
 * applied or served; a torn write at the very end of the log (a crash in the
 * middle of a group commit) is cut off instead, with a log line.
 */
import test from 'ava';
import knexFactory from 'knex';
import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { CorruptStoreError, SnapshotError } from '../../storage/errors.ts';
import { WRITER_CACHE_KIB } from '../../storage/limits.ts';
import { openReplicaStore, type ReplicaStore, type StoreLogger } from '../../storage/replica-store.ts';
import { encodeRecord, RecordDamage, RecordType, scanSegment } from '../../storage/wal/record.ts';
import { applyTestEntry, makeEntries, recordingLogger, segmentFiles, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

const ENTRIES = makeEntries(1, 40, 1);

async function openStore(t: ExecutionContext, dataDir: string, logger?: StoreLogger): Promise<ReplicaStore> {
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG, ...(logger ? { logger } : {}) });
  t.teardown(() => store.close());
  return store;
}

/** A closed store with ENTRIES persisted in four group commits of ten (four entries records) and the first 10 applied. */
async function populated(t: ExecutionContext): Promise<string> {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  for (let i = 0; i < ENTRIES.length; i += 10) await store.persist({ entries: ENTRIES.slice(i, i + 10) });
  await store.apply(ENTRIES.slice(0, 10), applyTestEntry);
  await store.close();
  return dataDir;
}

/** The only segment of a populated store, and the offset of `marker` in it. */
async function segmentWith(t: ExecutionContext, dataDir: string, marker: string): Promise<{ file: string; bytes: Buffer; at: number }> {
  const [file] = await segmentFiles(dataDir);
  if (file === undefined) throw new Error('no segment');
  const bytes = await readFile(file);
  const at = bytes.indexOf(Buffer.from(marker));
  t.true(at > 0, `${marker} is in the segment`);
  return { file, bytes, at };
}

test('a flipped byte in an entry in the middle of the log is refused on open, naming the segment', async (t) => {
  const dataDir = await populated(t);
  const { file, bytes, at } = await segmentWith(t, dataDir, 'cmd 15@1');
  bytes[at + 4]! ^= 0x02; // still a valid entry, wrong content: only the checksum can tell
  await writeFile(file, bytes);
  const err = await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError });
  t.is(err?.file, file);
  t.regex(err?.message ?? '', /payload checksum mismatch.*move its data directory aside/s);
});

test('a flipped byte in the last record is damage, not a torn write: an acknowledged record is never cut silently', async (t) => {
  const dataDir = await populated(t);
  const { file, bytes, at } = await segmentWith(t, dataDir, 'cmd 38@1');
  bytes[at + 4]! ^= 0x01;
  await writeFile(file, bytes);
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError, message: /payload checksum mismatch/ });
  t.is((await stat(file)).size, bytes.length, 'nothing was cut');
});

test('a damaged record header in the middle of the log is refused', async (t) => {
  const dataDir = await populated(t);
  const [file] = await segmentFiles(dataDir);
  const bytes = await readFile(file!);
  // The second entries record (11..20): damage its length field.
  const header = scanSegment(bytes, false).records.filter((r) => r.type === RecordType.entries)[1]!.offset;
  bytes[header]! ^= 0x40;
  await writeFile(file!, bytes);
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError, message: /header checksum mismatch/ });
});

test('a torn write at the end of the log is cut off with a log line, and the log goes on from there', async (t) => {
  const dataDir = await populated(t);
  const [file] = await segmentFiles(dataDir);
  const full = (await stat(file!)).size;
  // The last group commit (entries 31..40) stopped half-way through its record.
  const { at } = await segmentWith(t, dataDir, 'cmd 34@1');
  await truncate(file!, at);
  const logger = recordingLogger();
  const store = await openStore(t, dataDir, logger);
  t.true(logger.lines.some((l) => l.level === 'warn' && /torn write/.test(l.msg)), 'the cut is logged');
  const size = (await stat(file!)).size;
  t.true(size < at && size < full, 'the partial record is cut off the file');
  const loaded = await store.load();
  t.deepEqual(loaded.entries.map((e) => e.index), ENTRIES.slice(0, 30).map((e) => e.index));
  t.like(loaded.applied, { index: 10 });
  await store.persist({ entries: makeEntries(31, 33, 1) });
  await store.close();
  const again = await openStore(t, dataDir);
  t.is((await again.load()).entries.length, 33);
});

test('a zero-filled tail (preallocated space, or the file grew and the data never landed) is where the log goes on', async (t) => {
  const dataDir = await populated(t);
  const [file] = await segmentFiles(dataDir);
  const before = (await stat(file!)).size;
  const handle = await open(file!, 'a');
  await handle.write(Buffer.alloc(4096));
  await handle.close();
  const logger = recordingLogger();
  const store = await openStore(t, dataDir, logger);
  t.false(logger.lines.some((l) => /torn write/.test(l.msg)), 'zeros are not a torn write');
  t.is((await store.load()).entries.length, 40);
  await store.persist({ entries: makeEntries(41, 41, 1) });
  t.is((await stat(file!)).size, before + 4096, 'the next record overwrote zeros instead of growing the file');
  await store.close();
  t.is((await (await openStore(t, dataDir)).load()).entries.length, 41);
});

test('a zero tail is checked to its last byte: one stray byte deep in it is damage, however far in', (t) => {
  const records = Buffer.concat([encodeRecord(RecordType.hardState, Buffer.from('one')), encodeRecord(RecordType.hardState, Buffer.from('two'))]);
  // Longer than the chunk isZero compares at a time (64 KiB), so chunks after the first are checked too.
  const tail = Buffer.alloc(300 * 1024);
  const clean = scanSegment(Buffer.concat([records, tail]), true);
  t.is(clean.records.length, 2);
  t.is(clean.validBytes, records.length);
  t.is(clean.torn, null);
  for (const at of [0, 64 * 1024 - 1, 64 * 1024, 200 * 1024, tail.length - 1]) {
    const stray = Buffer.from(tail);
    stray[at] = 1;
    t.throws(() => scanSegment(Buffer.concat([records, stray]), true), { instanceOf: RecordDamage }, `a byte at ${at}`);
  }
});

test('a record torn inside preallocated space (a zero sector, only zeros after it) is cut off', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: ENTRIES.slice(0, 10) });
  const big = Array.from({ length: 10 }, (_, i) => ({ index: 11 + i, term: 1, kind: 'command' as const, data: new Uint8Array(300).fill(0x61) }));
  await store.persist({ entries: big });
  await store.close();
  const [file] = await segmentFiles(dataDir);
  const bytes = Buffer.concat([await readFile(file!), Buffer.alloc(2048)]);
  const last = scanSegment(bytes, true).records.at(-1)!;
  const sector = Math.ceil((last.offset + 600) / 512) * 512;
  bytes.fill(0, sector, sector + 512);
  await writeFile(file!, bytes);
  const again = await openStore(t, dataDir);
  t.deepEqual((await again.load()).entries.map((e) => e.index), ENTRIES.slice(0, 10).map((e) => e.index));
});

test('a last record with a zeroed sector (part of the write never landed) is cut off', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: ENTRIES.slice(0, 10) });
  // A large last group commit, spanning several sectors.
  const big = Array.from({ length: 10 }, (_, i) => ({ index: 11 + i, term: 1, kind: 'command' as const, data: new Uint8Array(300).fill(0x61) }));
  await store.persist({ entries: big });
  await store.close();
  const [file] = await segmentFiles(dataDir);
  const bytes = await readFile(file!);
  const sector = Math.floor((bytes.length - 600) / 512) * 512;
  bytes.fill(0, sector, sector + 512);
  await writeFile(file!, bytes);
  const again = await openStore(t, dataDir);
  t.deepEqual((await again.load()).entries.map((e) => e.index), ENTRIES.slice(0, 10).map((e) => e.index));
});

test('damage in a segment that is not the last one is refused, even at its end', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, walSegmentBytes: 512 });
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  for (let i = 0; i < ENTRIES.length; i += 5) await store.persist({ entries: ENTRIES.slice(i, i + 5) });
  await store.close();
  const files = await segmentFiles(dataDir);
  t.true(files.length >= 2, 'the log rolled over to another segment');
  await truncate(files[0]!, (await stat(files[0]!)).size - 3);
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError, message: /less than a record header|runs past the end/ });
});

test('an entry damaged on disk after open is caught when read back, and the store then refuses to serve', async (t) => {
  const dataDir = await populated(t);
  const store = await openStore(t, dataDir);
  const { file, bytes, at } = await segmentWith(t, dataDir, 'cmd 25@1');
  bytes[at + 4]! ^= 0x01;
  await writeFile(file, bytes);
  const err = await t.throwsAsync(store.load(), { instanceOf: CorruptStoreError });
  t.is(err?.index, 25);
  t.regex(err?.message ?? '', /log index 25.*checksum mismatch/s);
  t.is(await t.throwsAsync(store.persist({ entries: makeEntries(41, 41, 1) })), err);
  t.is(await t.throwsAsync(store.apply(ENTRIES.slice(10, 11), applyTestEntry)), err);
});

test('a log with its oldest segments missing is refused', async (t) => {
  const dataDir = await tempDir(t);
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, walSegmentBytes: 512 });
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  for (let i = 0; i < ENTRIES.length; i += 5) await store.persist({ entries: ENTRIES.slice(i, i + 5) });
  await store.close();
  const { unlink } = await import('node:fs/promises');
  await unlink((await segmentFiles(dataDir))[0]!);
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError, message: /no log segment starts with a checkpoint/ });
});

test('the integrity check on open leaves the writer its own page cache', async (t) => {
  const dataDir = await populated(t);
  const store = await openStore(t, dataDir);
  const sizes: number[] = [];
  // An apply's transaction runs on the writer's only connection, the one the check ran on.
  await store.apply(ENTRIES.slice(10, 11), async (trx, entry) => {
    sizes.push(((await trx.raw('PRAGMA cache_size')) as { cache_size: number }[])[0]!.cache_size);
    return await applyTestEntry(trx, entry);
  });
  t.deepEqual(sizes, [-WRITER_CACHE_KIB]);
});

test('a file that is not a database is refused on open', async (t) => {
  const dataDir = await populated(t);
  const handle = await open(join(dataDir, 'replica.sqlite'), 'r+');
  await handle.write(Buffer.from('this is not SQLite'), 0, 18, 0);
  await handle.close();
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), {
    instanceOf: CorruptStoreError,
    message: /replica\.sqlite.*(not a database|quick_check)/s,
  });
});

test('a damaged b-tree page is refused on open', async (t) => {
  const dataDir = await populated(t);
  let rootPage = 0;
  let pageSize = 0;
  await rawSql(dataDir, async (db) => {
    rootPage = ((await db.raw("SELECT rootpage FROM sqlite_master WHERE name = 'test_rows'")) as { rootpage: number }[])[0]!.rootpage;
    pageSize = ((await db.raw('PRAGMA page_size')) as { page_size: number }[])[0]!.page_size;
  });
  const handle = await open(join(dataDir, 'replica.sqlite'), 'r+');
  // Scribble over the page's b-tree header (page type, freeblock, cell count, content offset).
  await handle.write(Buffer.alloc(8, 0xff), 0, 8, (rootPage - 1) * pageSize);
  await handle.close();
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations }), { instanceOf: CorruptStoreError });
});

test('a damaged snapshot file is never streamed, and the store keeps serving', async (t) => {
  const dataDir = await populated(t);
  const store = await openStore(t, dataDir);
  const snapshot = await store.createSnapshot();
  const handle = await open(snapshot.file, 'r+');
  await handle.write(Buffer.from([0x42]), 0, 1, snapshot.bytes - 100);
  await handle.close();
  await t.throwsAsync(store.openSnapshot(), { instanceOf: CorruptStoreError, message: /snapshot file checksum mismatch/ });
  await t.notThrowsAsync(store.persist({ entries: makeEntries(41, 41, 1) }));
  await t.notThrowsAsync(store.apply(ENTRIES.slice(10, 12), applyTestEntry));
});

test('a received snapshot that is not a database is refused without harm', async (t) => {
  const dataDir = await populated(t);
  const store = await openStore(t, dataDir);
  const garbage = join(await tempDir(t), 'garbage.sqlite');
  await writeFile(garbage, Buffer.alloc(8192, 7));
  await t.throwsAsync(store.installSnapshot({ index: 20, term: 1, config: TEST_CONFIG }, garbage), { instanceOf: SnapshotError });
  t.is(store.status().appliedIndex, 10);
  t.deepEqual(await readdir(join(dataDir, 'snapshots')), [], 'the refused copy is removed');
  await t.notThrowsAsync(store.load());
});

async function rawSql(dataDir: string, run: (db: ReturnType<typeof knexFactory>) => Promise<unknown>): Promise<void> {
  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dataDir, 'replica.sqlite') }, useNullAsDefault: true });
  try {
    await run(db);
  } finally {
    await db.destroy();
  }
}
