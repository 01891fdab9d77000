/**
 * One seeded data directory made into several: seeding once and copying is
 * five times faster than seeding each voter, and gives every voter the very
 * same state (applied index, digest, configuration, snapshot) by
 * construction.
 *
 * A copy must then belong to its own replica, which the store checks on
 * every open, so three things in its database are rewritten (with the store
 * closed):
 *   raft_identity.replica_id  the owner: opening under another id is refused;
 *   raft_identity.data_id     the data directory's own identity, where the
 *                             column exists: set to NULL so that the copy is
 *                             given an identity of its own when it is first
 *                             opened (two voters sharing one would defeat
 *                             the check that refuses a replaced directory);
 *   raft_snapshot.file        an absolute path: left pointing into the
 *                             original, the copy would delete its own
 *                             snapshot file on open as a stray.
 */
import { cp } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import knex from 'knex';
import type { ReplicaId } from '../../actors/raft/types.ts';
import { DATABASE_FILE, SNAPSHOT_DIR } from '../../storage/index.ts';
import { SeedError } from './seed-checks.ts';

/** The replica's own log file (cli/supervisor), if the seeded directory ever had one: never copied. */
const REPLICA_LOG_FILE = 'replica.log';

/** Copies the (closed) data directory `from` to `to` and makes the copy `owner`'s. */
export async function copyReplicaData(from: string, to: string, owner: ReplicaId): Promise<void> {
  await cp(from, to, { recursive: true, errorOnExist: true, force: false, filter: (source) => basename(source) !== REPLICA_LOG_FILE });
  await reown(to, owner);
}

async function reown(dataDir: string, owner: ReplicaId): Promise<void> {
  const db = knex({ client: 'sqlite3', connection: { filename: join(dataDir, DATABASE_FILE) }, useNullAsDefault: true });
  try {
    await db.transaction(async (trx) => {
      const owned = await trx('raft_identity').where({ id: 1 }).update({ replica_id: owner });
      if (owned !== 1) throw new SeedError(`${dataDir} has no owner recorded: not a seeded store`);
      // The data identity (issue 11, "A replica's identity") may not exist yet in this build's schema.
      if (await trx.schema.hasColumn('raft_identity', 'data_id')) await trx('raft_identity').where({ id: 1 }).update({ data_id: null });
      const snapshot = (await trx('raft_snapshot').where({ id: 1 }).first('file')) as { file: string } | undefined;
      if (snapshot === undefined) throw new SeedError(`${dataDir} records no snapshot: not a seeded store`);
      await trx('raft_snapshot').where({ id: 1 }).update({ file: join(resolve(dataDir), SNAPSHOT_DIR, basename(snapshot.file)) });
    });
  } finally {
    await db.destroy();
  }
}
