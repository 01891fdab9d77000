/**
 * Shape checks for peer messages: a core never throws on what a peer sends
 * (wrong types, negative or fractional numbers, non-contiguous entries);
 * it drops such a message whole.
 */
import type { Entry, Message, RaftEvent } from './types.ts';
import { MAX_PROPOSALS_PER_EVENT } from './limits.ts';

const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

export function isWellFormed(m: Message): boolean {
  if (typeof m !== 'object' || m === null) return false;
  if (!isId(m.from) || !isId(m.to) || !isIndex(m.term)) return false;
  switch (m.type) {
    case 'RequestVote':
      return isIndex(m.lastLogIndex) && isIndex(m.lastLogTerm) && typeof m.preVote === 'boolean' && typeof m.transfer === 'boolean';
    case 'RequestVoteResponse':
      return typeof m.preVote === 'boolean' && typeof m.granted === 'boolean';
    case 'AppendEntries':
      return (
        isIndex(m.prevLogIndex) &&
        isIndex(m.prevLogTerm) &&
        isIndex(m.leaderCommit) &&
        isIndex(m.round) &&
        Array.isArray(m.entries) &&
        m.entries.every((e, i) => isEntry(e) && e.index === m.prevLogIndex + 1 + i && e.term <= m.term && (i === 0 || e.term >= m.entries[i - 1]!.term))
      );
    case 'AppendEntriesResponse':
      return typeof m.success === 'boolean' && isIndex(m.matchIndex) && isIndex(m.conflictTerm) && isIndex(m.conflictIndex) && isIndex(m.round);
    case 'InstallSnapshot':
      return typeof m.snapshot === 'object' && m.snapshot !== null && isIndex(m.snapshot.index) && isIndex(m.snapshot.term) && isConfig(m.snapshot.config);
    case 'InstallSnapshotResponse':
      return typeof m.success === 'boolean' && isIndex(m.matchIndex);
    case 'TimeoutNow':
      return true;
    default:
      return false;
  }
}

function isEntry(e: Entry): boolean {
  if (typeof e !== 'object' || e === null || !isIndex(e.index) || e.index === 0 || !isIndex(e.term)) return false;
  switch (e.kind) {
    case 'noop':
      return true;
    case 'command':
      return e.data instanceof Uint8Array;
    case 'config':
      return isConfig(e.config);
    default:
      return false;
  }
}

function isConfig(c: unknown): boolean {
  if (typeof c !== 'object' || c === null) return false;
  const { voters, learners } = c as { voters?: unknown; learners?: unknown };
  return Array.isArray(voters) && Array.isArray(learners) && voters.every(isId) && learners.every(isId);
}

/**
 * Shape checks for local events. A malformed proposal is answered (refused),
 * never appended; other malformed local events are ignored.
 */
export function isWellFormedEvent(event: RaftEvent): boolean {
  switch (event.type) {
    case 'message':
      return isWellFormed(event.message);
    case 'propose':
      return typeof event.id === 'string' && event.data instanceof Uint8Array;
    case 'proposeMany':
      return (
        Array.isArray(event.proposals) &&
        event.proposals.length >= 1 &&
        event.proposals.length <= MAX_PROPOSALS_PER_EVENT &&
        event.proposals.every((p) => typeof p === 'object' && p !== null && typeof p.id === 'string' && p.data instanceof Uint8Array)
      );
    case 'proposeConfig':
      return typeof event.id === 'string' && isConfig(event.config);
    case 'readIndex':
      return typeof event.id === 'string';
    case 'transferLeadership':
      return isId(event.to);
    case 'compacted':
      return typeof event.meta === 'object' && event.meta !== null && isIndex(event.meta.index) && isIndex(event.meta.term) && isConfig(event.meta.config);
    case 'unreachable':
      return isId(event.peer);
    case 'snapshotDelivered':
      return isId(event.peer) && Number.isSafeInteger(event.bytes) && event.bytes >= 0;
    case 'persisted':
      return isIndex(event.index) && isIndex(event.term);
    default:
      return false;
  }
}
