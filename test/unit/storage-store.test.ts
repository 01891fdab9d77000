import test from 'ava';
import knexFactory from 'knex';
import { join } from 'node:path';
import type { Entry } from '../../actors/raft/types.ts';
import { ApplyOrderError, InvalidPersistError, LogRangeError, SnapshotError, StoreClosedError, StoreConfigError } from '../../storage/errors.ts';
import { openReplicaStore, raftStartOf, type ReplicaStore } from '../../storage/replica-store.ts';
import { preparedRows } from '../../storage/prepared.ts';
import { applyTestEntry, independentDigest, makeEntries, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

async function openStore(t: Parameters<typeof tempDir>[0], dataDir?: string): Promise<{ store: ReplicaStore; dataDir: string }> {
  const dir = dataDir ?? (await tempDir(t));
  const store = await openReplicaStore({ dataDir: dir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
  t.teardown(() => store.close());
  return { store, dataDir: dir };
}

function plain(entries: readonly Entry[]): unknown[] {
  return entries.map((e) => (e.kind === 'command' ? { ...e, data: Array.from(e.data) } : e));
}

test('a fresh store loads empty', async (t) => {
  const { store } = await openStore(t);
  const loaded = await store.load();
  t.deepEqual(loaded.hardState, { term: 0, votedFor: null });
  t.is(loaded.snapshot, null);
  t.deepEqual(loaded.entries, []);
  t.deepEqual(loaded.applied, { index: 0, term: 0, digest: '0'.repeat(64), config: null });
  t.true(loaded.fresh);
  const start = raftStartOf(loaded, TEST_CONFIG);
  t.deepEqual(start.snapshot, { index: 0, term: 0, config: TEST_CONFIG });
  t.is(start.commitIndex, 0);
});

test('persist then reopen gives back hard state and entries', async (t) => {
  const { store, dataDir } = await openStore(t);
  const entries = makeEntries(1, 30, 2);
  await store.persist({ hardState: { term: 2, votedFor: 'r2' }, entries });
  await store.close();
  const { store: again } = await openStore(t, dataDir);
  const loaded = await again.load();
  t.false(loaded.fresh);
  t.deepEqual(loaded.hardState, { term: 2, votedFor: 'r2' });
  t.deepEqual(plain(loaded.entries), plain(entries));
  t.deepEqual(plain(await again.readEntries(5, 9)), plain(entries.slice(4, 9)));
  t.like(again.status(), { lastIndex: 30, lastTerm: 2, appliedIndex: 0 });
});

test('truncation replaces the conflicting suffix', async (t) => {
  const { store } = await openStore(t);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: makeEntries(1, 10, 1) });
  await store.persist({ hardState: { term: 3, votedFor: null }, truncateFrom: 6, entries: makeEntries(6, 8, 3) });
  const loaded = await store.load();
  t.deepEqual(plain(loaded.entries), plain([...makeEntries(1, 5, 1), ...makeEntries(6, 8, 3)]));
  t.like(store.status(), { lastIndex: 8, lastTerm: 3 });
  // Truncating only (no entries) shortens the log and the next append continues from there.
  await store.persist({ truncateFrom: 7, entries: [] });
  t.like(store.status(), { lastIndex: 6, lastTerm: 3 });
  await store.persist({ entries: makeEntries(7, 7, 3) });
  t.is((await store.load()).entries.length, 7);
});

test('persist refuses gaps, term regressions, vote changes and truncating applied entries', async (t) => {
  const { store } = await openStore(t);
  await store.persist({ hardState: { term: 2, votedFor: 'r1' }, entries: makeEntries(1, 5, 2) });
  await t.throwsAsync(store.persist({ entries: makeEntries(7, 7, 2) }), { instanceOf: InvalidPersistError, message: /does not follow/ });
  await t.throwsAsync(store.persist({ entries: makeEntries(6, 6, 1) }), { instanceOf: InvalidPersistError, message: /lower than/ });
  await t.throwsAsync(store.persist({ entries: makeEntries(6, 6, 3) }), { instanceOf: InvalidPersistError, message: /above currentTerm/ });
  await t.throwsAsync(store.persist({ hardState: { term: 1, votedFor: null }, entries: [] }), { instanceOf: InvalidPersistError, message: /go back/ });
  await t.throwsAsync(store.persist({ hardState: { term: 2, votedFor: 'r3' }, entries: [] }), { instanceOf: InvalidPersistError, message: /one vote per term/ });
  await store.apply(makeEntries(1, 3, 2), applyTestEntry);
  await t.throwsAsync(store.persist({ truncateFrom: 3, entries: [] }), { instanceOf: InvalidPersistError, message: /never removed/ });
  // Nothing of the refused requests reached the disk.
  const loaded = await store.load();
  t.deepEqual(loaded.hardState, { term: 2, votedFor: 'r1' });
  t.is(loaded.entries.length, 5);
});

test('persists queued together commit in one transaction; a bad one fails alone', async (t) => {
  const { store } = await openStore(t);
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  const before = store.status();
  const steps = Array.from({ length: 20 }, (_, i) => store.persist({ entries: makeEntries(i + 1, i + 1, 1) }));
  await Promise.all(steps);
  const after = store.status();
  t.is(after.persistRequests - before.persistRequests, 20);
  t.is(after.persistTransactions - before.persistTransactions, 1);

  // A truncation inside a group: the rows queued before it are written first, then cut.
  const mark = store.status().persistTransactions;
  const grouped = [
    store.persist({ entries: makeEntries(21, 25, 1) }),
    store.persist({ hardState: { term: 2, votedFor: 'r2' }, truncateFrom: 23, entries: makeEntries(23, 24, 2) }),
    store.persist({ entries: makeEntries(25, 25, 2) }),
  ];
  await Promise.all(grouped);
  t.is(store.status().persistTransactions - mark, 1);
  const afterGroup = await store.load();
  t.deepEqual(afterGroup.entries.slice(20).map((e) => [e.index, e.term]), [[21, 1], [22, 1], [23, 2], [24, 2], [25, 2]]);
  t.deepEqual(afterGroup.hardState, { term: 2, votedFor: 'r2' });
  await store.persist({ truncateFrom: 21, entries: [] });

  const good1 = store.persist({ entries: makeEntries(21, 21, 1) });
  const bad = store.persist({ entries: makeEntries(40, 40, 1) });
  const good2 = store.persist({ entries: makeEntries(22, 22, 1) });
  await t.notThrowsAsync(good1);
  await t.throwsAsync(bad, { instanceOf: InvalidPersistError });
  await t.notThrowsAsync(good2);
  t.is((await store.load()).entries.length, 22);
});

test('apply is contiguous, exactly once, and advances the digest with the rows', async (t) => {
  const { store, dataDir } = await openStore(t);
  const entries = makeEntries(1, 25, 4);
  await store.persist({ hardState: { term: 4, votedFor: null }, entries });
  t.deepEqual(await store.apply(entries.slice(0, 10), applyTestEntry), entries.slice(0, 10).map((e) => e.index));
  await t.throwsAsync(store.apply(entries.slice(9, 12), applyTestEntry), { instanceOf: ApplyOrderError, message: /already applied/ });
  await t.throwsAsync(store.apply(entries.slice(11, 12), applyTestEntry), { instanceOf: ApplyOrderError, message: /not applied yet/ });
  await t.throwsAsync(store.apply([entries[10]!, entries[12]!], applyTestEntry), { instanceOf: ApplyOrderError, message: /not contiguous/ });
  const forged: Entry = { index: 11, term: 4, kind: 'command', data: new Uint8Array([9]) };
  await t.throwsAsync(store.apply([forged], applyTestEntry), { instanceOf: ApplyOrderError, message: /differs from the logged entry/ });
  await t.throwsAsync(store.apply(makeEntries(11, 30, 4), applyTestEntry), { instanceOf: ApplyOrderError, message: /not in the log/ });
  // A failing applyOne rolls back the whole batch: neither rows nor appliedIndex move.
  await t.throwsAsync(
    store.apply(entries.slice(10, 13), async (trx, entry) => {
      await applyTestEntry(trx, entry);
      if (entry.index === 12) throw new Error('boom');
      return entry.index;
    }),
    { message: 'boom' },
  );
  t.is(store.status().appliedIndex, 10);
  await store.apply(entries.slice(10), applyTestEntry);
  const status = store.status();
  t.is(status.appliedIndex, 25);
  t.is(status.digest, independentDigest(entries));
  await store.close();

  const { store: again } = await openStore(t, dataDir);
  const loaded = await again.load();
  t.like(loaded.applied, { index: 25, term: 4, digest: independentDigest(entries) });
  t.deepEqual(loaded.applied.config, { voters: ['r1', 'r2', 'r3'], learners: ['l22'] });
  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dataDir, 'replica.sqlite') }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const rows = (await db('test_rows').select('idx').orderBy('idx')) as { idx: number }[];
  t.deepEqual(rows.map((r) => r.idx), entries.filter((e) => e.kind === 'command').map((e) => e.index));
});

