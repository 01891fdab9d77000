/**
 * Seeded data directories for a whole cluster: the first voter's built by
 * the seeder (seed.ts), the others copies of it, each owned by its own id
 * (seed-copy.ts) and checked, by opening it through the store as the replica
 * will, to hold exactly the first one's state.
 */
import { join } from 'node:path';
import type { ReplicaId } from '../../actors/raft/types.ts';
import { CHAT_MIGRATIONS } from '../../actors/chat/index.ts';
import { openReplicaStore } from '../../storage/index.ts';
import { seedReplicaData, type SeededData } from './seed.ts';
import { copyReplicaData } from './seed-copy.ts';
import { SeedError } from './seed-checks.ts';

export interface SeedClusterOptions {
  /** The data root: voter `id`'s directory is `<root>/<id>`, as `up` and the test clusters lay them out. */
  readonly root: string;
  /** The bootstrap voters, each given an identical seeded directory. */
  readonly voters: readonly ReplicaId[];
  readonly messages: number;
  readonly progress?: (line: string) => void;
}

export interface SeededCluster extends SeededData {
  /** Copying and checking the other voters' directories. */
  readonly copyMs: number;
}

export async function seedCluster(options: SeedClusterOptions): Promise<SeededCluster> {
  const [first, ...others] = options.voters;
  if (first === undefined) throw new SeedError('no voters to seed');
  const progress = options.progress ?? (() => {});
  const seeded = await seedReplicaData({ dataDir: join(options.root, first), replicaId: first, voters: options.voters, messages: options.messages, progress });
  progress(`seeded ${first}: ${seeded.messages} messages, applied index ${seeded.appliedIndex}, snapshot ${seeded.snapshotBytes} bytes, in ${seeded.elapsedMs} ms`);
  const copying = Date.now();
  for (const id of others) {
    await copyReplicaData(join(options.root, first), join(options.root, id), id);
    await checkCopy(join(options.root, id), id, seeded);
  }
  const copyMs = Date.now() - copying;
  if (others.length > 0) progress(`copied it to ${others.join(', ')} in ${copyMs} ms`);
  return { ...seeded, copyMs };
}

/** The copy opens under its new owner and holds the seeded state: same applied index and digest, snapshot at the same index, nothing in the log after it. */
async function checkCopy(dataDir: string, id: ReplicaId, seeded: SeededData): Promise<void> {
  const store = await openReplicaStore({ dataDir, replicaId: id, migrations: CHAT_MIGRATIONS });
  try {
    const loaded = await store.load();
    const same =
      loaded.applied.index === seeded.appliedIndex &&
      loaded.applied.digest === seeded.digest &&
      loaded.snapshot?.meta.index === seeded.snapshotIndex &&
      loaded.snapshot.bytes === seeded.snapshotBytes &&
      loaded.entries.length === 0;
    if (!same) {
      const found = { applied: loaded.applied.index, digest: loaded.applied.digest, snapshot: loaded.snapshot?.meta.index ?? null, entries: loaded.entries.length };
      throw new SeedError(`the copy for ${id} in ${dataDir} does not hold the seeded state: ${JSON.stringify(found)}`);
    }
  } finally {
    await store.close();
  }
}
