/**
 * The receiving side of snapshot streams: verifies each chunk's sha256,
 * writes chunks in order to a temp file in the snapshot directory, verifies
 * the whole file's sha256 at `end`, fsyncs, renames, and only then hands the
 * file on. Anything wrong aborts the stream: the temp file is deleted and one
 * clear log line says why.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import type { SnapshotFrame, SnapshotReply } from './snapshot-frames.ts';
import type { ReceivedSnapshot, TransportLogger } from './types.ts';

/** Chunks a sender may have in flight; the receiver buffers at most this many ahead of the next one it writes. */
export const SNAPSHOT_WINDOW = 4;
/** A stream that hears nothing for this long is abandoned: longer than a sender's full retry cycle for one frame. */
export const SNAPSHOT_IDLE_TIMEOUT_MS = 60_000;
/** Inbound streams at once: one per leader is normal; two covers a leader change mid-stream. */
export const MAX_INBOUND_STREAMS = 2;
/** A snapshot larger than this is refused: it bounds the disk a runaway sender can fill. */
export const MAX_SNAPSHOT_BYTES = 4 * 1024 ** 3;
/** Completed stream ids remembered so a retried `end` is acknowledged again, not refused. */
const COMPLETED_STREAMS_REMEMBERED = 16;

const PART_PREFIX = 'incoming-';
const PART_SUFFIX = '.part';
const DONE_PREFIX = 'snapshot-';
const DONE_SUFFIX = '.snap';

export interface SnapshotReceiverOptions {
  readonly id: ReplicaId;
  readonly dir: string;
  readonly maxChunkBytes: number;
  readonly logger: TransportLogger;
  readonly onComplete: (snapshot: ReceivedSnapshot) => void;
  readonly onFailed: () => void;
}

interface InboundStream {
  readonly stream: string;
  readonly from: ReplicaId;
  readonly term: Term;
  readonly meta: SnapshotMeta;
  readonly tmpPath: string;
  readonly file: Promise<FileHandle>;
  readonly hash: Hash;
  readonly pending: Map<number, Uint8Array>;
  nextSeq: number;
  bytes: number;
  /** Frames of one stream are handled one at a time, in arrival order. */
  chain: Promise<unknown>;
  idle: NodeJS.Timeout;
  aborted: boolean;
}

export class SnapshotReceiver {
  readonly #options: SnapshotReceiverOptions;
  readonly #streams = new Map<string, InboundStream>();
  readonly #completed: string[] = [];

  constructor(options: SnapshotReceiverOptions) {
    this.#options = options;
  }

