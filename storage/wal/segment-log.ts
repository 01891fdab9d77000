/**
 * The Raft log and hard state as an append-only sequence of segment files in
 * `<dataDir>/wal/` (the design of etcd's WAL and hashicorp/raft-wal):
 *
 *   - every segment starts with a segment-start record (format, sequence);
 *   - a group of persists is one write and ONE fdatasync, in the newest segment;
 *   - past WAL_SEGMENT_BYTES a new segment is started (and the directory fsynced),
 *     from a spare file already filled with zeros in the background, so that
 *     appends overwrite allocated blocks instead of growing the file;
 *   - a checkpoint (compaction, or installing a snapshot) starts a fresh segment
 *     with the hard state, the compaction point and the entries still live
 *     after it; once that segment is durable every older segment is garbage and
 *     is deleted. So the oldest segment always starts with a checkpoint, and
 *     recovery is: replay from the newest segment that starts with one.
 *
 * Recovery cuts a torn write at the end of the newest segment (record.ts
 * says what counts as torn) and refuses any other damage.
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry, HardState, Index, Term } from '../../actors/raft/types.ts';
import { checksumOf, decodeEntry, EntryDecodeError } from '../entry-codec.ts';
import { CorruptStoreError, LogWriteError } from '../errors.ts';
import { fsyncDir } from '../files.ts';
import { WAL_ENTRIES_RECORD_BYTES, WAL_PREALLOCATE_CHUNK_BYTES, WAL_SEGMENT_BYTES } from '../limits.ts';
import { DraftLog, LogIndex, type EntryLocation } from './log-index.ts';
import {
  decodeCheckpoint,
  decodeEntries,
  decodeHardState,
  decodeSegmentStart,
  decodeTruncate,
  encodeCheckpoint,
  encodeEntries,
  encodeHardState,
  encodeSegmentStart,
  encodeTruncate,
  PayloadError,
  WAL_FORMAT,
  type Checkpoint,
} from './payloads.ts';
import { encodeRecord, RECORD_HEADER_BYTES, RecordDamage, RecordType, scanSegment, type ScannedRecord } from './record.ts';

/** The log directory's name inside the data directory. */
export const WAL_DIR = 'wal';

/** One entry to write: its canonical bytes and their checksum, computed once by the caller. */
export interface LoggedEntry {
  readonly index: Index;
  readonly term: Term;
  readonly bytes: Uint8Array;
  readonly crc: number;
}

/** One persist step, already checked against the log (the store's persist rules). */
export interface LogStep {
  readonly hardState?: HardState;
  readonly truncateFrom?: Index;
  readonly entries: readonly LoggedEntry[];
}

/** The subset of a pino logger the log uses. */
export interface LogLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SegmentLogOptions {
  readonly logger: LogLogger;
  /** Start a new segment once the current one holds this many bytes (tests make it small). */
  readonly segmentBytes?: number;
}

export class SegmentLog {
  readonly dir: string;
  private readonly logger: LogLogger;
  private readonly segmentBytes: number;
  private readonly log: LogIndex;
  private state: HardState;
  private handle: FileHandle;
  private sequence: number;
  private size: number;
  /** Set when a write or sync failed: the file's content is unknown, so nothing more is written. */
  private broken: Error | null = null;
  /** The next segment's file, being filled with zeros in the background (null: none; its path once ready, null if that failed). */
  private spare: Promise<string | null> | null = null;
  private spareReady = false;
  /** Whether the current segment was preallocated; if not, the log moves to the spare as soon as it is ready. */
  private preallocated: boolean;

  private constructor(dir: string, options: SegmentLogOptions, log: LogIndex, state: HardState, tail: { handle: FileHandle; sequence: number; size: number; preallocated: boolean }) {
    this.dir = dir;
    this.logger = options.logger;
    this.segmentBytes = options.segmentBytes ?? WAL_SEGMENT_BYTES;
    this.log = log;
    this.state = state;
    this.handle = tail.handle;
    this.sequence = tail.sequence;
    this.size = tail.size;
    this.preallocated = tail.preallocated;
    this.prepareSpare();
  }

