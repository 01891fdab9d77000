/**
 * The runtime's three snapshot jobs, each a part of its own:
 *
 *   scheduler  after applies: every `snapshotEvery` entries, snapshot the
 *              store, tell the core (`compacted`), then compact the log on disk
 *   sender     leader: stream the store's latest snapshot to a peer the core
 *              asked for (one stream per peer at a time); a failed stream
 *              tells the core `unreachable`
 *   installer  follower: install a received, verified snapshot in the store
 *              (one at a time, in arrival order), and only then hand the core
 *              its InstallSnapshot message (Raft §7: the core never believes
 *              in a snapshot that is not durable)
 */
import type { Index, Message, RaftEvent, ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import type { PeerTransport, ReceivedSnapshot } from '../transport/types.ts';
import type { RuntimeLogger, RuntimeStore } from './ports.ts';

interface SnapshotDeps {
  readonly store: RuntimeStore<unknown>;
  /** Hand an event to the core (the runtime stops itself if the core fails). */
  readonly send: (event: RaftEvent) => void;
  readonly log: Pick<RuntimeLogger, 'info' | 'warn' | 'error'>;
  readonly stopping: () => boolean;
}

export interface SnapshotScheduler {
  /** After an applied batch: start a snapshot if `snapshotEvery` entries lie past the last one and none is running. */
  afterApply(appliedIndex: Index): void;
  /** A received snapshot was installed: count from its index. */
  installed(index: Index): void;
  /** Resolves once no snapshot is being taken (stop). */
  idle(): Promise<void>;
}

export function createSnapshotScheduler(deps: SnapshotDeps & { readonly snapshotEvery: number }): SnapshotScheduler {
  const { store, log } = deps;
  let running: Promise<void> | null = null;
  let lastSnapshotIndex = store.status().snapshotIndex;

  const take = async (): Promise<void> => {
    try {
      const stored = await store.createSnapshot();
      lastSnapshotIndex = stored.meta.index;
      // The core may now drop entries up to the snapshot; storage drops them from disk after the core knows.
      deps.send({ type: 'compacted', meta: stored.meta });
      await store.compact(stored.meta.index);
      log.info({ index: stored.meta.index, bytes: stored.bytes }, 'snapshot taken, log compacted');
    } catch (error) {
      log.error({ err: error }, 'snapshot failed; will retry after more entries');
      lastSnapshotIndex = store.status().appliedIndex;
    } finally {
      running = null;
    }
  };

  return {
    afterApply(appliedIndex) {
      if (running || deps.stopping() || appliedIndex - lastSnapshotIndex < deps.snapshotEvery) return;
      running = take();
    },
    installed(index) {
      lastSnapshotIndex = Math.max(lastSnapshotIndex, index);
    },
    async idle() {
      await running;
    },
  };
}

export interface SnapshotSender {
  /** The core asked to send `to` a snapshot (it wants at least `wanted`): stream the store's latest, unless one already runs. */
  send(to: ReplicaId, wanted: SnapshotMeta): void;
}

/**
 * After a failed stream, wait this long before telling the core `unreachable` (it asks again at once): a peer
 * that is down fails a stream immediately (NATS "no responders"), and without a pause the retry is a busy loop
 * (found by the simulation). Long enough for a few retries per election timeout, not hundreds.
 */
export const SNAPSHOT_RETRY_PAUSE_MS = 100;

export function createSnapshotSender(
  deps: SnapshotDeps & { readonly transport: PeerTransport; readonly term: () => Term; readonly sleep: (ms: number) => Promise<void> },
): SnapshotSender {
  const { store, transport, log } = deps;
  const streamingTo = new Set<ReplicaId>();

  /** One stream; true when it failed (the core must hear `unreachable`). */
  const streamOnce = async (to: ReplicaId, wanted: SnapshotMeta): Promise<boolean> => {
    const stream = await store.openSnapshot().catch((error: unknown) => {
      log.error({ err: error }, 'cannot open the local snapshot');
      return null;
    });
    if (!stream) {
      log.warn({ to, index: wanted.index }, 'asked to send a snapshot but none is stored');
      return true;
    }
    try {
      // The receiving runtime installs it, then hands InstallSnapshot to its own core (the installer).
      const counted = { bytes: 0 };
      await transport.streamSnapshot(to, stream.meta, countBytes(stream.chunks(), counted), deps.term());
      // Only its install is left: the core need not wait out the whole stream allowance for the answer (limits.ts).
      deps.send({ type: 'snapshotDelivered', peer: to, bytes: counted.bytes });
      return false;
    } catch (error) {
      log.warn({ to, err: error }, 'snapshot stream failed');
      return true;
    } finally {
      await stream.close().catch(() => undefined);
    }
  };

  return {
    send(to, wanted) {
      // One stream per peer at a time: the core may ask again (e.g. on a heartbeat) while one is running.
      if (streamingTo.has(to) || deps.stopping()) return;
      streamingTo.add(to);
      void streamOnce(to, wanted).then(async (failed) => {
        if (failed) await deps.sleep(SNAPSHOT_RETRY_PAUSE_MS);
        streamingTo.delete(to);
        // Only now: the core answers `unreachable` by asking for the snapshot again at once, and that
        // request must find the peer free, or it is dropped and the core waits forever (found by the simulation).
        if (failed) deps.send({ type: 'unreachable', peer: to });
      });
    },
  };
}

export interface SnapshotInstaller {
  /** A verified snapshot arrived from `received.from`. */
  receive(received: ReceivedSnapshot): void;
  /** Resolves once every queued install finished (stop). */
  idle(): Promise<void>;
}

export function createSnapshotInstaller(
  deps: SnapshotDeps & {
    readonly id: ReplicaId;
    readonly installed: (index: Index) => void;
    /** Shared with the apply stage: an install never lands in the middle of an apply batch. */
    readonly exclusive: <T>(run: () => Promise<T>) => Promise<T>;
  },
): SnapshotInstaller {
  const { store, log } = deps;
  let installing: Promise<void> = Promise.resolve();

  const install = async (received: ReceivedSnapshot): Promise<void> => {
    if (deps.stopping()) {
      await received.release();
      return;
    }
    try {
      await deps.exclusive(async () => {
        if (received.meta.index <= store.status().appliedIndex) return;
        await store.installSnapshot(received.meta, received.content === undefined ? received.filePath : oneChunk(received.content));
        deps.installed(received.meta.index);
        log.info({ from: received.from, index: received.meta.index, bytes: received.bytes }, 'installed snapshot from leader');
      });
    } catch (error) {
      log.error({ err: error, from: received.from }, 'could not install a received snapshot');
      return;
    } finally {
      // The transport owns the received file again; storage copied what it keeps.
      await received.release();
    }
    // Raft §7: the core learns the snapshot only once it is durably in the store.
    const message: Message = { type: 'InstallSnapshot', from: received.from, to: deps.id, term: received.term, snapshot: received.meta };
    deps.send({ type: 'message', message });
  };

  return {
    receive(received) {
      // One install at a time, in arrival order.
      installing = installing.then(async () => await install(received));
    },
    async idle() {
      await installing.catch(() => undefined);
    },
  };
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function* countBytes(chunks: AsyncIterable<Uint8Array>, counted: { bytes: number }): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    counted.bytes += chunk.byteLength;
    yield chunk;
  }
}
