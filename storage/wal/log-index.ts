/**
 * The log as the store holds it in memory: the compaction point (index and
 * term below which nothing is kept), and for each later entry its term, the
 * CRC-32 of its canonical bytes and where those bytes lie on disk. The
 * entries themselves stay on disk (the core holds its own copy): the store
 * needs only the terms to check persists, the checksums to check that an
 * applied entry is the logged one, and the locations to read entries back.
 */
import type { Index, Term } from '../../actors/raft/types.ts';

/** One logged entry: term, checksum of its canonical bytes, and where they are. */
export interface EntryLocation {
  readonly index: Index;
  readonly term: Term;
  readonly crc: number;
  /** Sequence number of the segment holding the bytes. */
  readonly segment: number;
  /** Byte offset of the canonical bytes in that segment, and their length. */
  readonly offset: number;
  readonly length: number;
}

export class LogIndex {
  private baseIndex: Index;
  private baseTerm: Term;
  private entries: EntryLocation[] = [];

  constructor(base: Index, baseTerm: Term) {
    this.baseIndex = base;
    this.baseTerm = baseTerm;
  }

  /** The compaction point: no entry at or below it is kept. */
  get base(): Index {
    return this.baseIndex;
  }

  get lastIndex(): Index {
    return this.baseIndex + this.entries.length;
  }

  get lastTerm(): Term {
    return this.entries.at(-1)?.term ?? this.baseTerm;
  }

  /** The term of the entry at `index` (the base's term at the base), or undefined if the log does not hold it. */
  termAt(index: Index): Term | undefined {
    if (index === this.baseIndex) return this.baseTerm;
    return this.at(index)?.term;
  }

  at(index: Index): EntryLocation | undefined {
    return index > this.baseIndex ? this.entries[index - this.baseIndex - 1] : undefined;
  }

  /** Locations of entries [from, to], all held (the caller checked the range). */
  range(from: Index, to: Index): EntryLocation[] {
    return this.entries.slice(from - this.baseIndex - 1, to - this.baseIndex);
  }

  append(entry: EntryLocation): void {
    if (entry.index !== this.lastIndex + 1) throw new RangeError(`entry ${entry.index} does not follow ${this.lastIndex}`);
    this.entries.push(entry);
  }

  /** Remove every entry with index ≥ from (from > base). */
  truncateFrom(from: Index): void {
    if (from <= this.baseIndex) throw new RangeError(`cannot truncate from ${from} at or below the base ${this.baseIndex}`);
    if (from <= this.lastIndex) this.entries.length = from - this.baseIndex - 1;
  }

  /** Forget everything: the log restarts empty after (base, baseTerm). */
  reset(base: Index, baseTerm: Term): void {
    this.baseIndex = base;
    this.baseTerm = baseTerm;
    this.entries = [];
  }
}

/**
 * The log as a group of persists would leave it, computed before anything is
 * written: the entries of the committed index up to `keep`, then `added`.
 * Costs nothing per entry already logged, so checking a group is independent
 * of the log's length.
 */
export class DraftLog {
  private keep: Index;
  private readonly added: { index: Index; term: Term }[] = [];

  constructor(private readonly log: LogIndex) {
    this.keep = log.lastIndex;
  }

  get lastIndex(): Index {
    return this.keep + this.added.length;
  }

  get lastTerm(): Term {
    return this.added.at(-1)?.term ?? this.termAt(this.keep) ?? 0;
  }

  termAt(index: Index): Term | undefined {
    return index <= this.keep ? this.log.termAt(index) : this.added[index - this.keep - 1]?.term;
  }

  truncateFrom(from: Index): void {
    if (from - 1 >= this.keep) this.added.length = Math.min(this.added.length, from - 1 - this.keep);
    else {
      this.keep = from - 1;
      this.added.length = 0;
    }
  }

  append(index: Index, term: Term): void {
    this.added.push({ index, term });
  }
}
