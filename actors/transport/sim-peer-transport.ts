/**
 * `PeerTransport` over the simulated network: a replica under test talks to
 * its peers through seeded drop, duplication, delay and partitions instead of
 * NATS. Build one `SimulatedNetwork<PeerWire>` (with `REAL_TIME` for real
 * replicas) and one transport per replica on it; cut links on the network.
 *
 * Snapshots travel as one in-memory message (a stream is all or nothing): the
 * receiver writes the bytes to a file in its snapshot directory, verifies the
 * sha256 the sender computed, hands it on, and only then acknowledges; a lost
 * stream rejects the sender's promise with `SnapshotStreamError`.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Message, ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import { SnapshotStreamError } from './errors.ts';
import type { SimulatedNetwork } from './simulated.ts';
import type { DropReason, PeerTransport, ReceivedSnapshot, TransportStats } from './types.ts';

/** What crosses the simulated network between two SimulatedPeerTransports. */
export type PeerWire =
  | { readonly kind: 'message'; readonly message: Message }
  | {
      readonly kind: 'snapshot';
      readonly streamId: string;
      readonly meta: SnapshotMeta;
      readonly term: Term;
      readonly bytes: Uint8Array;
      readonly sha256: string;
      /** The receiver's verdict, back to the sender (in memory: no return trip is simulated). */
      readonly settle: (error: Error | null) => void;
    };

/** Largest snapshot one simulated stream carries: it is held in memory whole. */
export const MAX_SIMULATED_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export interface SimulatedPeerTransportOptions {
  readonly network: SimulatedNetwork<PeerWire>;
  readonly id: ReplicaId;
  /** Where received snapshot files are written (created if missing); without one, received bytes stay in memory (`content`). */
  readonly snapshotDir?: string;
}

