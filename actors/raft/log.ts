/**
 * The in-memory Raft log after the latest snapshot: pure functions over an
 * immutable value. Index i lives at backing[i - snapshot.index - 1].
 *
 * Appending must not copy the whole log (a leader appends on every
 * proposal), so logs share a backing array the way Go slices do: a log
 * owns backing[0, count), and an append pushes onto the backing array only
 * when nothing lies beyond `count` (no other log can see those slots);
 * otherwise it copies. Slots below any log's count are never written, so
 * every earlier value (and every earlier actor snapshot) stays intact.
 */
import type { Configuration, Entry, Index, SnapshotMeta, Term } from './types.ts';

export interface RaftLog {
  readonly snapshot: SnapshotMeta;
  /** Shared storage; only [0, count) belongs to this log. Never index it directly: use the functions below. */
  readonly backing: Entry[];
  readonly count: number;
}

/** A log holding `entries` (contiguous, after `snapshot`). */
export function logFrom(snapshot: SnapshotMeta, entries: readonly Entry[]): RaftLog {
  return { snapshot, backing: [...entries], count: entries.length };
}

/** A copy of every entry after the snapshot, in order. O(n): for views and tests, not hot paths. */
export function entriesOf(log: RaftLog): Entry[] {
  return log.backing.slice(0, log.count);
}

/** Thrown when a log would break its own invariants: a bug in the caller, never peer input. */
export class LogInvariantError extends Error {
  override readonly name = 'LogInvariantError';
}

export function lastIndex(log: RaftLog): Index {
  return log.snapshot.index + log.count;
}

export function lastTerm(log: RaftLog): Term {
  return log.count > 0 ? log.backing[log.count - 1]!.term : log.snapshot.term;
}

/** The term of the entry at `index`, or undefined if it is compacted away or beyond the end. */
export function termAt(log: RaftLog, index: Index): Term | undefined {
  if (index === log.snapshot.index) return log.snapshot.term;
  return entryAt(log, index)?.term;
}

/** The entry at `index`, or undefined if compacted or beyond the end. */
export function entryAt(log: RaftLog, index: Index): Entry | undefined {
  const offset = index - log.snapshot.index - 1;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= log.count) return undefined;
  return log.backing[offset];
}

/** Raft §5.4.1: whether a log ending at (lastLogTerm, lastLogIndex) is at least as up to date as `log`. */
export function isUpToDate(log: RaftLog, candidateLastTerm: Term, candidateLastIndex: Index): boolean {
  const myTerm = lastTerm(log);
  if (candidateLastTerm !== myTerm) return candidateLastTerm > myTerm;
  return candidateLastIndex >= lastIndex(log);
}

/** Append entries that continue the log exactly (leader side, or after a conflict was resolved). */
export function appendEntries(log: RaftLog, entries: readonly Entry[]): RaftLog {
  if (entries.length === 0) return log;
  let expected = lastIndex(log) + 1;
  for (const entry of entries) {
    if (entry.index !== expected) throw new LogInvariantError(`append expected index ${expected}, got ${entry.index}`);
    expected += 1;
  }
  // Push in place only if no other log can see the slots past our end; else copy (a branch after truncation).
  const backing = log.count === log.backing.length ? log.backing : log.backing.slice(0, log.count);
  for (const entry of entries) backing.push(entry);
  return { snapshot: log.snapshot, backing, count: log.count + entries.length };
}

/** Drop every entry with index >= from (from must be after the snapshot). */
export function truncateFrom(log: RaftLog, from: Index): RaftLog {
  if (from <= log.snapshot.index) throw new LogInvariantError(`cannot truncate at ${from}: at or before snapshot ${log.snapshot.index}`);
  if (from > lastIndex(log)) return log;
  return { snapshot: log.snapshot, backing: log.backing, count: from - log.snapshot.index - 1 };
}

/** What merging a leader's entries into a follower's log requires. */
export interface MergePlan {
  /** First index to delete (inclusive), when a conflicting entry was found. */
  readonly truncateFrom: Index | null;
  /** The entries to append after truncation (those not already present). */
  readonly append: readonly Entry[];
}

