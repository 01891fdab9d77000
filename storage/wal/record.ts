/**
 * The framing of one record in a log segment, and the scan that finds the
 * records of a segment's bytes and tells a torn tail from damage.
 *
 *   offset  size  field
 *   0       4     payload length (u32 LE)
 *   4       1     record type (RecordType)
 *   5       3     zero
 *   8       4     CRC-32 of the payload (u32 LE)
 *   12      4     CRC-32 of bytes 0..11 (u32 LE)
 *   16      n     payload
 *
 * The header has its own checksum so that a length field can be trusted
 * before the payload is read: a damaged length never makes the scan skip
 * over, or run past, the records after it.
 */
import { crc32 } from 'node:zlib';
import { WAL_MAX_RECORD_BYTES, WAL_SECTOR_BYTES } from '../limits.ts';

/** Bytes of a record's header. */
export const RECORD_HEADER_BYTES = 16;
/** Bytes compared with zeros at a time when checking that a tail never landed (isZero). */
const ZERO_CHECK_CHUNK_BYTES = 64 * 1024;

/** The kinds of record (storage/wal/payloads.ts holds their payloads). The values are on disk: never renumber. */
export const RecordType = {
  /** First record of every segment: format version and the segment's sequence number. */
  segmentStart: 1,
  /** Log entries, in their canonical bytes (entry-codec.ts), contiguous. */
  entries: 2,
  /** Raft Figure 2's currentTerm and votedFor. */
  hardState: 3,
  /** Entries from this index on are removed (a follower's conflicting suffix, Raft §5.3). */
  truncate: 4,
  /** The log restarts here: hard state and the compaction point (snapshot index and term); entries follow in later records. */
  checkpoint: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(RecordType));

/** One record found in a segment. */
export interface ScannedRecord {
  readonly type: RecordType;
  readonly payload: Buffer;
  /** Offset of the record's header in the segment. */
  readonly offset: number;
}

/** What a scan of one segment's bytes found. */
export interface SegmentScan {
  readonly records: readonly ScannedRecord[];
  /** Where the valid records end. */
  readonly validBytes: number;
  /**
   * Set when the bytes after validBytes are a torn write (only ever in the
   * last segment): why. Null when there are none, or when they are all zero:
   * space preallocated for records not yet written (segment-log.ts), where
   * the next record goes.
   */
  readonly torn: string | null;
}

/** The bytes after the last good record are damage, not a torn write. */
export class RecordDamage extends Error {
  readonly offset: number;
  constructor(offset: number, detail: string) {
    super(`bad record at byte ${offset}: ${detail}`);
    this.name = 'RecordDamage';
    this.offset = offset;
  }
}

/** The bytes of one record. */
export function encodeRecord(type: RecordType, payload: Uint8Array): Buffer {
  if (payload.length > WAL_MAX_RECORD_BYTES) throw new RangeError(`record payload of ${payload.length} bytes exceeds ${WAL_MAX_RECORD_BYTES}`);
  const record = Buffer.alloc(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt8(type, 4);
  record.writeUInt32LE(crc32(payload), 8);
  record.writeUInt32LE(crc32(record.subarray(0, 12)), 12);
  record.set(payload, RECORD_HEADER_BYTES);
  return record;
}

/**
 * Every record of `bytes`, in order. In a segment that is not the last one,
 * any bad byte is damage (RecordDamage): it was complete and synced before the
 * next segment was created. In the last segment, the bytes after the last good
 * record are a torn write (returned in `torn`, for the caller to cut off) only
 * if they look like one:
 *   - fewer bytes than a header remain, or
 *   - the header is intact but the payload runs past the end (the write stopped), or
 *   - everything from there to the end is zero (the file grew but the data never landed), or
 *   - the header is intact, the record ends at the end of the file, and one of
 *     its sectors is all zero (part of the write never landed).
 * Anything else (a wrong checksum in a complete record, a damaged header with
 * data after it) is RecordDamage: an acknowledged record was fully synced, so
 * silently cutting it off could lose an entry a leader counted as replicated.
 */
export function scanSegment(bytes: Buffer, last: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const problem = recordProblem(bytes, offset);
    if (problem === null) {
      const length = bytes.readUInt32LE(offset);
      const type = bytes.readUInt8(offset + 4) as RecordType;
      records.push({ type, payload: bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length), offset });
      offset += RECORD_HEADER_BYTES + length;
      continue;
    }
    if (!last) throw new RecordDamage(offset, problem.detail);
    if (isZero(bytes.subarray(offset))) return { records, validBytes: offset, torn: null };
    if (problem.torn) return { records, validBytes: offset, torn: problem.detail };
    throw new RecordDamage(offset, problem.detail);
  }
  return { records, validBytes: offset, torn: null };
}

