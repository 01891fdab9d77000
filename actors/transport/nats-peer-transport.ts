/**
 * The peer transport over plain NATS core subjects (no JetStream).
 *
 * Raft messages: MessagePack on `<prefix>.raft.<to>.<type>`, published fire
 * and forget. Every incoming message is size-checked, decoded with bounded
 * lengths and validated against the core's contract before any handler sees
 * it; whatever fails is dropped, counted and logged (rate-limited). Nothing a
 * peer sends can throw into the core or crash the process.
 *
 * Snapshots: request/reply frames on `<prefix>.raft.<to>.snapshot`
 * (snapshot-sender.ts, snapshot-receiver.ts).
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { Message, ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import { DEFAULT_MAX_PEER_MESSAGE_BYTES, DEFAULT_SNAPSHOT_CHUNK_BYTES } from '../../config/defaults.ts';
import { MessageDecoder, MessageEncoder } from './codec.ts';
import { SnapshotStreamError } from './errors.ts';
import type { NatsLink } from './nats-connection.ts';
import { RateLimitedLog } from './rate-limited-log.ts';
import { encodeReply, SnapshotFrameSchema, type SnapshotReply } from './snapshot-frames.ts';
import { SnapshotReceiver } from './snapshot-receiver.ts';
import { sendSnapshot } from './snapshot-sender.ts';
import { kindOf, raftInbox, raftSubject, SNAPSHOT_KIND } from './subjects.ts';
import { silentLogger, type DropReason, type PeerTransport, type ReceivedSnapshot, type TransportLogger, type TransportStats } from './types.ts';

/** Framing a snapshot chunk adds (msgpack keys, stream id, sha256), with room to spare. */
const CHUNK_FRAME_OVERHEAD_BYTES = 512;

export interface NatsPeerTransportOptions {
  /** The replica's connection; the transport does not close it. */
  readonly link: NatsLink;
  readonly id: ReplicaId;
  readonly prefix: string;
  /** Where received snapshots are written (temp files, then the verified file). */
  readonly snapshotDir: string;
  /** Incoming messages over this size are dropped unread (config `limits.maxPeerMessageBytes`). */
  readonly maxMessageBytes?: number;
  /** Outgoing snapshot chunks are at most this big (config `limits.snapshotChunkBytes`). */
  readonly snapshotChunkBytes?: number;
  readonly logger?: TransportLogger;
}