/**
 * Raft Figure 2, AppendEntries rules 3 and 4: skip entries already present
 * with the same term; at the first conflict, delete it and all that follow,
 * then append the rest. Entries already matching never cause a truncation,
 * so a stale or duplicated message cannot cut the log (Figure 2, rule 3 says
 * "if an existing entry conflicts", not "if the message is shorter").
 * `entries` must be contiguous and start after the snapshot.
 */
export function planMerge(log: RaftLog, entries: readonly Entry[]): MergePlan {
  const last = lastIndex(log);
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i]!;
    if (entry.index > last) return { truncateFrom: null, append: entries.slice(i) };
    if (termAt(log, entry.index) !== entry.term) return { truncateFrom: entry.index, append: entries.slice(i) };
  }
  return { truncateFrom: null, append: [] };
}

/** Apply a merge plan. */
export function applyMerge(log: RaftLog, plan: MergePlan): RaftLog {
  const truncated = plan.truncateFrom === null ? log : truncateFrom(log, plan.truncateFrom);
  return appendEntries(truncated, plan.append);
}

/**
 * Entries from `from` on, at most `maxCount` of them and at most `maxBytes`
 * of payload, but always at least one if any exist (so one huge entry still moves).
 */
export function sliceForAppend(log: RaftLog, from: Index, maxCount: number, maxBytes: number): Entry[] {
  const start = from - log.snapshot.index - 1;
  if (start < 0 || start >= log.count) return [];
  const out: Entry[] = [];
  let bytes = 0;
  for (let i = start; i < log.count && out.length < maxCount; i += 1) {
    const entry = log.backing[i]!;
    const size = entryBytes(entry);
    if (out.length > 0 && bytes + size > maxBytes) break;
    out.push(entry);
    bytes += size;
  }
  return out;
}

/** Entries in [from, to], clamped to what the log holds. */
export function entriesBetween(log: RaftLog, from: Index, to: Index): Entry[] {
  const start = Math.max(from, log.snapshot.index + 1) - log.snapshot.index - 1;
  const end = Math.min(to, lastIndex(log)) - log.snapshot.index;
  if (end <= start) return [];
  return log.backing.slice(start, end);
}

/** The payload size the byte limits count: command data; configs and no-ops are counted as small. */
export function entryBytes(entry: Entry): number {
  if (entry.kind === 'command') return entry.data.byteLength;
  if (entry.kind === 'config') return 16 * (entry.config.voters.length + entry.config.learners.length);
  return 0;
}

/** The first index holding `term`, scanning back from `from` (used for conflict hints). Never below snapshot.index + 1. */
export function firstIndexOfTerm(log: RaftLog, term: Term, from: Index): Index {
  let index = from;
  while (index - 1 > log.snapshot.index && termAt(log, index - 1) === term) index -= 1;
  return index;
}

/** The last index whose entry has `term`, or null if the log holds none (leader side of fast back-off). */
export function lastIndexOfTerm(log: RaftLog, term: Term): Index | null {
  for (let i = log.count - 1; i >= 0; i -= 1) {
    const entry = log.backing[i]!;
    if (entry.term === term) return entry.index;
    if (entry.term < term) return null;
  }
  return log.snapshot.term === term ? log.snapshot.index : null;
}

/** Thesis §4.1: the configuration in force is the latest one in the log, committed or not. */
export function latestConfig(log: RaftLog): { readonly config: Configuration; readonly index: Index } {
  for (let i = log.count - 1; i >= 0; i -= 1) {
    const entry = log.backing[i]!;
    if (entry.kind === 'config') return { config: entry.config, index: entry.index };
  }
  return { config: log.snapshot.config, index: log.snapshot.index };
}

/** Drop entries up to and including meta.index, which the state machine's snapshot now covers. */
export function compactTo(log: RaftLog, meta: SnapshotMeta): RaftLog {
  if (meta.index <= log.snapshot.index) return log;
  if (meta.index > lastIndex(log)) throw new LogInvariantError(`cannot compact to ${meta.index}: log ends at ${lastIndex(log)}`);
  return { snapshot: meta, backing: log.backing.slice(meta.index - log.snapshot.index, log.count), count: lastIndex(log) - meta.index };
}