test('snapshot create, compact, open and install round trip', async (t) => {
  const { store: leader } = await openStore(t);
  const entries = makeEntries(1, 60, 5);
  await leader.persist({ hardState: { term: 5, votedFor: 'r1' }, entries });
  await leader.apply(entries.slice(0, 50), applyTestEntry);
  const snapshot = await leader.createSnapshot();
  t.deepEqual(snapshot.meta, { index: 50, term: 5, config: { voters: ['r1', 'r2', 'r3'], learners: ['l44'] } });
  t.is(snapshot.digest, independentDigest(entries.slice(0, 50)));
  await t.throwsAsync(leader.compact(51), { instanceOf: SnapshotError });
  await leader.compact(50);
  await t.throwsAsync(leader.readEntries(45, 52), { instanceOf: LogRangeError, message: /snapshot at 50/ });
  t.is((await leader.readEntries(51, 52)).length, 2);
  const afterCompact = await leader.load();
  t.is(afterCompact.snapshot?.meta.index, 50);
  t.deepEqual(afterCompact.entries.map((e) => e.index), entries.slice(50).map((e) => e.index));
  t.is(raftStartOf(afterCompact, TEST_CONFIG).snapshot.index, 50);

  // Stream the snapshot as a transport would, into a file on the follower's side.
  const stream = await leader.openSnapshot();
  if (stream === null) return t.fail('no snapshot to open');
  const received: Buffer[] = [];
  for await (const chunk of stream.chunks()) received.push(Buffer.from(chunk));
  const { writeFile } = await import('node:fs/promises');
  const dir = await tempDir(t);
  const incoming = join(dir, 'incoming.sqlite');
  await writeFile(incoming, Buffer.concat(received));

  const { store: follower, dataDir: followerDir } = await openStore(t);
  // The follower's log holds the snapshot's last entry and more: the later entries survive (Raft §7).
  await follower.persist({ hardState: { term: 5, votedFor: null }, entries: entries.slice(0, 55) });
  await follower.apply(entries.slice(0, 3), applyTestEntry);
  await t.throwsAsync(follower.installSnapshot({ ...snapshot.meta, term: 4 }, incoming), { instanceOf: SnapshotError, message: /expected/ });
  const second = await leader.openSnapshot();
  if (second === null) return t.fail('no snapshot to open');
  const installed = await follower.installSnapshot(snapshot.meta, second.chunks());
  t.is(installed.sha256, snapshot.sha256);
  await t.throwsAsync(follower.installSnapshot(snapshot.meta, incoming), { instanceOf: SnapshotError, message: /not newer/ });
  const loaded = await follower.load();
  t.like(loaded.applied, { index: 50, term: 5, digest: snapshot.digest });
  t.deepEqual(loaded.entries.map((e) => e.index), [51, 52, 53, 54, 55]);
  await follower.apply(entries.slice(50, 55), applyTestEntry);
  t.is(follower.status().digest, independentDigest(entries.slice(0, 55)));
  // The read-only handle sees the installed and applied rows, and cannot write.
  const viaReader = (await follower.reader('test_rows').count({ n: '*' })) as { n: number }[];
  t.is(viaReader[0]?.n, entries.slice(0, 55).filter((e) => e.kind === 'command').length);
  await t.throwsAsync(follower.reader('test_rows').delete(), { message: /readonly|read-only|query_only/i });
  await follower.close();

  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(followerDir, 'replica.sqlite') }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const rows = (await db('test_rows').select('idx').orderBy('idx')) as { idx: number }[];
  t.deepEqual(rows.map((r) => r.idx), entries.slice(0, 55).filter((e) => e.kind === 'command').map((e) => e.index));
  const notes = (await db('test_notes').count({ n: '*' })) as { n: number }[];
  t.is(notes[0]?.n, rows.length);
  const counted = (await db('test_counts').select('n')) as { n: number }[];
  t.is(counted[0]?.n, rows.length, 'the restore fired no trigger; later applies did');
  const schema = (await db.raw("SELECT name FROM sqlite_master WHERE name IN ('test_notes_by_note', 'test_rows_counted') ORDER BY name")) as { name: string }[];
  t.deepEqual(schema.map((r) => r.name), ['test_notes_by_note', 'test_rows_counted'], 'indexes and triggers are back after the restore');
});

