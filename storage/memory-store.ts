/**
 * An in-memory replica store behind the runtime's store port
 * (actors/replica/ports.ts `RuntimeStore`), for the deterministic simulation:
 * the same contract as the SQLite store (persist, atomic apply with
 * appliedIndex and the running digest, snapshots, compaction), no I/O.
 *
 * Crash model: a `MemoryDisk` keeps what is durable; each incarnation of a
 * replica opens a `MemoryStore` on it. A crash drops the store: whatever was
 * not made durable is gone, and the next `open()` starts from the disk.
 * Every write is durable when it completes, unless the disk `lies`: then it
 * acknowledges every write but really flushes only some of them (like a
 * drive that ignores fsync), and a crash goes back to the last flush.
 *
 * The application's state lives in the store (it is applied in the same
 * transaction as appliedIndex): `S`, copied on write through `MemoryStateCodec`.
 */
import { createHash } from 'node:crypto';
import type { Configuration, DataId, Entry, HardState, Index, SnapshotMeta, Term } from '../actors/raft/types.ts';
import { INITIAL_DIGEST, nextDigest } from './digest.ts';
import { ApplyOrderError, InvalidPersistError, SnapshotError, StoreClosedError } from './errors.ts';
import { checkHardState, hardStateCovering, type PersistRequest, type SnapshotStream, type StoreStatus } from './replica-store.ts';

/** How the application's state is copied and carried in a snapshot. */
export interface MemoryStateCodec<S> {
  initial(): S;
  /** A deep copy: the store never lets a draft alias durable state. */
  clone(state: S): S;
  encode(state: S): unknown;
  decode(value: unknown): S;
}

/** What a crash keeps, and what the live store works on. Never mutated: every write makes a new one. */
interface DiskState<S> {
  readonly hardState: HardState;
  readonly snapshot: MemorySnapshot<S> | null;
  /** The log after the snapshot, contiguous. */
  readonly entries: readonly Entry[];
  readonly applied: { readonly index: Index; readonly term: Term; readonly digest: string; readonly config: Configuration | null };
  readonly app: S;
}

interface MemorySnapshot<S> {
  readonly meta: SnapshotMeta;
  readonly digest: string;
  readonly app: S;
}

/**
 * UNSAFE, for tests that prove the simulation catches a broken store. Never
 * set from configuration: only test/sim passes it.
 */
export interface UnsafeMemoryStoreVariants {
  /**
   * Apply is not atomic: the application's state is made durable first and
   * appliedIndex some time later, so a crash in between applies the entries
   * again after restart.
   */
  readonly nonAtomicApply?: boolean;
}

export interface MemoryDiskOptions<S> {
  readonly codec: MemoryStateCodec<S>;
  /** The cluster's bootstrap configuration (the snapshot's config before any config entry is applied). */
  readonly initialConfig: Configuration;
  /** This disk's data identity (storage/data-identity.ts); a wiped disk is a new MemoryDisk with a new one. */
  readonly dataId: DataId;
  /** `lying`: acknowledges every write, flushes only when `flushes()` says so. */
  readonly mode: 'honest' | 'lying';
  /** Lying disks only: whether this write really reaches the platter (seeded in the simulation). */
  readonly flushes?: () => boolean;
  /** Simulated time one write takes (0 = none); the store waits it out before the write counts. */
  readonly latencyMs?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly unsafe?: UnsafeMemoryStoreVariants;
}

/** One replica's simulated disk: outlives crashes; `open()` per incarnation. */
export class MemoryDisk<S> {
  #durable: DiskState<S>;
  #current: MemoryStore<S> | null = null;
  readonly options: MemoryDiskOptions<S>;

  constructor(options: MemoryDiskOptions<S>) {
    this.options = options;
    this.#durable = {
      hardState: { term: 0, votedFor: null },
      snapshot: null,
      entries: [],
      applied: { index: 0, term: 0, digest: INITIAL_DIGEST, config: null },
      app: options.codec.initial(),
    };
  }

  /** What survives a crash right now (for invariant checks: "held durably"). */
  get durable(): DiskState<S> {
    return this.#durable;
  }

  /** A new incarnation: the previous store (if any) is dead, everything not durable is lost. */
  open(): MemoryStore<S> {
    this.#current?.kill();
    this.#current = new MemoryStore(this, this.#durable);
    return this.#current;
  }

  /** Crash: the open store dies with whatever it had not made durable. */
  crash(): void {
    this.#current?.kill();
    this.#current = null;
  }

  /** @internal the store made `state` durable (or, lying, maybe not). */
  write(state: DiskState<S>, mustFlush = false): void {
    if (this.options.mode === 'honest' || mustFlush || (this.options.flushes?.() ?? true)) this.#durable = state;
  }
}

