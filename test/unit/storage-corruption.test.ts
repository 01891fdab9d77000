/**
 * Corruption: damaged entries, a damaged database file and a damaged
 * snapshot file are detected with typed errors, and nothing garbage is
 * applied or served.
 */
import test from 'ava';
import knexFactory from 'knex';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { CorruptStoreError, SnapshotError } from '../../storage/errors.ts';
import { openReplicaStore, type ReplicaStore } from '../../storage/replica-store.ts';
import { applyTestEntry, makeEntries, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

const ENTRIES = makeEntries(1, 40, 1);

async function openStore(t: ExecutionContext, dataDir: string): Promise<ReplicaStore> {
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
  t.teardown(() => store.close());
  return store;
}

/** A closed store with ENTRIES persisted and the first 10 applied (the WAL is checkpointed into the file on close). */
async function populated(t: ExecutionContext): Promise<string> {
  const dataDir = await tempDir(t);
  const store = await openStore(t, dataDir);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: ENTRIES });
  await store.apply(ENTRIES.slice(0, 10), applyTestEntry);
  await store.close();
  return dataDir;
}

async function rawSql(dataDir: string, run: (db: ReturnType<typeof knexFactory>) => Promise<unknown>): Promise<void> {
  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dataDir, 'replica.sqlite') }, useNullAsDefault: true });
  try {
    await run(db);
  } finally {
    await db.destroy();
  }
}

test('a flipped byte in an entry is caught on load, and the store then refuses to serve', async (t) => {
  const dataDir = await populated(t);
  await rawSql(dataDir, async (db) => {
    const [row] = (await db('raft_log').select('entry').where({ idx: 25 })) as { entry: Buffer }[];
    const damaged = Buffer.from(row!.entry);
    damaged[damaged.length - 1]! ^= 0x01;
    await db('raft_log').where({ idx: 25 }).update({ entry: damaged });
  });
  const store = await openStore(t, dataDir);
  const err = await t.throwsAsync(store.load(), { instanceOf: CorruptStoreError });
  t.is(err?.index, 25);
  t.true(err?.message.includes(join(dataDir, 'replica.sqlite')));
  t.regex(err?.message ?? '', /log index 25.*checksum mismatch.*move its data directory aside/s);
  // From now on every operation refuses with the same error.
  t.is(await t.throwsAsync(store.persist({ entries: makeEntries(41, 41, 1) })), err);
  t.is(await t.throwsAsync(store.apply(ENTRIES.slice(10, 11), applyTestEntry)), err);
});

test('a corrupt entry is never applied', async (t) => {
  const dataDir = await populated(t);
  await rawSql(dataDir, (db) => db('raft_log').where({ idx: 12 }).update({ crc: 12345 }));
  const store = await openStore(t, dataDir);
  await t.throwsAsync(store.apply(ENTRIES.slice(10, 15), applyTestEntry), { instanceOf: CorruptStoreError, message: /log index 12/ });
  t.is(store.status().appliedIndex, 10);
  const rows = (await store.reader('test_rows').max({ m: 'idx' })) as { m: number }[];
  t.true(rows[0]!.m <= 10, 'no row of the failed batch was committed');
});

test('a row whose bytes name another index is caught', async (t) => {
  const dataDir = await populated(t);
  await rawSql(dataDir, async (db) => {
    const [row] = (await db('raft_log').select('entry', 'crc').where({ idx: 30 })) as { entry: Buffer; crc: number }[];
    await db('raft_log').where({ idx: 31 }).update({ entry: row!.entry, crc: row!.crc });
  });
  const store = await openStore(t, dataDir);
  await t.throwsAsync(store.load(), { instanceOf: CorruptStoreError, message: /log index 31.*bytes say index 30/s });
});

test('a byte flipped inside an entry in the database file is caught', async (t) => {
  const dataDir = await populated(t);
  const file = join(dataDir, 'replica.sqlite');
  const bytes = await readFile(file);
  const marker = Buffer.from('cmd 34@1');
  const at = bytes.indexOf(marker);
  t.true(at > 0, 'the entry payload is in the file');
  bytes[at + 4]! ^= 0x02; // '3' -> '1': still a valid record, wrong content
  await writeFile(file, bytes);
  const store = await openStore(t, dataDir); // quick_check does not look inside records
  await t.throwsAsync(store.load(), { instanceOf: CorruptStoreError, message: /log index 34/ });
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
    rootPage = ((await db.raw("SELECT rootpage FROM sqlite_master WHERE name = 'raft_log'")) as { rootpage: number }[])[0]!.rootpage;
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