test('installing a snapshot the log does not match discards the whole log', async (t) => {
  const { store: leader } = await openStore(t);
  const entries = makeEntries(1, 20, 2);
  await leader.persist({ hardState: { term: 2, votedFor: null }, entries });
  await leader.apply(entries, applyTestEntry);
  const snapshot = await leader.createSnapshot();

  const { store: follower } = await openStore(t);
  await follower.persist({ hardState: { term: 2, votedFor: null }, entries: makeEntries(1, 25, 1) });
  await follower.installSnapshot(snapshot.meta, snapshot.file);
  const loaded = await follower.load();
  t.deepEqual(loaded.entries, []);
  t.like(follower.status(), { lastIndex: 20, lastTerm: 2, appliedIndex: 20 });
  await follower.persist({ entries: makeEntries(21, 22, 2) });
  t.is(follower.status().lastIndex, 22);
});

test('a store refuses another replica id, bad options, and use after close', async (t) => {
  const { store, dataDir } = await openStore(t);
  await store.close();
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r9', migrations: testMigrations }), { instanceOf: StoreConfigError, message: /belongs to replica r1/ });
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'bad id!', migrations: [] }), { instanceOf: StoreConfigError });
  await t.throwsAsync(openReplicaStore({ dataDir, replicaId: 'r1', migrations: [...testMigrations, ...testMigrations] }), { instanceOf: StoreConfigError, message: /twice/ });
  await t.throwsAsync(store.persist({ entries: [] }), { instanceOf: StoreClosedError });
  await t.throwsAsync(store.load(), { instanceOf: StoreClosedError });
});