  /** Recover the log in `dir`, or null when it holds no segment (a new store, or one of the SQLite-only format). */
  static async open(dir: string, options: SegmentLogOptions): Promise<SegmentLog | null> {
    await mkdir(dir, { recursive: true });
    // A spare is only ever zeros; one a crash left behind is simply made again.
    await rm(join(dir, SPARE_FILE), { force: true });
    const segments = await listSegments(dir);
    const scans = new Map<number, readonly ScannedRecord[]>();
    // The newest segment: a torn write at its end is cut off; one left with no record at all never held an acknowledged write.
    let tail = segments.length === 0 ? null : await recoverNewest(dir, segments.at(-1)!, options.logger);
    while (tail !== null && tail.records.length === 0) {
      const file = segmentPath(dir, segments.pop()!);
      await unlink(file);
      await fsyncDir(dir);
      options.logger.warn({ file }, 'removed a log segment whose only write was torn');
      tail = segments.length === 0 ? null : await recoverNewest(dir, segments.at(-1)!, options.logger);
    }
    if (tail === null) return null;
    scans.set(segments.at(-1)!, tail.records);
    // Replay from the newest segment that starts with a checkpoint; older ones are what a compaction had not yet deleted.
    let start = segments.length - 1;
    for (;;) {
      const sequence = segments[start]!;
      let records = scans.get(sequence);
      if (records === undefined) {
        records = await scanOlder(dir, sequence);
        scans.set(sequence, records);
      }
      if (records[1]?.type === RecordType.checkpoint) break;
      if (start === 0) throw new CorruptStoreError(segmentPath(dir, segments[0]!), null, 'no log segment starts with a checkpoint: the oldest segments are missing');
      start--;
    }
    const superseded = segments.slice(0, start);
    for (const sequence of superseded) await unlink(segmentPath(dir, sequence));
    if (superseded.length > 0) {
      await fsyncDir(dir);
      options.logger.info({ segments: superseded }, 'removed log segments superseded by a checkpoint (a compaction was interrupted)');
    }
    const log = new LogIndex(0, 0);
    let state: HardState = { term: 0, votedFor: null };
    for (const sequence of segments.slice(start)) state = replaySegment(dir, sequence, scans.get(sequence)!, log, state);
    const newest = segments.at(-1)!;
    const handle = await open(segmentPath(dir, newest), 'r+');
    return new SegmentLog(dir, options, log, state, { handle, sequence: newest, size: tail.validBytes, preallocated: tail.fileBytes > tail.validBytes });
  }

