/**
 * The peer transport the replica runtime talks through: implemented over NATS
 * (nats-peer-transport.ts) and by the simulated network for tests.
 *
 * Raft messages are fire and forget, at most once: the core's own retries
 * (heartbeats, re-sent appends, re-requested votes) make losses safe. Snapshot
 * bytes are the exception: they travel as a checksummed, acknowledged stream,
 * and the receiver hands them on only once every byte is verified.
 */
import type { Message, ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';

export interface PeerTransport {
  /** This replica's id: incoming messages not addressed to it are dropped. */
  readonly id: ReplicaId;
  /** Fire and forget, at most once. Never throws: a message that cannot go is dropped and counted. */
  send(message: Message): void;
  /** Every valid incoming message, in arrival order. Returns an unsubscribe function. */
  onMessage(handler: (message: Message) => void): () => void;
  /**
   * Streams a snapshot's bytes to `to`. Resolves once the peer has verified
   * every chunk and the whole file; rejects with `SnapshotStreamError` when the
   * stream fails (peer unreachable, a chunk refused, timeouts), after which
   * the peer has discarded what it received.
   */
  streamSnapshot(to: ReplicaId, meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>, term: Term): Promise<void>;
  /** Called once per received, verified snapshot. Returns an unsubscribe function. */
  onSnapshot(handler: (snapshot: ReceivedSnapshot) => void): () => void;
  /** Counters for the status view and tests. */
  stats(): TransportStats;
  /** Stops receiving, abandons inbound streams (deleting their temp files) and fails outbound ones. */
  close(): Promise<void>;
}

/** A snapshot file that arrived whole and verified. The receiver (runtime) owns it until it calls `release`. */
export interface ReceivedSnapshot {
  readonly from: ReplicaId;
  /** The sender's term when it streamed. */
  readonly term: Term;
  readonly meta: SnapshotMeta;
  /** A complete, fsynced file in the transport's snapshot directory; '' when `content` holds the bytes instead. */
  readonly filePath: string;
  /** In-memory transports (the simulation): the verified bytes themselves, no file. */
  readonly content?: Uint8Array;
  readonly bytes: number;
  /** Hex sha256 of the whole file, as verified. */
  readonly sha256: string;
  /** The receiver is done with it (installed or refused): the transport deletes the file. Never rejects. */
  release(): Promise<void>;
}

/** Why incoming bytes were dropped. */
export type DropReason = 'oversized' | 'undecodable' | 'invalid' | 'wrong_recipient' | 'wrong_subject' | 'handler_threw';

export interface TransportStats {
  readonly sent: number;
  /** Messages that could not be published (closed connection, payload too big). */
  readonly sendFailures: number;
  readonly received: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly snapshotsSent: number;
  readonly snapshotsReceived: number;
  readonly snapshotsFailed: number;
}

/** The subset of a pino logger the transport uses (pino's `(obj, msg)` form). */
export interface TransportLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything: the default when none is given. */
export const silentLogger: TransportLogger = Object.freeze({ info: () => undefined, warn: () => undefined, error: () => undefined });