test('snapshotting with nothing applied is refused', async (t) => {
  const { store } = await openStore(t);
  await t.throwsAsync(store.createSnapshot(), { instanceOf: SnapshotError, message: /nothing has been applied/ });
  t.is(await store.openSnapshot(), null);
});

test('a snapshot taken while the writer keeps applying is a consistent view', async (t) => {
  const { store: leader } = await openStore(t);
  const entries = makeEntries(1, 400, 1);
  await leader.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
  await leader.apply(entries.slice(0, 100), applyTestEntry);
  const snapshotting = leader.createSnapshot();
  // Keep applying, one entry per transaction, while the snapshot is written.
  let applied = 100;
  let done = false;
  void snapshotting.finally(() => (done = true));
  while (!done && applied < entries.length) {
    await leader.apply(entries.slice(applied, applied + 1), applyTestEntry);
    applied++;
  }
  const snapshot = await snapshotting;
  t.true(snapshot.meta.index >= 100 && snapshot.meta.index <= applied);
  t.is(snapshot.digest, independentDigest(entries.slice(0, snapshot.meta.index)));

  const { store: follower } = await openStore(t);
  await follower.persist({ hardState: { term: 1, votedFor: null }, entries: [] });
  await follower.installSnapshot(snapshot.meta, snapshot.file);
  const rows = (await follower.reader('test_rows').select('idx').orderBy('idx')) as { idx: number }[];
  // Exactly the rows of the entries up to the snapshot's index: none missing, none from later applies.
  t.deepEqual(rows.map((r) => r.idx), entries.slice(0, snapshot.meta.index).filter((e) => e.kind === 'command').map((e) => e.index));
});

test('snapshot files a crash left behind are removed on open; the recorded one stays', async (t) => {
  const { store, dataDir } = await openStore(t);
  const entries = makeEntries(1, 12, 1);
  await store.persist({ hardState: { term: 1, votedFor: null }, entries });
  await store.apply(entries, applyTestEntry);
  const snapshot = await store.createSnapshot();
  await store.close();
  const { writeFile, readdir } = await import('node:fs/promises');
  // A temporary being written, and a renamed file whose raft_snapshot row never committed.
  await writeFile(join(dataDir, 'snapshots', '.tmp-crashed.sqlite'), 'partial');
  await writeFile(join(dataDir, 'snapshots', 'snapshot-99-1.sqlite'), 'unrecorded');
  const { store: again } = await openStore(t, dataDir);
  t.deepEqual(await readdir(join(dataDir, 'snapshots')), [`snapshot-${snapshot.meta.index}-${snapshot.meta.term}.sqlite`]);
  const stream = await again.openSnapshot();
  t.is(stream?.sha256, snapshot.sha256);
  await stream?.close();
});