  /** Start a new log in `dir` (which holds no segment) at `checkpoint`, with `entries` after it. */
  static async create(dir: string, checkpoint: Checkpoint, entries: readonly LoggedEntry[], options: SegmentLogOptions): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true });
    const log = new LogIndex(checkpoint.index, checkpoint.term);
    const first = 1;
    const { buffer, locations } = checkpointSegment(first, checkpoint, entries);
    const handle = await writeNewSegment(dir, first, buffer, null);
    for (const location of locations) log.append(location);
    // Not preallocated: zeroing a whole segment would hold up the first open; the log moves to a spare once one is ready.
    return new SegmentLog(dir, options, log, checkpoint.hardState, { handle, sequence: first, size: buffer.length, preallocated: false });
  }

  get hardState(): HardState {
    return this.state;
  }

  get base(): Index {
    return this.log.base;
  }

  get lastIndex(): Index {
    return this.log.lastIndex;
  }

  get lastTerm(): Term {
    return this.log.lastTerm;
  }

  termAt(index: Index): Term | undefined {
    return this.log.termAt(index);
  }

  /** The checksum of the canonical bytes logged at `index`, or undefined if not held. */
  checksumAt(index: Index): number | undefined {
    return this.log.at(index)?.crc;
  }

  /** A view of the log a group of steps is checked against before it is written. */
  draft(): DraftLog {
    return new DraftLog(this.log);
  }

  /** Write `steps` (in order) with one write and one fdatasync; resolved means durable. */
  async append(steps: readonly LogStep[]): Promise<void> {
    if (this.broken) throw this.broken;
    const roll = this.size >= this.segmentBytes || (!this.preallocated && this.spareReady);
    const sequence = roll ? this.sequence + 1 : this.sequence;
    const start = roll ? 0 : this.size;
    const parts: Buffer[] = [];
    let length = 0;
    const push = (record: Buffer): void => {
      parts.push(record);
      length += record.length;
    };
    if (roll) push(encodeRecord(RecordType.segmentStart, encodeSegmentStart({ format: WAL_FORMAT, sequence })));
    // What the steps do to the in-memory log, carried out only once the write is durable.
    const apply: (() => void)[] = [];
    for (const step of steps) {
      if (step.hardState) {
        const hardState = step.hardState;
        push(encodeRecord(RecordType.hardState, encodeHardState(hardState)));
        apply.push(() => (this.state = hardState));
      }
      if (step.truncateFrom !== undefined) {
        const from = step.truncateFrom;
        push(encodeRecord(RecordType.truncate, encodeTruncate(from)));
        apply.push(() => this.log.truncateFrom(from));
      }
      for (const chunk of chunksOf(step.entries)) {
        const { record, locations } = entriesRecord(chunk, sequence, start + length);
        push(record);
        apply.push(() => locations.forEach((l) => this.log.append(l)));
      }
    }
    const buffer = Buffer.concat(parts);
    try {
      if (roll) {
        const spare = await this.takeSpare();
        const handle = await writeNewSegment(this.dir, sequence, buffer, spare);
        await this.handle.close();
        this.handle = handle;
        this.sequence = sequence;
        this.size = 0;
        this.preallocated = spare !== null;
      } else {
        // Written on this thread: the copy into the page cache takes microseconds, a trip through libuv's pool far more (docs/notebook.md, "Round trips on every send"); the fdatasync is what makes it durable.
        writeAllNow(this.handle.fd, buffer, this.size);
        await this.handle.datasync();
      }
    } catch (err) {
      throw this.breakWith(err);
    }
    this.size += buffer.length;
    for (const step of apply) step();
    if (roll) this.prepareSpare();
  }

  /**
   * Restart the log at (index, term) in a fresh segment holding the current
   * hard state and, if `keepAfter`, the entries after `index` (the caller
   * checked that the log holds `index` with `term`); then delete every older
   * segment. Compaction (after a snapshot) and installing a snapshot both end here.
   */
  async checkpoint(index: Index, term: Term, keepAfter: boolean): Promise<void> {
    if (this.broken) throw this.broken;
    const kept = keepAfter && index < this.log.lastIndex ? await this.readBytes(index + 1, this.log.lastIndex) : [];
    const sequence = this.sequence + 1;
    const entries = kept.map(({ location, bytes }) => ({ index: location.index, term: location.term, bytes, crc: location.crc }));
    const { buffer, locations } = checkpointSegment(sequence, { hardState: this.state, index, term }, entries);
    let handle: FileHandle;
    const spare = await this.takeSpare();
    try {
      handle = await writeNewSegment(this.dir, sequence, buffer, spare);
      await this.handle.close();
    } catch (err) {
      throw this.breakWith(err);
    }
    this.handle = handle;
    this.sequence = sequence;
    this.size = buffer.length;
    this.preallocated = spare !== null;
    this.log.reset(index, term);
    for (const location of locations) this.log.append(location);
    this.prepareSpare();
    // The new segment is durable: the older ones hold nothing replay needs (it starts at the newest checkpoint).
    const older = (await listSegments(this.dir)).filter((s) => s < sequence);
    for (const s of older) await unlink(segmentPath(this.dir, s));
    if (older.length > 0) await fsyncDir(this.dir);
  }

  /** Entries [from, to] (the caller checked the log holds them), read from disk and checked against their checksums. */
  async read(from: Index, to: Index): Promise<Entry[]> {
    const read = await this.readBytes(from, to);
    return read.map(({ location, bytes }) => {
      const file = segmentPath(this.dir, location.segment);
      let entry: Entry;
      try {
        entry = decodeEntry(bytes);
      } catch (err) {
        if (err instanceof EntryDecodeError) throw new CorruptStoreError(file, location.index, err.message, { cause: err });
        throw err;
      }
      if (entry.index !== location.index || entry.term !== location.term) {
        throw new CorruptStoreError(file, location.index, `entry bytes say index ${entry.index} term ${entry.term}, the log says index ${location.index} term ${location.term}`);
      }
      return entry;
    });
  }

  async close(): Promise<void> {
    await this.spare;
    await this.handle.close().catch(() => undefined);
  }

  /** Start filling the next segment's file with zeros, unless one is ready or being made. */
  private prepareSpare(): void {
    if (this.spare !== null) return;
    const path = join(this.dir, SPARE_FILE);
    this.spare = preallocate(path, this.segmentBytes).then(
      () => {
        this.spareReady = true;
        return path;
      },
      (err: unknown) => {
        // Not fatal: segments are then created empty and grow as they are written; the next new segment tries again.
        this.logger.warn({ err, file: path }, 'could not preallocate the next log segment');
        this.spare = null;
        return null;
      },
    );
  }

  /**
   * The spare file's path if it is ready (it is then used up), else null:
   * a segment is never held up by zeros still being written, it is then
   * created empty and the log moves to the spare once that is ready.
   */
  private async takeSpare(): Promise<string | null> {
    if (!this.spareReady) return null;
    const spare = await this.spare;
    this.spare = null;
    this.spareReady = false;
    return spare;
  }

  private async readBytes(from: Index, to: Index): Promise<{ location: EntryLocation; bytes: Buffer }[]> {
    const locations = this.log.range(from, to);
    const out: { location: EntryLocation; bytes: Buffer }[] = [];
    // Consecutive entries of one segment are read with one read.
    for (let i = 0; i < locations.length; ) {
      const first = locations[i]!;
      let j = i;
      while (j + 1 < locations.length && locations[j + 1]!.segment === first.segment) j++;
      const last = locations[j]!;
      const file = segmentPath(this.dir, first.segment);
      const span = Buffer.alloc(last.offset + last.length - first.offset);
      const handle = await open(file, 'r');
      try {
        const { bytesRead } = await handle.read(span, 0, span.length, first.offset);
        if (bytesRead !== span.length) throw new CorruptStoreError(file, first.index, `the segment ends before entry ${last.index}`);
      } finally {
        await handle.close();
      }
      for (const location of locations.slice(i, j + 1)) {
        const bytes = span.subarray(location.offset - first.offset, location.offset - first.offset + location.length);
        if (checksumOf(bytes) !== location.crc) throw new CorruptStoreError(file, location.index, `entry checksum mismatch on read (crc32 ${checksumOf(bytes)}, logged ${location.crc})`);
        out.push({ location, bytes });
      }
      i = j + 1;
    }
    return out;
  }

  private breakWith(err: unknown): LogWriteError {
    const error = new LogWriteError(`writing the Raft log in ${this.dir} failed: ${(err as Error).message}`, { cause: err });
    this.broken = error;
    return error;
  }
}