export class NatsPeerTransport implements PeerTransport {
  readonly id: ReplicaId;
  readonly #link: NatsLink;
  readonly #prefix: string;
  readonly #maxMessageBytes: number;
  readonly #chunkBytes: number;
  readonly #logger: TransportLogger;
  readonly #dropLog: RateLimitedLog;
  readonly #decoder: MessageDecoder;
  readonly #encoder = new MessageEncoder();
  readonly #receiver: SnapshotReceiver;
  readonly #messageHandlers = new Set<(message: Message) => void>();
  readonly #snapshotHandlers = new Set<(snapshot: ReceivedSnapshot) => void>();
  readonly #closing = new AbortController();
  #subscription: Subscription | null = null;
  readonly #counters = {
    sent: 0,
    sendFailures: 0,
    received: 0,
    snapshotsSent: 0,
    snapshotsReceived: 0,
    snapshotsFailed: 0,
  };
  readonly #dropped: Record<DropReason, number> = { oversized: 0, undecodable: 0, invalid: 0, wrong_recipient: 0, wrong_subject: 0, handler_threw: 0 };

  /** Prepares the snapshot directory, subscribes to this replica's inbox and waits until the server has the subscription. */
  static async start(options: NatsPeerTransportOptions): Promise<NatsPeerTransport> {
    await SnapshotReceiver.prepare(options.snapshotDir);
    const transport = new NatsPeerTransport(options);
    transport.#subscription = options.link.nc.subscribe(raftInbox(options.prefix, options.id), {
      callback: (err, msg) => {
        if (err === null) transport.#onNatsMessage(msg);
      },
    });
    await options.link.nc.flush();
    return transport;
  }

  private constructor(options: NatsPeerTransportOptions) {
    this.id = options.id;
    this.#link = options.link;
    this.#prefix = options.prefix;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_PEER_MESSAGE_BYTES;
    this.#chunkBytes = options.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES;
    if (this.#chunkBytes + CHUNK_FRAME_OVERHEAD_BYTES > this.#maxMessageBytes) {
      throw new RangeError(`snapshotChunkBytes ${this.#chunkBytes} plus framing does not fit in maxMessageBytes ${this.#maxMessageBytes}`);
    }
    this.#logger = options.logger ?? silentLogger;
    this.#dropLog = new RateLimitedLog(this.#logger);
    this.#decoder = new MessageDecoder(this.#maxMessageBytes);
    this.#receiver = new SnapshotReceiver({
      id: this.id,
      dir: options.snapshotDir,
      maxChunkBytes: this.#chunkBytes,
      logger: this.#logger,
      onComplete: (snapshot) => this.#deliverSnapshot(snapshot),
      onFailed: () => void this.#counters.snapshotsFailed++,
    });
  }

  send(message: Message): void {
    if (this.#closing.signal.aborted) return;
    // NATS core would buffer while reconnecting; Raft messages that old are useless, so drop them now (at most once).
    if (this.#link.status !== 'connected') {
      this.#counters.sendFailures++;
      return;
    }
    try {
      this.#link.nc.publish(raftSubject(this.#prefix, message.to, message.type), this.#encoder.encode(message));
      this.#counters.sent++;
    } catch (err) {
      this.#counters.sendFailures++;
      this.#dropLog.warn('send', { to: message.to, type: message.type, error: (err as Error).message }, 'could not publish a Raft message; dropped (Raft retries)');
    }
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
    if (this.#closing.signal.aborted) throw new SnapshotStreamError(to, 'the transport is closed');
    try {
      const result = await sendSnapshot({
        nc: this.#link.nc,
        subject: raftSubject(this.#prefix, to, SNAPSHOT_KIND),
        from: this.id,
        to,
        term,
        meta,
        chunks,
        maxChunkBytes: this.#chunkBytes,
        signal: this.#closing.signal,
      });
      this.#counters.snapshotsSent++;
      this.#logger.info({ to, index: meta.index, term: meta.term, ...result }, 'snapshot streamed and verified by the peer');
    } catch (err) {
      this.#counters.snapshotsFailed++;
      this.#logger.warn({ to, index: meta.index, error: (err as Error).message }, 'snapshot stream failed');
      throw err;
    }
  }

  stats(): TransportStats {
    return { ...this.#counters, dropped: { ...this.#dropped } };
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#messageHandlers.clear();
    this.#snapshotHandlers.clear();
    try {
      this.#subscription?.unsubscribe();
    } catch {
      // the connection is already closed
    }
    await this.#receiver.close();
  }

  #onNatsMessage(msg: Msg): void {
    if (this.#closing.signal.aborted) return;
    if (msg.data.length > this.#maxMessageBytes) {
      this.#drop('oversized', { subject: msg.subject, bytes: msg.data.length, limit: this.#maxMessageBytes });
      this.#respondIfAsked(msg, { ok: false, error: 'frame over the size limit', fatal: true });
      return;
    }
    const kind = kindOf(msg.subject, this.#prefix, this.id);
    if (kind === SNAPSHOT_KIND) {
      this.#onSnapshotFrame(msg);
      return;
    }
    const decoded = this.#decoder.decode(msg.data);
    if (!decoded.ok) {
      this.#drop(decoded.reason, { subject: msg.subject, bytes: msg.data.length, detail: decoded.detail.slice(0, 500) });
      return;
    }
    const message = decoded.value;
    if (message.type !== kind) {
      this.#drop('wrong_subject', { subject: msg.subject, type: message.type });
      return;
    }
    if (message.to !== this.id) {
      this.#drop('wrong_recipient', { subject: msg.subject, to: message.to });
      return;
    }
    this.#counters.received++;
    for (const handler of this.#messageHandlers) {
      try {
        handler(message);
      } catch (err) {
        this.#drop('handler_threw', { type: message.type, from: message.from, error: (err as Error).message });
      }
    }
  }

  #onSnapshotFrame(msg: Msg): void {
    const raw = this.#decoder.decodeRaw(msg.data);
    const parsed = raw.ok ? SnapshotFrameSchema.safeParse(raw.value) : null;
    if (parsed === null || !parsed.success) {
      this.#drop(raw.ok ? 'invalid' : 'undecodable', { subject: msg.subject, bytes: msg.data.length, what: 'snapshot frame' });
      this.#respondIfAsked(msg, { ok: false, error: 'not a snapshot frame', fatal: true });
      return;
    }
    void this.#receiver.handle(parsed.data).then((reply) => this.#respondIfAsked(msg, reply));
  }

  #respondIfAsked(msg: Msg, reply: SnapshotReply): void {
    if (msg.reply === undefined || msg.reply === '') return;
    try {
      msg.respond(encodeReply(reply));
    } catch {
      // disconnected: the sender times out and retries
    }
  }

  #deliverSnapshot(snapshot: ReceivedSnapshot): void {
    this.#counters.snapshotsReceived++;
    for (const handler of this.#snapshotHandlers) {
      try {
        handler(snapshot);
      } catch (err) {
        this.#logger.error({ from: snapshot.from, error: (err as Error).message }, 'snapshot handler threw');
      }
    }
  }

  #drop(reason: DropReason, fields: object): void {
    this.#dropped[reason]++;
    this.#dropLog.warn(reason, { reason, count: this.#dropped[reason], ...fields }, `dropped a peer message: ${reason.replace('_', ' ')}`);
  }
}
