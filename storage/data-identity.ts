/**
 * Which replica a data directory belongs to, and which directory it is.
 *
 * `raft_identity` holds one row: the replica id the log was written under (a
 * log is never reused under another name) and the directory's data identity
 * (actors/raft/identity.ts), made at random the first time the directory is
 * opened. A wiped directory gets a new one, and so does a copied one whose
 * identity was cleared; the cluster records identities in its configuration
 * and does not let a directory it did not record vote under the old id.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { DataId, ReplicaId } from '../actors/raft/types.ts';
import { isDataId } from '../actors/raft/identity.ts';
import { CorruptStoreError, StoreConfigError } from './errors.ts';

/** 8 random bytes: the identity only tells one id's directories apart, so 64 bits make a clash practically impossible. */
const DATA_ID_BYTES = 8;

/** What opening a directory found: whether it was new, and its data identity. */
export interface DirectoryClaim {
  /** This open created the directory's records: nothing was ever stored. */
  readonly fresh: boolean;
  readonly dataId: DataId;
}

export function newDataId(): DataId {
  return randomBytes(DATA_ID_BYTES).toString('hex');
}

/** Records `replicaId` as the directory's owner if it has none, refuses another owner, and gives the directory an identity if it has none. */
export async function claimDirectory(knex: Knex, file: string, replicaId: ReplicaId): Promise<DirectoryClaim> {
  const rows = (await knex('raft_identity').select('replica_id', 'data_id').where({ id: 1 })) as { replica_id: string; data_id: string | null }[];
  const row = rows[0];
  if (row === undefined) {
    const dataId = newDataId();
    await knex('raft_identity').insert({ id: 1, replica_id: replicaId, data_id: dataId });
    return { fresh: true, dataId };
  }
  if (row.replica_id !== replicaId) throw new StoreConfigError(`store ${file} belongs to replica ${row.replica_id}, not ${replicaId}: a log is never reused under another name`);
  if (row.data_id === null) {
    // A directory from before data identities (or a copy whose identity was cleared): it gets one now, and the cluster records it.
    const dataId = newDataId();
    await knex('raft_identity').where({ id: 1 }).update({ data_id: dataId });
    return { fresh: false, dataId };
  }
  if (!isDataId(row.data_id)) throw new CorruptStoreError(file, null, `the data identity ${JSON.stringify(row.data_id)} is not 16 hex digits`);
  return { fresh: false, dataId: row.data_id };
}