// ---- helpers ----

/** The preallocated next segment, before it gets its name. */
const SPARE_FILE = 'spare.tmp';

/** Segment files are named by their sequence number, zero-padded so that names sort in order. */
const SEGMENT_NAME = /^(\d{16})\.wal$/;

function segmentPath(dir: string, sequence: number): string {
  return join(dir, `${String(sequence).padStart(16, '0')}.wal`);
}

async function listSegments(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  return names
    .map((name) => SEGMENT_NAME.exec(name)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Scan the newest segment, cutting a torn write at its end (ftruncate + fsync). */
async function recoverNewest(dir: string, sequence: number, logger: LogLogger): Promise<{ records: readonly ScannedRecord[]; validBytes: number; fileBytes: number }> {
  const file = segmentPath(dir, sequence);
  const bytes = await readFile(file);
  const scan = scanned(file, () => scanSegment(bytes, true));
  if (scan.torn !== null) {
    const handle = await open(file, 'r+');
    try {
      await handle.truncate(scan.validBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    logger.warn({ file, offset: scan.validBytes, cut: bytes.length - scan.validBytes, why: scan.torn }, 'cut a torn write off the end of the Raft log');
  }
  return { records: scan.records, validBytes: scan.validBytes, fileBytes: scan.torn === null ? bytes.length : scan.validBytes };
}

/** A segment other than the newest was complete and synced before a newer one existed: any damage is corruption. */
async function scanOlder(dir: string, sequence: number): Promise<readonly ScannedRecord[]> {
  const file = segmentPath(dir, sequence);
  const bytes = await readFile(file);
  return scanned(file, () => scanSegment(bytes, false)).records;
}

function scanned(file: string, scan: () => ReturnType<typeof scanSegment>): ReturnType<typeof scanSegment> {
  try {
    return scan();
  } catch (err) {
    if (err instanceof RecordDamage) throw new CorruptStoreError(file, null, err.message, { cause: err });
    throw err;
  }
}

/** Replay one segment's records onto `log`; returns the hard state after them. Anything inconsistent is corruption. */
function replaySegment(dir: string, sequence: number, records: readonly ScannedRecord[], log: LogIndex, before: HardState): HardState {
  const file = segmentPath(dir, sequence);
  let state = before;
  const corrupt = (record: ScannedRecord, index: number | null, detail: string): CorruptStoreError =>
    new CorruptStoreError(file, index, `record at byte ${record.offset}: ${detail}`);
  for (const [i, record] of records.entries()) {
    try {
      switch (record.type) {
        case RecordType.segmentStart: {
          const start = decodeSegmentStart(record.payload);
          if (i !== 0) throw corrupt(record, null, 'a segment-start record inside a segment');
          if (start.format !== WAL_FORMAT) throw corrupt(record, null, `segment format ${start.format}, this build reads ${WAL_FORMAT}`);
          if (start.sequence !== sequence) throw corrupt(record, null, `the segment says it is number ${start.sequence}, its name says ${sequence}`);
          break;
        }
        case RecordType.checkpoint: {
          const checkpoint = decodeCheckpoint(record.payload);
          log.reset(checkpoint.index, checkpoint.term);
          state = checkpoint.hardState;
          break;
        }
        case RecordType.hardState:
          state = decodeHardState(record.payload);
          break;
        case RecordType.truncate: {
          const from = decodeTruncate(record.payload);
          if (from <= log.base || from > log.lastIndex + 1) throw corrupt(record, from, `truncation from ${from} outside the log (${log.base}, ${log.lastIndex + 1}]`);
          log.truncateFrom(from);
          break;
        }
        case RecordType.entries:
          for (const { bytes, offset } of decodeEntries(record.payload)) {
            const expected = log.lastIndex + 1;
            let entry: Entry;
            try {
              entry = decodeEntry(bytes);
            } catch (err) {
              if (err instanceof EntryDecodeError) throw corrupt(record, expected, err.message);
              throw err;
            }
            if (entry.index !== expected) throw corrupt(record, expected, `entry ${entry.index} where ${expected} was expected`);
            if (entry.term < log.lastTerm) throw corrupt(record, expected, `entry term ${entry.term} below the previous entry's ${log.lastTerm}`);
            log.append({ index: entry.index, term: entry.term, crc: checksumOf(bytes), segment: sequence, offset: record.offset + RECORD_HEADER_BYTES + offset, length: bytes.length });
          }
          break;
      }
      if (i === 0 && record.type !== RecordType.segmentStart) throw corrupt(record, null, 'the segment does not start with a segment-start record');
    } catch (err) {
      if (err instanceof PayloadError) throw corrupt(record, null, err.message);
      throw err;
    }
  }
  return state;
}

/** The bytes of a fresh segment starting at `checkpoint`, and where its entries land. */
function checkpointSegment(sequence: number, checkpoint: Checkpoint, entries: readonly LoggedEntry[]): { buffer: Buffer; locations: EntryLocation[] } {
  const parts = [
    encodeRecord(RecordType.segmentStart, encodeSegmentStart({ format: WAL_FORMAT, sequence })),
    encodeRecord(RecordType.checkpoint, encodeCheckpoint(checkpoint)),
  ];
  let at = parts.reduce((sum, p) => sum + p.length, 0);
  const locations: EntryLocation[] = [];
  for (const chunk of chunksOf(entries)) {
    const { record, locations: chunkLocations } = entriesRecord(chunk, sequence, at);
    parts.push(record);
    locations.push(...chunkLocations);
    at += record.length;
  }
  return { buffer: Buffer.concat(parts), locations };
}

/** An entries record written at byte `at` of segment `sequence`, and where each entry's bytes land. */
function entriesRecord(entries: readonly LoggedEntry[], sequence: number, at: number): { record: Buffer; locations: EntryLocation[] } {
  const { payload, offsets } = encodeEntries(entries.map((e) => e.bytes));
  const record = encodeRecord(RecordType.entries, payload);
  const locations = entries.map((e, i) => ({ index: e.index, term: e.term, crc: e.crc, segment: sequence, offset: at + RECORD_HEADER_BYTES + offsets[i]!, length: e.bytes.length }));
  return { record, locations };
}

/** Split entries into runs of at most WAL_ENTRIES_RECORD_BYTES (a single larger entry is a run of its own). */
function chunksOf(entries: readonly LoggedEntry[]): LoggedEntry[][] {
  const chunks: LoggedEntry[][] = [];
  let current: LoggedEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && bytes + entry.bytes.length > WAL_ENTRIES_RECORD_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes.length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Create segment `sequence` (it must not exist) holding `buffer`: written into
 * the preallocated `spare` if there is one, else into a new file; fdatasync'd,
 * then named, and the directory fsynced so the name is durable too. A crash
 * before the rename leaves only the spare, which open removes.
 */
async function writeNewSegment(dir: string, sequence: number, buffer: Buffer, spare: string | null): Promise<FileHandle> {
  const target = segmentPath(dir, sequence);
  const handle = spare === null ? await open(target, 'wx+') : await open(spare, 'r+');
  try {
    await writeAll(handle, buffer, 0);
    await handle.datasync();
    if (spare !== null) await rename(spare, target);
    await fsyncDir(dir);
    return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** Fill `path` with `bytes` zeros and sync it, so that writes into it later change neither its size nor its allocation. */
async function preallocate(path: string, bytes: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(bytes, WAL_PREALLOCATE_CHUNK_BYTES));
  const handle = await open(path, 'w');
  try {
    for (let at = 0; at < bytes; at += zeros.length) await writeAll(handle, zeros.subarray(0, Math.min(zeros.length, bytes - at)), at);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `writeAll` on the calling thread: for small appends to an already allocated segment. */
function writeAllNow(fd: number, buffer: Buffer, position: number): void {
  for (let written = 0; written < buffer.length; ) written += writeSync(fd, buffer, written, buffer.length - written, position + written);
}

async function writeAll(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  for (let written = 0; written < buffer.length; ) {
    const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}