test('prepared statements run inside the apply transaction: a failure rolls them back, and applies go on after it', async (t) => {
  const { store, dataDir } = await openStore(t);
  const entries = makeEntries(1, 12, 2);
  await store.persist({ hardState: { term: 2, votedFor: null }, entries });
  // applyOne writing through a prepared statement (the chat state machine's hot path) and through Knex.
  const viaPrepared = async (db: Parameters<typeof applyTestEntry>[0], entry: Entry): Promise<number> => {
    if (entry.kind !== 'command') return entry.index;
    const inserted = await preparedRows<{ idx: number }>(db, 'INSERT INTO test_rows (idx, term, body) VALUES (?, ?, ?) RETURNING idx', [entry.index, entry.term, `p${entry.index}`]);
    await db('test_notes').insert({ row_idx: entry.index, note: `note ${entry.index}` });
    return inserted[0]!.idx;
  };
  t.deepEqual(await store.apply(entries.slice(0, 3), viaPrepared), [1, 2, 3]);
  // A statement that fails in SQLite (a duplicate key) after others of the batch ran: nothing of the batch stays.
  await t.throwsAsync(
    store.apply(entries.slice(3, 6), async (db, entry) => {
      const index = await viaPrepared(db, entry);
      if (entry.index === 5) await preparedRows(db, 'INSERT INTO test_rows (idx, term, body) VALUES (?, ?, ?) RETURNING idx', [1, 1, 'again']);
      return index;
    }),
    { message: /UNIQUE constraint failed/ },
  );
  t.is(store.status().appliedIndex, 3);
  // The statement that failed was dropped and is prepared again; the next apply commits.
  t.deepEqual(await store.apply(entries.slice(3), viaPrepared), [4, 5, 6, 7, 8, 9, 10, 11, 12]);
  t.is(store.status().digest, independentDigest(entries));
  await store.close();
  const db = knexFactory({ client: 'sqlite3', connection: { filename: join(dataDir, 'replica.sqlite') }, useNullAsDefault: true });
  t.teardown(() => db.destroy());
  const rows = (await db('test_rows').select('idx').orderBy('idx')) as { idx: number }[];
  t.deepEqual(rows.map((r) => r.idx), entries.filter((e) => e.kind === 'command').map((e) => e.index));
  const applied = (await db('raft_applied').first('applied_index', 'config_index')) as { applied_index: number; config_index: number };
  t.deepEqual(applied, { applied_index: 12, config_index: 11 });
  // Outside a store's apply the same call goes through Knex.
  t.deepEqual(await preparedRows<{ n: number }>(db, 'SELECT count(*) AS n FROM test_rows WHERE idx > ?', [10]), [{ n: 1 }]);
});

test("reads through preparedRows on the store's reader run prepared on its read connection, see committed applies, refuse writes, and close cleanly", async (t) => {
  const { store } = await openStore(t);
  const entries = makeEntries(1, 6, 1);
  await store.persist({ hardState: { term: 1, votedFor: null }, entries });
  const count = async (): Promise<number> => (await preparedRows<{ n: number }>(store.reader, 'SELECT count(*) AS n FROM test_rows WHERE idx >= ?', [0]))[0]!.n;
  t.is(await count(), 0);
  await store.apply(entries.slice(0, 4), applyTestEntry);
  const commands = entries.slice(0, 4).filter((e) => e.kind === 'command').length;
  t.is(await count(), commands, 'the read connection sees what the writer committed');
  // The same statement again (prepared once), and a read that fails in SQLite does not break the next one.
  await t.throwsAsync(preparedRows(store.reader, 'SELECT no_such_column FROM test_rows', []), { message: /no such column/ });
  await t.throwsAsync(preparedRows(store.reader, 'INSERT INTO test_rows (idx, term, body) VALUES (?, ?, ?)', [99, 1, 'x']), { message: /readonly|query_only/i });
  await store.apply(entries.slice(4), applyTestEntry);
  t.is(await count(), entries.filter((e) => e.kind === 'command').length);
  // close finalizes the read connection's statements, else SQLite would refuse to close it.
  await t.notThrowsAsync(store.close());
});
