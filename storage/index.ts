/** The storage layer's public API. */
export { openReplicaStore, claimDataDirectory, raftStartOf, DATABASE_FILE, SNAPSHOT_DIR } from './replica-store.ts';
export { WAL_DIR } from './wal/segment-log.ts';
export type {
  AppliedState,
  LoadedState,
  PersistRequest,
  ReplicaStore,
  ReplicaStoreOptions,
  SnapshotStream,
  StoreLogger,
  StoreStatus,
  StoredSnapshot,
} from './replica-store.ts';
export type { Migration } from './migrations.ts';
export { isStateMachineTable } from './migrations.ts';
export { encodeEntry, decodeEntry, checksumOf } from './entry-codec.ts';
export { nextDigest, INITIAL_DIGEST, DIGEST_BYTES } from './digest.ts';
export * from './errors.ts';
export * from './limits.ts';