/** Null if a good record starts at `offset`; else what is wrong and whether it is a torn write. */
function recordProblem(bytes: Buffer, offset: number): { detail: string; torn: boolean } | null {
  const remaining = bytes.length - offset;
  if (remaining < RECORD_HEADER_BYTES) return { detail: `${remaining} bytes left, less than a record header`, torn: true };
  const headerOk = crc32(bytes.subarray(offset, offset + 12)) === bytes.readUInt32LE(offset + 12);
  if (!headerOk) {
    // Torn only if the header straddles a sector boundary and nothing from that boundary on landed: a flipped bit zeroes nothing.
    const boundary = Math.ceil((offset + 1) / WAL_SECTOR_BYTES) * WAL_SECTOR_BYTES;
    return { detail: 'record header checksum mismatch', torn: boundary < offset + RECORD_HEADER_BYTES && isZero(bytes.subarray(boundary)) };
  }
  const length = bytes.readUInt32LE(offset);
  const type = bytes.readUInt8(offset + 4);
  if (!KNOWN_TYPES.has(type) || bytes.readUIntLE(offset + 5, 3) !== 0) return { detail: `unknown record type ${type}`, torn: false };
  if (length > WAL_MAX_RECORD_BYTES) return { detail: `record length ${length} exceeds ${WAL_MAX_RECORD_BYTES}`, torn: false };
  const end = offset + RECORD_HEADER_BYTES + length;
  if (end > bytes.length) return { detail: `record of ${length} bytes runs past the end of the file`, torn: true };
  const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, end);
  if (crc32(payload) === bytes.readUInt32LE(offset + 8)) return null;
  const torn = isZero(bytes.subarray(end)) && hasZeroSector(bytes, offset + RECORD_HEADER_BYTES, end);
  return { detail: 'record payload checksum mismatch', torn };
}

/** True if a whole disk sector (aligned in the file) inside [from, to) is zero. */
function hasZeroSector(bytes: Buffer, from: number, to: number): boolean {
  for (let start = Math.ceil(from / WAL_SECTOR_BYTES) * WAL_SECTOR_BYTES; start + WAL_SECTOR_BYTES <= to; start += WAL_SECTOR_BYTES) {
    if (isZero(bytes.subarray(start, start + WAL_SECTOR_BYTES))) return true;
  }
  return false;
}

/**
 * Compared a chunk at a time with a zero buffer (memcmp): recovery checks the whole preallocated tail
 * of the newest segment, up to WAL_SEGMENT_BYTES, and a byte loop took 82 ms of a restart for it
 * (docs/notebook.md, "A restart's first second").
 */
function isZero(bytes: Buffer): boolean {
  const zeros = Buffer.alloc(Math.min(bytes.length, ZERO_CHECK_CHUNK_BYTES));
  for (let at = 0; at < bytes.length; at += zeros.length) {
    const chunk = bytes.subarray(at, at + zeros.length);
    if (!chunk.equals(zeros.subarray(0, chunk.length))) return false;
  }
  return true;
}
