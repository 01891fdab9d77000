/**
 * One AppendEntries per follower per send batch. The core emits a Ready per
 * step, so under load a group of Readys carries one AppendEntries per
 * proposal for every follower; each costs a NATS message, a wake-up, a
 * persist and an acknowledgement on the follower, and an event on the
 * leader. Consecutive appends to the same follower in the same term whose
 * entries continue one another say exactly what one append with all their
 * entries says, so they leave as one.
 */
import { entryBytes } from '../raft/log.ts';
import type { AppendEntries, Message } from '../raft/types.ts';

/** Bounds one merged append, so a long group cannot build a message a follower would refuse (the core's own limit applies per message too). */
export interface CoalesceLimits {
  readonly maxEntriesPerAppend: number;
  readonly maxBytesPerAppend: number;
}

/** `messages` with mergeable runs of AppendEntries joined; the order of messages to each peer is kept. */
export function coalesceAppends(messages: readonly Message[], limits: CoalesceLimits): Message[] {
  const out: Message[] = [];
  // The last message queued for each peer, and where it sits in `out`: only that one may absorb the next append.
  const lastTo = new Map<string, number>();
  for (const message of messages) {
    const at = lastTo.get(message.to);
    const previous = at === undefined ? undefined : out[at];
    if (previous !== undefined && at !== undefined && message.type === 'AppendEntries' && previous.type === 'AppendEntries') {
      const merged = merge(previous, message, limits);
      if (merged !== null) {
        out[at] = merged;
        continue;
      }
    }
    lastTo.set(message.to, out.length);
    out.push(message);
  }
  return out;
}

function merge(first: AppendEntries, next: AppendEntries, limits: CoalesceLimits): AppendEntries | null {
  if (first.from !== next.from || first.term !== next.term) return null;
  // A heartbeat round must come back as it was asked; two different rounds cannot share one response.
  if (first.round !== next.round && first.round !== 0 && next.round !== 0) return null;
  const last = first.entries[first.entries.length - 1];
  const lastIndex = last?.index ?? first.prevLogIndex;
  const lastTerm = last?.term ?? first.prevLogTerm;
  if (next.prevLogIndex !== lastIndex || next.prevLogTerm !== lastTerm) return null;
  if (first.entries.length + next.entries.length > limits.maxEntriesPerAppend) return null;
  if (bytesOf(first) + bytesOf(next) > limits.maxBytesPerAppend) return null;
  return {
    ...first,
    entries: first.entries.length === 0 ? next.entries : next.entries.length === 0 ? first.entries : [...first.entries, ...next.entries],
    leaderCommit: Math.max(first.leaderCommit, next.leaderCommit),
    round: Math.max(first.round, next.round),
  };
}

function bytesOf(message: AppendEntries): number {
  let bytes = 0;
  for (const entry of message.entries) bytes += entryBytes(entry);
  return bytes;
}
