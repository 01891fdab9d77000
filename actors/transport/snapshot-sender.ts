/**
 * The sending side of a snapshot stream: `begin`, then chunks of at most
 * `maxChunkBytes` (each with its sha256) with up to SNAPSHOT_WINDOW awaiting
 * their acknowledgement, then `end` with the whole file's sha256. A frame
 * that gets no answer is retried (same bytes) up to SNAPSHOT_ATTEMPTS times;
 * a refusal the receiver calls fatal ends the stream at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode } from '@msgpack/msgpack';
import type { ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import { SnapshotStreamError } from './errors.ts';
import { encodeFrame, SnapshotReplySchema, type OutgoingFrame } from './snapshot-frames.ts';
import { SNAPSHOT_WINDOW } from './snapshot-receiver.ts';

/** One frame's wait for its acknowledgement; a chunk is small and the receiver only writes it. */
export const SNAPSHOT_REQUEST_TIMEOUT_MS = 5_000;
/** `end` waits longer: the receiver fsyncs the whole file before answering. */
export const SNAPSHOT_END_TIMEOUT_MS = 30_000;
/** Tries per frame before the stream is declared failed (Raft will ask for the snapshot again). */
export const SNAPSHOT_ATTEMPTS = 5;
/** Base wait before a retry, multiplied by the attempt number: rides out a reconnect without hammering. */
export const SNAPSHOT_RETRY_DELAY_MS = 200;

export interface SnapshotSendOptions {
  readonly nc: NatsConnection;
  readonly subject: string;
  readonly from: ReplicaId;
  readonly to: ReplicaId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly maxChunkBytes: number;
  /** Aborted when the transport closes. */
  readonly signal: AbortSignal;
}

export interface SnapshotSendResult {
  readonly chunks: number;
  readonly bytes: number;
  readonly sha256: string;
}

export async function sendSnapshot(o: SnapshotSendOptions): Promise<SnapshotSendResult> {
  const stream = randomBytes(16).toString('hex');
  const request = (bytes: Uint8Array, timeoutMs: number, what: string) => requestWithRetries(o, bytes, timeoutMs, what);
  try {
    await request(encodeFrame({ op: 'begin', stream, from: o.from, to: o.to, term: o.term, meta: o.meta }), SNAPSHOT_REQUEST_TIMEOUT_MS, 'begin');
    const whole = createHash('sha256');
    const inflight = new Set<Promise<void>>();
    // The earliest chunk's failure is the cause; later chunks then fail only because the stream was aborted.
    let failure: { readonly seq: number; readonly error: unknown } | null = null;
    let seq = 0;
    let bytes = 0;
    for await (const data of rechunk(o.chunks, o.maxChunkBytes)) {
      if (failure !== null) break;
      whole.update(data);
      bytes += data.length;
      const frame: OutgoingFrame = { op: 'chunk', stream, seq, data, sha256: createHash('sha256').update(data).digest() };
      // Encoded once: retries resend these exact bytes even if the source reuses its buffers.
      const chunkSeq = seq;
      const p: Promise<void> = request(encodeFrame(frame), SNAPSHOT_REQUEST_TIMEOUT_MS, `chunk ${chunkSeq}`).then(
        () => void inflight.delete(p),
        (error: unknown) => {
          if (failure === null || chunkSeq < failure.seq) failure = { seq: chunkSeq, error };
          inflight.delete(p);
        },
      );
      inflight.add(p);
      seq++;
      if (inflight.size >= SNAPSHOT_WINDOW) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (failure !== null) throw (failure as { readonly error: unknown }).error;
    const sha256 = whole.digest();
    await request(encodeFrame({ op: 'end', stream, chunks: seq, bytes, sha256 }), SNAPSHOT_END_TIMEOUT_MS, 'end');
    return { chunks: seq, bytes, sha256: sha256.toString('hex') };
  } catch (err) {
    // Best effort: tell the receiver to drop its temp file now rather than at its idle timeout.
    try {
      o.nc.publish(o.subject, encodeFrame({ op: 'abort', stream, reason: err instanceof Error ? err.message : String(err) }));
    } catch {
      // the connection is gone; the receiver's idle timeout cleans up
    }
    if (err instanceof SnapshotStreamError) throw err;
    throw new SnapshotStreamError(o.to, `reading the snapshot failed: ${(err as Error).message}`, { cause: err });
  }
}

async function requestWithRetries(o: SnapshotSendOptions, bytes: Uint8Array, timeoutMs: number, what: string): Promise<void> {
  let lastError = 'no attempt made';
  let lastCause: unknown;
  for (let attempt = 1; attempt <= SNAPSHOT_ATTEMPTS; attempt++) {
    if (o.signal.aborted) throw new SnapshotStreamError(o.to, 'the transport closed');
    try {
      const reply = await o.nc.request(o.subject, bytes, { timeout: timeoutMs });
      const parsed = SnapshotReplySchema.safeParse(safeDecode(reply.data));
      if (!parsed.success) throw new SnapshotStreamError(o.to, `${what}: the receiver's reply is not a snapshot reply`);
      if (parsed.data.ok) return;
      if (parsed.data.fatal) throw new SnapshotStreamError(o.to, `${what} refused: ${parsed.data.error}`);
      lastError = parsed.data.error;
    } catch (err) {
      if (err instanceof SnapshotStreamError) throw err;
      lastError = (err as Error).message;
      lastCause = err;
    }
    if (attempt < SNAPSHOT_ATTEMPTS) await delay(SNAPSHOT_RETRY_DELAY_MS * attempt, o.signal);
  }
  throw new SnapshotStreamError(o.to, `${what}: no acknowledgement after ${SNAPSHOT_ATTEMPTS} attempts (last: ${lastError})`, { cause: lastCause });
}

/** Re-slices the source so no chunk exceeds `max` bytes; empty chunks are skipped. */
async function* rechunk(source: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += max) yield chunk.subarray(at, Math.min(at + max, chunk.length));
  }
}

function safeDecode(bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
