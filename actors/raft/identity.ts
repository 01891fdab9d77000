/**
 * Data identities (types.ts `DataId`): which disk speaks under a replica id.
 *
 * Why: Raft's safety rests on every voter keeping what it acknowledged. A
 * voter restarted on an empty or replaced data directory under its old id
 * would vote and count toward quorums while holding nothing, and could help
 * elect a leader that lacks committed entries (Raft §5.4.1). A replica id
 * alone cannot tell the two disks apart; a data identity made with the
 * directory can.
 *
 * The leader records each member's identity in the configuration, in a
 * configuration entry that changes no one's role (so every quorum stays what
 * it was; proposals.ts `recordDataIds`). From then on:
 *   - every core ignores a vote, vote request or acknowledgement whose
 *     sender's recorded identity differs from the one it carries: it counts
 *     for nothing;
 *   - a core whose own identity differs from the recorded one never
 *     campaigns and never grants a vote;
 *   - a recorded voter's identity never changes while it votes: a replaced
 *     disk comes back as a learner (`join`), catches up, and is promoted.
 */
import type { CoreState, Draft } from './state.ts';
import type { Configuration, DataId, Message, ReplicaId } from './types.ts';

/** A data identity as storage makes it: 16 lowercase hex digits (64 random bits; unique among one id's directories). */
export const DATA_ID_PATTERN = /^[0-9a-f]{16}$/;

export function isDataId(value: unknown): value is DataId {
  return typeof value === 'string' && DATA_ID_PATTERN.test(value);
}

export function recordedDataId(config: Configuration, id: ReplicaId): DataId | undefined {
  return config.dataIds?.[id];
}

/**
 * Whether `m` may be heard: it is not a vote, a vote request or an
 * acknowledgement, or its sender has no identity recorded, or carries the
 * recorded one. A leader's own messages are not checked: a disk the cluster
 * does not count can never gather the votes to lead, and the runtime builds
 * a streamed snapshot's InstallSnapshot itself, without the sender's identity.
 */
export function speaksForSender(config: Configuration, m: Message): boolean {
  if (m.type === 'AppendEntries' || m.type === 'InstallSnapshot' || m.type === 'TimeoutNow') return true;
  const recorded = recordedDataId(config, m.from);
  return recorded === undefined || m.dataId === recorded;
}

/** This core is not the disk the cluster recorded under its id: it must neither vote nor campaign. */
export function disowned(s: Pick<CoreState, 'config' | 'id' | 'dataId'>): boolean {
  const recorded = recordedDataId(s.config, s.id);
  return recorded !== undefined && recorded !== s.dataId;
}

/** A leader notes the identity of a member that has none recorded, for `recordDataIds` (proposals.ts). */
export function noteDataId(s: Draft, m: Message): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null || !isDataId(m.dataId)) return;
  if (recordedDataId(s.config, m.from) !== undefined || ls.heardDataIds[m.from] === m.dataId) return;
  if (!s.config.voters.includes(m.from) && !s.config.learners.includes(m.from)) return;
  s.leaderState = { ...ls, heardDataIds: { ...ls.heardDataIds, [m.from]: m.dataId } };
}

/**
 * Why the identities of `next` are not a valid successor of those of
 * `current`, or null. Identities may be recorded for members that had none,
 * dropped with their member, and replaced only for a learner (a voter's
 * acknowledgements stand for its disk, so the disk cannot change while it votes).
 */
export function dataIdProblem(current: Configuration, next: Configuration): string | null {
  const before = current.dataIds ?? {};
  const after = next.dataIds ?? {};
  const members = new Set([...next.voters, ...next.learners]);
  for (const [id, dataId] of Object.entries(after)) {
    if (!members.has(id)) return `${id} has a data identity recorded but is not a member`;
    if (!isDataId(dataId)) return `${id}'s data identity ${JSON.stringify(dataId)} is not 16 hex digits`;
  }
  for (const [id, dataId] of Object.entries(before)) {
    if (!next.voters.includes(id) || after[id] === dataId) continue;
    return `${id} votes with data identity ${dataId}; its identity can change only while it is a learner`;
  }
  return null;
}

/** Whether the two configurations record the same identities. */
export function sameDataIds(a: Configuration, b: Configuration): boolean {
  const x = a.dataIds ?? {};
  const y = b.dataIds ?? {};
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}
