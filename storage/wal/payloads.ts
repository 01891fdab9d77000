/**
 * The payloads of the log's record types (record.ts frames them). Small
 * records are MessagePack arrays; an entries record is a count followed by
 * each entry's canonical bytes with their length, so that the store can note
 * where on disk each entry's bytes lie and read one entry back without
 * decoding its neighbours.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { HardState, Index, Term } from '../../actors/raft/types.ts';

/** Version of the segment layout; a reader refuses any other. */
export const WAL_FORMAT = 1;

/** Bytes before the first entry of an entries payload (the count), and before each entry (its length). */
export const ENTRIES_COUNT_BYTES = 4;
export const ENTRY_LENGTH_BYTES = 4;

/** A payload does not say what its record type promises. */
export class PayloadError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'PayloadError';
  }
}

export interface SegmentStart {
  readonly format: number;
  readonly sequence: number;
}

/** The compaction point: the log holds no entry at or below `index`; `term` is the term of the entry at `index`. */
export interface Checkpoint {
  readonly hardState: HardState;
  readonly index: Index;
  readonly term: Term;
}

export function encodeSegmentStart(start: SegmentStart): Uint8Array {
  return encode([start.format, start.sequence]);
}

export function decodeSegmentStart(payload: Uint8Array): SegmentStart {
  const [format, sequence] = tuple(payload, 2, 'segment start');
  if (!isCount(format) || !isCount(sequence)) throw new PayloadError('segment start holds no format and sequence');
  return { format, sequence };
}

export function encodeHardState(hardState: HardState): Uint8Array {
  return encode([hardState.term, hardState.votedFor]);
}

export function decodeHardState(payload: Uint8Array): HardState {
  return hardStateOf(tuple(payload, 2, 'hard state'));
}

export function encodeTruncate(from: Index): Uint8Array {
  return encode([from]);
}

export function decodeTruncate(payload: Uint8Array): Index {
  const [from] = tuple(payload, 1, 'truncate');
  if (!isCount(from) || from < 1) throw new PayloadError('truncate holds no index');
  return from;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  return encode([checkpoint.hardState.term, checkpoint.hardState.votedFor, checkpoint.index, checkpoint.term]);
}

export function decodeCheckpoint(payload: Uint8Array): Checkpoint {
  const [term, votedFor, index, indexTerm] = tuple(payload, 4, 'checkpoint');
  if (!isCount(index) || !isCount(indexTerm)) throw new PayloadError('checkpoint holds no index and term');
  return { hardState: hardStateOf([term, votedFor]), index, term: indexTerm };
}

/** The payload of an entries record; `offsets[i]` is where entry i's bytes start inside the payload. */
export function encodeEntries(entries: readonly Uint8Array[]): { payload: Buffer; offsets: number[] } {
  const total = ENTRIES_COUNT_BYTES + entries.reduce((sum, e) => sum + ENTRY_LENGTH_BYTES + e.length, 0);
  const payload = Buffer.alloc(total);
  payload.writeUInt32LE(entries.length, 0);
  const offsets: number[] = [];
  let at = ENTRIES_COUNT_BYTES;
  for (const bytes of entries) {
    payload.writeUInt32LE(bytes.length, at);
    at += ENTRY_LENGTH_BYTES;
    offsets.push(at);
    payload.set(bytes, at);
    at += bytes.length;
  }
  return { payload, offsets };
}

/** Each entry's bytes in an entries payload, with its offset inside the payload. */
export function decodeEntries(payload: Buffer): { bytes: Buffer; offset: number }[] {
  if (payload.length < ENTRIES_COUNT_BYTES) throw new PayloadError('entries record without a count');
  const count = payload.readUInt32LE(0);
  const out: { bytes: Buffer; offset: number }[] = [];
  let at = ENTRIES_COUNT_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + ENTRY_LENGTH_BYTES > payload.length) throw new PayloadError(`entries record ends inside entry ${i} of ${count}`);
    const length = payload.readUInt32LE(at);
    at += ENTRY_LENGTH_BYTES;
    if (at + length > payload.length) throw new PayloadError(`entries record ends inside entry ${i} of ${count}`);
    out.push({ bytes: payload.subarray(at, at + length), offset: at });
    at += length;
  }
  if (at !== payload.length) throw new PayloadError('entries record has bytes after its last entry');
  return out;
}

function tuple(payload: Uint8Array, length: number, what: string): unknown[] {
  let value: unknown;
  try {
    value = decode(payload);
  } catch (err) {
    throw new PayloadError(`${what} is not MessagePack: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.length !== length) throw new PayloadError(`${what} is not a ${length}-element array`);
  return value as unknown[];
}

function hardStateOf([term, votedFor]: unknown[]): HardState {
  if (!isCount(term) || (votedFor !== null && typeof votedFor !== 'string')) throw new PayloadError('hard state holds no term and vote');
  return { term, votedFor };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