export class MemoryStore<S> {
  readonly #disk: MemoryDisk<S>;
  #live: DiskState<S>;
  #dead = false;
  #persistRequests = 0;

  constructor(disk: MemoryDisk<S>, recovered: DiskState<S>) {
    this.#disk = disk;
    this.#live = recovered;
  }

  /** Where the core starts from. */
  load(): { hardState: HardState; snapshot: SnapshotMeta; entries: readonly Entry[]; appliedIndex: Index; empty: boolean; dataId: DataId } {
    const live = this.#live;
    const snapshot = live.snapshot?.meta ?? { index: 0, term: 0, config: this.#disk.options.initialConfig };
    return {
      hardState: hardStateCovering(live.hardState, snapshot),
      snapshot,
      entries: live.entries,
      appliedIndex: live.applied.index,
      empty: live.hardState.term === 0 && live.entries.length === 0 && live.snapshot === null && live.applied.index === 0,
      dataId: this.#disk.options.dataId,
    };
  }

  /** The application's applied state (read only: a read, or an invariant check). */
  get app(): S {
    return this.#live.app;
  }

  status(): StoreStatus {
    const live = this.#live;
    const last = live.entries.at(-1);
    const snapshotIndex = live.snapshot?.meta.index ?? 0;
    return {
      appliedIndex: live.applied.index,
      appliedTerm: live.applied.term,
      digest: live.applied.digest,
      lastIndex: last?.index ?? snapshotIndex,
      lastTerm: last?.term ?? live.snapshot?.meta.term ?? 0,
      snapshotIndex,
      persistRequests: this.#persistRequests,
      persistTransactions: this.#persistRequests,
    };
  }

  async persist(request: PersistRequest): Promise<void> {
    await this.#wait();
    this.#persistRequests += 1;
    const live = this.#live;
    const snapshotIndex = live.snapshot?.meta.index ?? 0;
    let entries = live.entries;
    // The same contract as the SQLite store (storage/replica-store.ts), so the simulation stops where production would.
    if (request.hardState !== undefined) checkHardState(live.hardState, request.hardState);
    if (request.truncateFrom !== undefined) {
      const from = request.truncateFrom;
      if (from <= live.applied.index || from <= snapshotIndex) throw new InvalidPersistError(`cannot truncate from ${from}: entries up to ${Math.max(live.applied.index, snapshotIndex)} are applied or snapshotted`);
      entries = entries.filter((entry) => entry.index < from);
    }
    let last = entries.at(-1)?.index ?? snapshotIndex;
    for (const entry of request.entries) {
      if (entry.index !== last + 1) throw new InvalidPersistError(`entry ${entry.index} does not follow the log's last index ${last}${request.truncateFrom === undefined ? ' (no truncateFrom given)' : ''}`);
      last = entry.index;
    }
    if (request.entries.length > 0) entries = [...entries, ...request.entries];
    this.#set({ ...live, hardState: request.hardState ?? live.hardState, entries });
  }

  async apply<R>(entries: readonly Entry[], applyOne: (tx: S, entry: Entry) => Promise<R>): Promise<R[]> {
    const first = entries[0];
    if (first === undefined) return [];
    await this.#wait();
    const live = this.#live;
    if (first.index !== live.applied.index + 1) throw new ApplyOrderError(live.applied.index, first.index, first.index <= live.applied.index ? 'the entry is already applied' : 'entries in between are not applied yet');
    const draft = this.#disk.options.codec.clone(live.app);
    const results: R[] = [];
    let applied = live.applied;
    for (const entry of entries) {
      const logged = live.entries.find((candidate) => candidate.index === entry.index);
      if (logged === undefined || logged.term !== entry.term) throw new ApplyOrderError(live.applied.index, first.index, `entry ${entry.index} is not in the log: only persisted entries can be applied`);
      if (entry.index !== applied.index + 1) throw new ApplyOrderError(live.applied.index, first.index, `entries are not contiguous at index ${entry.index}`);
      results.push(await applyOne(draft, entry));
      applied = { index: entry.index, term: entry.term, digest: nextDigest(applied.digest, entry), config: entry.kind === 'config' ? entry.config : applied.config };
    }
    if (this.#disk.options.unsafe?.nonAtomicApply === true) {
      // UNSAFE: the tables reach the disk before appliedIndex does; a crash in between re-applies them.
      this.#disk.write({ ...this.#disk.durable, app: draft }, true);
      await this.#wait();
    }
    this.#set({ ...this.#live, app: draft, applied });
    return results;
  }

  async createSnapshot(): Promise<{ meta: SnapshotMeta; bytes: number }> {
    await this.#wait();
    const live = this.#live;
    const meta: SnapshotMeta = { index: live.applied.index, term: live.applied.term, config: live.applied.config ?? this.#disk.options.initialConfig };
    const snapshot: MemorySnapshot<S> = { meta, digest: live.applied.digest, app: live.app };
    this.#set({ ...live, snapshot });
    return { meta, bytes: encodeSnapshot(snapshot, this.#disk.options.codec).byteLength };
  }

  async compact(index: Index): Promise<void> {
    this.#alive();
    const live = this.#live;
    const snapshotIndex = live.snapshot?.meta.index ?? 0;
    if (index > snapshotIndex) throw new SnapshotError(`cannot compact the log up to ${index}: the latest durable snapshot is at ${snapshotIndex}`);
    this.#set({ ...live, entries: live.entries.filter((entry) => entry.index > index) });
  }

  async openSnapshot(): Promise<SnapshotStream | null> {
    this.#alive();
    const snapshot = this.#live.snapshot;
    if (snapshot === null) return null;
    const bytes = encodeSnapshot(snapshot, this.#disk.options.codec);
    return {
      meta: snapshot.meta,
      digest: snapshot.digest,
      file: '(memory)',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.byteLength,
      chunks: async function* () {
        yield bytes;
      },
      close: async () => undefined,
    };
  }

  async installSnapshot(meta: SnapshotMeta, source: string | AsyncIterable<Uint8Array>): Promise<void> {
    if (typeof source === 'string') throw new SnapshotError('the in-memory store takes a snapshot as bytes, not a file');
    const parts: Uint8Array[] = [];
    for await (const chunk of source) parts.push(chunk);
    await this.#wait();
    const live = this.#live;
    if (meta.index <= live.applied.index) throw new SnapshotError(`snapshot at index ${meta.index} is not newer than appliedIndex ${live.applied.index}: installing it would go back in time`);
    const snapshot = decodeSnapshot(Buffer.concat(parts), this.#disk.options.codec);
    if (snapshot.meta.index !== meta.index || snapshot.meta.term !== meta.term) throw new SnapshotError(`received snapshot holds (${snapshot.meta.index}, t${snapshot.meta.term}), not (${meta.index}, t${meta.term})`);
    // Raft §7: keep the log after the snapshot only if it agrees with the snapshot's last entry.
    const agrees = live.entries.some((entry) => entry.index === meta.index && entry.term === meta.term);
    this.#set({
      ...live,
      snapshot,
      entries: agrees ? live.entries.filter((entry) => entry.index > meta.index) : [],
      applied: { index: meta.index, term: meta.term, digest: snapshot.digest, config: meta.config },
      app: snapshot.app,
    });
  }

  async close(): Promise<void> {
    this.#dead = true;
  }

  /** @internal the disk reopened or crashed: this incarnation writes nothing more. */
  kill(): void {
    this.#dead = true;
  }

  #set(state: DiskState<S>): void {
    this.#alive();
    this.#live = state;
    this.#disk.write(state);
  }

  async #wait(): Promise<void> {
    this.#alive();
    const ms = this.#disk.options.latencyMs?.() ?? 0;
    if (ms > 0 && this.#disk.options.sleep) await this.#disk.options.sleep(ms);
    this.#alive();
  }

  #alive(): void {
    if (this.#dead) throw new StoreClosedError('the in-memory store is closed (crashed or stopped)');
  }
}

function encodeSnapshot<S>(snapshot: MemorySnapshot<S>, codec: MemoryStateCodec<S>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ meta: snapshot.meta, digest: snapshot.digest, app: codec.encode(snapshot.app) }));
}

function decodeSnapshot<S>(bytes: Uint8Array, codec: MemoryStateCodec<S>): MemorySnapshot<S> {
  const value = JSON.parse(new TextDecoder().decode(bytes)) as { meta: SnapshotMeta; digest: string; app: unknown };
  return { meta: value.meta, digest: value.digest, app: codec.decode(value.app) };
}