  /**
   * Creates the directory and deletes what a crash left behind: temp files,
   * and received snapshots never installed (the leader sends them again).
   * Other files are left alone.
   */
  static async prepare(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      const ours = (name.startsWith(PART_PREFIX) && name.endsWith(PART_SUFFIX)) || (name.startsWith(DONE_PREFIX) && name.endsWith(DONE_SUFFIX));
      if (ours) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  /** Answers one frame. Never throws. */
  handle(frame: SnapshotFrame): Promise<SnapshotReply> {
    if (frame.op === 'begin') return Promise.resolve(this.#begin(frame));
    const s = this.#streams.get(frame.stream);
    if (s === undefined) {
      if (this.#completed.includes(frame.stream)) return Promise.resolve({ ok: true });
      if (frame.op === 'abort') return Promise.resolve({ ok: true });
      return Promise.resolve(fatal(`unknown stream ${frame.stream} (never begun, timed out or aborted)`));
    }
    this.#touch(s);
    const next = s.chain.then(async (): Promise<SnapshotReply> => {
      if (s.aborted) return fatal('stream was aborted');
      try {
        if (frame.op === 'chunk') return await this.#chunk(s, frame);
        if (frame.op === 'end') return await this.#end(s, frame);
        await this.#abort(s, 'info', `snapshot stream from ${s.from} aborted by the sender: ${frame.reason}`);
        return { ok: true };
      } catch (err) {
        await this.#abort(s, 'error', `snapshot stream from ${s.from} failed on the receiver: ${(err as Error).message}`);
        return fatal(`receiver error: ${(err as Error).message}`);
      }
    });
    s.chain = next;
    return next;
  }

  /** Abandons every inbound stream, deleting its temp file. */
  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((s) => this.#abort(s, 'info', `snapshot stream from ${s.from} abandoned: transport closing`)));
  }

  #begin(frame: Extract<SnapshotFrame, { op: 'begin' }>): SnapshotReply {
    if (frame.to !== this.#options.id) return fatal(`this is ${this.#options.id}, not ${frame.to}`);
    if (this.#streams.has(frame.stream) || this.#completed.includes(frame.stream)) return { ok: true };
    for (const other of this.#streams.values()) {
      if (other.from === frame.from) void this.#abort(other, 'info', `snapshot stream from ${other.from} replaced by a newer one`);
    }
    if (this.#streams.size >= MAX_INBOUND_STREAMS) return { ok: false, error: 'receiver busy with other snapshot streams', fatal: false };
    const tmpPath = join(this.#options.dir, `${PART_PREFIX}${frame.from}-${frame.stream}${PART_SUFFIX}`);
    const file = open(tmpPath, 'wx');
    file.catch(() => undefined); // a failure surfaces on the first chunk's write, which aborts the stream
    const s: InboundStream = {
      stream: frame.stream,
      from: frame.from,
      term: frame.term,
      meta: frame.meta,
      tmpPath,
      file,
      hash: createHash('sha256'),
      pending: new Map(),
      nextSeq: 0,
      bytes: 0,
      chain: file.then(
        () => undefined,
        () => undefined,
      ),
      idle: setTimeout(() => undefined, 0),
      aborted: false,
    };
    this.#streams.set(frame.stream, s);
    this.#touch(s);
    return { ok: true };
  }

  async #chunk(s: InboundStream, frame: Extract<SnapshotFrame, { op: 'chunk' }>): Promise<SnapshotReply> {
    if (frame.data.length > this.#options.maxChunkBytes) {
      await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: chunk ${frame.seq} is ${frame.data.length} bytes, over the ${this.#options.maxChunkBytes}-byte limit`);
      return fatal(`chunk ${frame.seq} is over the chunk size limit`);
    }
    const actual = createHash('sha256').update(frame.data).digest();
    if (!actual.equals(frame.sha256)) {
      await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: chunk ${frame.seq} failed its sha256 check (got ${actual.toString('hex')}, expected ${Buffer.from(frame.sha256).toString('hex')})`);
      return fatal(`chunk ${frame.seq} failed its sha256 check`);
    }
    if (frame.seq < s.nextSeq || s.pending.has(frame.seq)) return { ok: true }; // a retry of a chunk we already hold
    if (frame.seq >= s.nextSeq + SNAPSHOT_WINDOW) {
      await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: chunk ${frame.seq} is beyond the window (next is ${s.nextSeq})`);
      return fatal(`chunk ${frame.seq} is beyond the window of ${SNAPSHOT_WINDOW}`);
    }
    s.pending.set(frame.seq, frame.data);
    const file = await s.file;
    for (let data = s.pending.get(s.nextSeq); data !== undefined; data = s.pending.get(s.nextSeq)) {
      if (s.bytes + data.length > MAX_SNAPSHOT_BYTES) {
        await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: over ${MAX_SNAPSHOT_BYTES} bytes`);
        return fatal('snapshot is over the size limit');
      }
      await file.write(data);
      if (s.aborted) return fatal('stream was aborted');
      s.hash.update(data);
      s.bytes += data.length;
      s.pending.delete(s.nextSeq);
      s.nextSeq++;
    }
    return { ok: true };
  }

  async #end(s: InboundStream, frame: Extract<SnapshotFrame, { op: 'end' }>): Promise<SnapshotReply> {
    if (s.nextSeq !== frame.chunks || s.pending.size > 0 || s.bytes !== frame.bytes) {
      await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: ended with ${s.nextSeq} chunks / ${s.bytes} bytes written, sender says ${frame.chunks} / ${frame.bytes}`);
      return fatal('chunks are missing');
    }
    const whole = s.hash.digest();
    if (!whole.equals(frame.sha256)) {
      await this.#abort(s, 'warn', `snapshot stream from ${s.from} aborted: the whole file failed its sha256 check (got ${whole.toString('hex')}, expected ${Buffer.from(frame.sha256).toString('hex')})`);
      return fatal('the whole file failed its sha256 check');
    }
    const file = await s.file;
    await file.sync();
    await file.close();
    const filePath = join(this.#options.dir, `${DONE_PREFIX}${s.from}-${s.meta.index}-${s.meta.term}-${s.stream}${DONE_SUFFIX}`);
    await rename(s.tmpPath, filePath);
    clearTimeout(s.idle);
    this.#streams.delete(s.stream);
    this.#completed.push(s.stream);
    if (this.#completed.length > COMPLETED_STREAMS_REMEMBERED) this.#completed.shift();
    const release = async (): Promise<void> => await rm(filePath, { force: true }).catch(() => undefined);
    const received: ReceivedSnapshot = { from: s.from, term: s.term, meta: s.meta, filePath, bytes: s.bytes, sha256: whole.toString('hex'), release };
    this.#options.logger.info({ from: s.from, index: s.meta.index, term: s.meta.term, bytes: s.bytes, chunks: s.nextSeq }, 'snapshot received and verified');
    this.#options.onComplete(received);
    return { ok: true };
  }

  #touch(s: InboundStream): void {
    clearTimeout(s.idle);
    s.idle = setTimeout(() => void this.#abort(s, 'warn', `snapshot stream from ${s.from} abandoned: nothing heard for ${SNAPSHOT_IDLE_TIMEOUT_MS} ms`), SNAPSHOT_IDLE_TIMEOUT_MS);
    s.idle.unref();
  }

  async #abort(s: InboundStream, level: 'info' | 'warn' | 'error', why: string): Promise<void> {
    if (s.aborted) return;
    s.aborted = true;
    clearTimeout(s.idle);
    this.#streams.delete(s.stream);
    this.#options.logger[level]({ from: s.from, stream: s.stream, index: s.meta.index, bytesWritten: s.bytes }, why);
    this.#options.onFailed();
    try {
      await (await s.file).close();
    } catch {
      // never opened, or already closed
    }
    await unlink(s.tmpPath).catch(() => undefined);
  }
}

function fatal(error: string): SnapshotReply {
  return { ok: false, error, fatal: true };
}