export class SimulatedPeerTransport implements PeerTransport {
  readonly id: ReplicaId;
  readonly #network: SimulatedNetwork<PeerWire>;
  readonly #snapshotDir: string | undefined;
  readonly #messageHandlers = new Set<(message: Message) => void>();
  readonly #snapshotHandlers = new Set<(snapshot: ReceivedSnapshot) => void>();
  /** Outbound streams not yet settled: failed on close. */
  readonly #outbound = new Map<string, (error: Error | null) => void>();
  /** Stream ids already received (the network may duplicate a stream). */
  readonly #seenStreams = new Set<string>();
  #streamCounter = 0;
  #closed = false;
  readonly #stats = {
    sent: 0,
    sendFailures: 0,
    received: 0,
    dropped: { oversized: 0, undecodable: 0, invalid: 0, wrong_recipient: 0, wrong_subject: 0, handler_threw: 0 } as Record<DropReason, number>,
    snapshotsSent: 0,
    snapshotsReceived: 0,
    snapshotsFailed: 0,
  };

  constructor(options: SimulatedPeerTransportOptions) {
    this.id = options.id;
    this.#network = options.network;
    this.#snapshotDir = options.snapshotDir;
    this.#network.attach(this.id, (wire, from) => this.#receive(wire, from));
  }

  send(message: Message): void {
    if (this.#closed || message.from !== this.id) {
      this.#stats.sendFailures++;
      return;
    }
    this.#stats.sent++;
    this.#network.send(this.id, message.to, { kind: 'message', message });
  }

  onMessage(handler: (message: Message) => void): () => void {
    this.#messageHandlers.add(handler);
    return () => this.#messageHandlers.delete(handler);
  }

  onSnapshot(handler: (snapshot: ReceivedSnapshot) => void): () => void {
    this.#snapshotHandlers.add(handler);
    return () => this.#snapshotHandlers.delete(handler);
  }

  async streamSnapshot(to: ReplicaId, meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>, term: Term): Promise<void> {
    if (this.#closed) throw new SnapshotStreamError(to, 'the transport is closed');
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of chunks) {
      total += chunk.byteLength;
      if (total > MAX_SIMULATED_SNAPSHOT_BYTES) {
        this.#stats.snapshotsFailed++;
        throw new SnapshotStreamError(to, `snapshot exceeds ${MAX_SIMULATED_SNAPSHOT_BYTES} bytes`);
      }
      parts.push(chunk);
    }
    const bytes = Buffer.concat(parts);
    // Unique across this replica's incarnations too: a restarted sender's counter starts again at 1, and a
    // receiver that outlived it would take "r3-1" for a duplicate and drop it unanswered (found by the simulation:
    // the leader then waited for a snapshot answer that never came). The network's send count never repeats.
    const streamId = `${this.id}-${this.#network.stats.sent}-${++this.#streamCounter}`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await new Promise<void>((resolve, reject) => {
      const settle = (error: Error | null): void => {
        if (!this.#outbound.delete(streamId)) return; // already settled (a duplicate, or closed)
        if (error === null) {
          this.#stats.snapshotsSent++;
          resolve();
        } else {
          this.#stats.snapshotsFailed++;
          reject(error instanceof SnapshotStreamError ? error : new SnapshotStreamError(to, error.message, { cause: error }));
        }
      };
      this.#outbound.set(streamId, settle);
      this.#network.send(this.id, to, { kind: 'snapshot', streamId, meta, term, bytes, sha256, settle }, () =>
        settle(new SnapshotStreamError(to, 'the stream was lost (peer unreachable or down)')),
      );
    });
  }

  stats(): TransportStats {
    return { ...this.#stats, dropped: { ...this.#stats.dropped } };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#network.detach(this.id);
    this.#messageHandlers.clear();
    this.#snapshotHandlers.clear();
    for (const settle of [...this.#outbound.values()]) settle(new Error('the transport closed'));
  }

  #receive(wire: PeerWire, from: ReplicaId): void {
    if (this.#closed) return;
    if (wire.kind === 'message') {
      if (wire.message.to !== this.id || wire.message.from !== from) {
        this.#stats.dropped.wrong_recipient++;
        return;
      }
      this.#stats.received++;
      for (const handler of this.#messageHandlers) {
        try {
          handler(wire.message);
        } catch {
          this.#stats.dropped.handler_threw++;
        }
      }
      return;
    }
    if (this.#seenStreams.has(wire.streamId)) return;
    this.#seenStreams.add(wire.streamId);
    void this.#receiveSnapshot(wire, from);
  }

  async #receiveSnapshot(wire: Extract<PeerWire, { kind: 'snapshot' }>, from: ReplicaId): Promise<void> {
    const dir = this.#snapshotDir;
    const filePath = dir === undefined ? '' : join(dir, `snapshot-${wire.meta.index}-${wire.meta.term}-${wire.streamId}.bin`);
    try {
      const sha256 = createHash('sha256').update(wire.bytes).digest('hex');
      if (sha256 !== wire.sha256) throw new SnapshotStreamError(this.id, `checksum mismatch from ${from}`);
      if (dir !== undefined) {
        await mkdir(dir, { recursive: true });
        await writeFile(filePath, wire.bytes, { flush: true });
      }
      if (this.#closed) throw new SnapshotStreamError(this.id, 'the receiver closed');
      this.#stats.snapshotsReceived++;
      const release = async (): Promise<void> => {
        if (dir !== undefined) await rm(filePath, { force: true }).catch(() => undefined);
      };
      const received: ReceivedSnapshot = { from, term: wire.term, meta: wire.meta, filePath, bytes: wire.bytes.byteLength, sha256, release, ...(dir === undefined ? { content: wire.bytes } : {}) };
      for (const handler of this.#snapshotHandlers) {
        try {
          handler(received);
        } catch {
          this.#stats.dropped.handler_threw++;
        }
      }
      wire.settle(null);
    } catch (error) {
      if (dir !== undefined) await rm(filePath, { force: true });
      wire.settle(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
