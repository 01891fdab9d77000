/**
 * Peer subjects: `<prefix>.raft.<to>.<kind>`. The kind of a Raft message is its
 * `type` (e.g. `AppendEntries`); `snapshot` carries the snapshot stream, as
 * request/reply. A replica subscribes to `<prefix>.raft.<its id>.*` only.
 */
import type { MessageType, ReplicaId } from '../raft/types.ts';

export const MESSAGE_KINDS: readonly MessageType[] = [
  'RequestVote',
  'RequestVoteResponse',
  'AppendEntries',
  'AppendEntriesResponse',
  'InstallSnapshot',
  'InstallSnapshotResponse',
  'TimeoutNow',
];

/** The kind of the snapshot stream's request/reply frames. */
export const SNAPSHOT_KIND = 'snapshot';

export type PeerKind = MessageType | typeof SNAPSHOT_KIND;

export function raftSubject(prefix: string, to: ReplicaId, kind: PeerKind): string {
  return `${prefix}.raft.${to}.${kind}`;
}

/** Everything addressed to `me`. */
export function raftInbox(prefix: string, me: ReplicaId): string {
  return `${prefix}.raft.${me}.*`;
}

/** The kind token of a subject under `raftInbox(prefix, me)`, or null if it is not one. */
export function kindOf(subject: string, prefix: string, me: ReplicaId): string | null {
  const head = `${prefix}.raft.${me}.`;
  return subject.startsWith(head) ? subject.slice(head.length) : null;
}
