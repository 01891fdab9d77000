/**
 * Simulated durable storage of one replica: hard state, the latest snapshot
 * (with the state machine it captured), the log after it, and the applied
 * state machine (durable together with its appliedIndex, as the real runtime
 * applies an entry in the same transaction that advances appliedIndex).
 *
 * An honest disk makes each write durable at once. A lying disk (a broken
 * fsync, for proving the simulation catches it) acknowledges every write but
 * only flushes now and then; a crash reverts it to the last flush.
 */
import type { Configuration, Entry, HardState, Index, Ready, SnapshotMeta } from '../../actors/raft/types.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import { initialState, type AppliedState } from './state-machine.ts';

export const DISK_MODES = ['honest', 'lying'] as const;
export type DiskMode = (typeof DISK_MODES)[number];

/** A lying disk really flushes on this fraction of writes: rare enough that crashes lose acknowledged data. */
const LYING_DISK_FLUSH_CHANCE = 0.2;

/** A snapshot as stored: its identity and the state machine it captured. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly state: AppliedState;
}

/** What a restarted replica recovers. */
export interface Recovered {
  readonly hardState: HardState;
  readonly snapshot: StoredSnapshot;
  readonly entries: readonly Entry[];
  readonly applied: AppliedState;
}

/** The core asked storage for something impossible (e.g. a gap in the log); a bug in the core or the harness. */
export class StorageContractError extends Error {
  override readonly name = 'StorageContractError';
}

interface Image {
  hardState: HardState;
  snapshot: StoredSnapshot;
  /** Entries after snapshot.meta.index, contiguous. */
  entries: Entry[];
  applied: AppliedState;
}

export class SimulatedDisk {
  readonly #mode: DiskMode;
  readonly #random: SeededRandom;
  #image: Image;
  /** For a lying disk: what actually survives a crash. */
  #durable: Image;

  constructor(config: Configuration, mode: DiskMode, random: SeededRandom) {
    this.#mode = mode;
    this.#random = random;
    const empty = initialState(config);
    this.#image = {
      hardState: { term: 0, votedFor: null },
      snapshot: { meta: { index: 0, term: 0, config }, state: empty },
      entries: [],
      applied: empty,
    };
    this.#durable = copyImage(this.#image);
  }

  get hardState(): HardState {
    return this.#image.hardState;
  }

  get snapshot(): StoredSnapshot {
    return this.#image.snapshot;
  }

  get applied(): AppliedState {
    return this.#image.applied;
  }

  get lastIndex(): Index {
    const last = this.#image.entries.at(-1);
    return last?.index ?? this.#image.snapshot.meta.index;
  }

  /** The entry at `index` if the log (not the snapshot) holds it. */
  entryAt(index: Index): Entry | undefined {
    const offset = index - this.#image.snapshot.meta.index - 1;
    return offset >= 0 ? this.#image.entries[offset] : undefined;
  }

  /**
   * Carry out the persist part of a Ready, atomically (one transaction):
   * hard state, snapshot install, truncation, appends.
   * `staged` finds a received snapshot by its identity.
   */
  persist(ready: Ready, staged: (meta: SnapshotMeta) => StoredSnapshot | undefined): void {
    const image = this.#image;
    if (ready.hardState !== undefined) {
      if (ready.hardState.term < image.hardState.term) {
        throw new StorageContractError(`hard state term went back from ${image.hardState.term} to ${ready.hardState.term}`);
      }
      image.hardState = ready.hardState;
    }
    if (ready.installSnapshot !== undefined) {
      const snapshot = staged(ready.installSnapshot);
      if (snapshot === undefined) {
        throw new StorageContractError(`install of snapshot ${describeMeta(ready.installSnapshot)} that never arrived`);
      }
      image.snapshot = snapshot;
      image.entries = [];
      image.applied = snapshot.state;
    }
    if (ready.truncateFrom !== undefined) {
      const from = ready.truncateFrom;
      if (from <= image.snapshot.meta.index) {
        throw new StorageContractError(`truncate from ${from} reaches into the snapshot at ${image.snapshot.meta.index}`);
      }
      if (from > this.lastIndex + 1) throw new StorageContractError(`truncate from ${from} beyond the log's end ${this.lastIndex}`);
      image.entries = image.entries.slice(0, from - image.snapshot.meta.index - 1);
    }
    if (ready.entries.length > 0) {
      let expected = this.lastIndex + 1;
      for (const entry of ready.entries) {
        if (entry.index !== expected) throw new StorageContractError(`append of index ${entry.index} where ${expected} comes next`);
        expected++;
      }
      image.entries = image.entries.concat(ready.entries);
    }
    if (ready.hardState !== undefined || ready.installSnapshot !== undefined || ready.truncateFrom !== undefined || ready.entries.length > 0) {
      this.#maybeFlush();
    }
  }

  /** Record the state machine after applying (durable with its appliedIndex). */
  setApplied(state: AppliedState): void {
    this.#image.applied = state;
    this.#maybeFlush();
  }

  /** Store a snapshot of our own state machine and drop the log it covers. */
  saveSnapshot(snapshot: StoredSnapshot): void {
    const image = this.#image;
    const from = snapshot.meta.index;
    if (from <= image.snapshot.meta.index) throw new StorageContractError(`snapshot at ${from} is not newer than ${image.snapshot.meta.index}`);
    if (from > image.applied.appliedIndex) throw new StorageContractError(`snapshot at ${from} is ahead of applied ${image.applied.appliedIndex}`);
    image.entries = image.entries.filter((entry) => entry.index > from);
    image.snapshot = snapshot;
    this.#maybeFlush();
  }

  /** Power loss: an honest disk keeps everything; a lying one reverts to its last flush. */
  crash(): void {
    if (this.#mode === 'lying') this.#image = copyImage(this.#durable);
  }

  recover(): Recovered {
    const image = this.#image;
    return { hardState: image.hardState, snapshot: image.snapshot, entries: [...image.entries], applied: image.applied };
  }

  #maybeFlush(): void {
    // An honest disk's image is itself durable; only a lying one keeps a separate "really flushed" copy.
    if (this.#mode === 'lying' && this.#random.chance(LYING_DISK_FLUSH_CHANCE)) this.#durable = copyImage(this.#image);
  }
}

function copyImage(image: Image): Image {
  return { ...image, entries: [...image.entries] };
}

export function describeMeta(meta: SnapshotMeta): string {
  return `(index ${meta.index}, term ${meta.term})`;
}
