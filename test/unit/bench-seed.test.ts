/**
 * The seeder (cli/bench/seed*.ts): what a seeded data directory holds, and
 * that a copy belongs to its new replica alone.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knex, { type Knex } from 'knex';
import { CHAT_MIGRATIONS } from '../../actors/chat/index.ts';
import { seedReplicaData, SeedError, SEED_ACCOUNTS } from '../../cli/bench/seed.ts';
import { copyReplicaData } from '../../cli/bench/seed-copy.ts';
import { seedCluster } from '../../cli/bench/seed-cluster.ts';
import { DATABASE_FILE, openReplicaStore, SNAPSHOT_DIR, StoreConfigError } from '../../storage/index.ts';

const VOTERS = ['r1', 'r2', 'r3'];
/** The seeded log before the sends: the leader's noop, two registers, two logins. */
const ENTRIES_BEFORE_SENDS = 5;

function tempRoot(t: { teardown(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'qc-seed-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

async function withDatabase<T>(dataDir: string, use: (db: Knex) => Promise<T>): Promise<T> {
  const db = knex({ client: 'sqlite3', connection: { filename: join(dataDir, DATABASE_FILE) }, useNullAsDefault: true });
  try {
    return await use(db);
  } finally {
    await db.destroy();
  }
}

test('a seeded directory holds N applied messages between two accounts, a snapshot at its applied index, and no log after it', async (t) => {
  const dir = join(tempRoot(t), 'r1');
  // More than one batch (SEED_BATCH_ENTRIES), so a batch boundary is crossed.
  const messages = 5_000;
  const seeded = await seedReplicaData({ dataDir: dir, replicaId: 'r1', voters: VOTERS, messages });
  t.is(seeded.appliedIndex, ENTRIES_BEFORE_SENDS + messages);
  t.is(seeded.snapshotIndex, seeded.appliedIndex);

  const store = await openReplicaStore({ dataDir: dir, replicaId: 'r1', migrations: CHAT_MIGRATIONS });
  try {
    const loaded = await store.load();
    t.deepEqual(loaded.entries, [], 'the log is compacted up to the snapshot');
    t.is(loaded.applied.digest, seeded.digest);
    t.deepEqual(loaded.snapshot?.meta.config, { voters: VOTERS, learners: [] });
    t.deepEqual(loaded.hardState, { term: 1, votedFor: 'r1' });
    const conversations = (await store.reader('conversations').select('owner', 'peer', 'unread', 'last_id').orderBy('owner')) as { owner: string; unread: number; last_id: number }[];
    // Alternating direction: each account received half the messages, none read; the newest message is the last entry.
    t.deepEqual(conversations.map((c) => [c.owner, c.unread]), [[SEED_ACCOUNTS[0], messages / 2], [SEED_ACCOUNTS[1], messages / 2]]);
    t.true(conversations.every((c) => c.last_id === seeded.appliedIndex));
    t.is(((await store.reader('send_requests').count({ n: '*' }).first()) as { n: number }).n, messages);
  } finally {
    await store.close();
  }
});

test('the seeder refuses a directory that already holds a store', async (t) => {
  const dir = join(tempRoot(t), 'r1');
  await seedReplicaData({ dataDir: dir, replicaId: 'r1', voters: VOTERS, messages: 10 });
  await t.throwsAsync(seedReplicaData({ dataDir: dir, replicaId: 'r1', voters: VOTERS, messages: 10 }), { instanceOf: SeedError });
});

test('a copy belongs to its new replica: its own owner, its own snapshot file, no data identity until it is opened', async (t) => {
  const root = tempRoot(t);
  await seedReplicaData({ dataDir: join(root, 'r1'), replicaId: 'r1', voters: VOTERS, messages: 10 });
  // The data identity column (issue 11) may or may not exist in this build: give the original one either way.
  await withDatabase(join(root, 'r1'), async (db) => {
    if (!(await db.schema.hasColumn('raft_identity', 'data_id'))) await db.schema.alterTable('raft_identity', (table) => table.text('data_id'));
    await db('raft_identity').update({ data_id: '0123456789abcdef' });
  });
  await copyReplicaData(join(root, 'r1'), join(root, 'r2'), 'r2');

  const copied = await withDatabase(join(root, 'r2'), async (db) => ({
    identity: (await db('raft_identity').first('replica_id', 'data_id')) as { replica_id: string; data_id: string | null },
    snapshot: (await db('raft_snapshot').first('file')) as { file: string },
  }));
  t.deepEqual(copied.identity, { replica_id: 'r2', data_id: null });
  t.is(copied.snapshot.file.startsWith(join(root, 'r2', SNAPSHOT_DIR)), true, copied.snapshot.file);
  // Opening the copy keeps its snapshot file (a path into the original would make it a stray, deleted on open).
  const store = await openReplicaStore({ dataDir: join(root, 'r2'), replicaId: 'r2', migrations: CHAT_MIGRATIONS });
  await store.close();
  t.is(readdirSync(join(root, 'r2', SNAPSHOT_DIR)).length, 1);
  await t.throwsAsync(openReplicaStore({ dataDir: join(root, 'r2'), replicaId: 'r1', migrations: CHAT_MIGRATIONS }), { instanceOf: StoreConfigError });
});

test('seedCluster gives every voter the same state under its own id', async (t) => {
  const root = tempRoot(t);
  const seeded = await seedCluster({ root, voters: VOTERS, messages: 100 });
  for (const id of VOTERS) {
    const store = await openReplicaStore({ dataDir: join(root, id), replicaId: id, migrations: CHAT_MIGRATIONS });
    try {
      const status = store.status();
      t.deepEqual([status.appliedIndex, status.digest, status.snapshotIndex], [seeded.appliedIndex, seeded.digest, seeded.snapshotIndex], id);
    } finally {
      await store.close();
    }
  }
});
