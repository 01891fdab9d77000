/**
 * What the monitor judges from: the leader's view of the cluster at one
 * moment. Nothing here is measured by the monitor itself; the runtime (or
 * the `members` command) fills it in from the leader's progress.
 */
import type { Index, ReplicaId } from '../raft/types.ts';

export interface MemberView {
  /** Heard from within an election timeout (it would count towards check-quorum). */
  readonly reachable: boolean;
  /** Milliseconds since the leader last heard from it; 0 for the leader; null if never in this term. */
  readonly lastContactMs: number | null;
  readonly matchIndex: Index;
}

export interface ClusterView {
  /** The caller's clock, in milliseconds: the monitor's only notion of time. */
  readonly nowMs: number;
  readonly leader: ReplicaId | null;
  readonly commitIndex: Index;
  readonly voters: readonly ReplicaId[];
  readonly learners: readonly ReplicaId[];
  /** Learners kept in reserve (a marker, not part of the Raft configuration): promoted only when a voter is missing. */
  readonly standbys: readonly ReplicaId[];
  /** Learners that asked to vote (`replica --join`): promoted once ready even when the voters are at full strength. */
  readonly wantVote?: readonly ReplicaId[];
  /** Learners that asked never to be promoted by the monitor (`replica --join --no-promote`). */
  readonly holdBack?: readonly ReplicaId[];
  /** The latest configuration is not committed yet (thesis §4.1: the next change waits for it). */
  readonly changeInFlight: boolean;
  /** The leader's view of each member; a member missing here was never heard from. */
  readonly members: Readonly<Record<ReplicaId, MemberView>>;
}

export type MemberKind = 'voter' | 'learner' | 'standby';

const NEVER_HEARD: MemberView = { reachable: false, lastContactMs: null, matchIndex: 0 };

export function memberOf(view: ClusterView, id: ReplicaId): MemberView {
  return view.members[id] ?? NEVER_HEARD;
}

export function kindOf(view: ClusterView, id: ReplicaId): MemberKind | null {
  if (view.voters.includes(id)) return 'voter';
  if (!view.learners.includes(id)) return null;
  return view.standbys.includes(id) ? 'standby' : 'learner';
}

/** How many entries the member is behind the leader's commit index. */
export function lagOf(view: ClusterView, id: ReplicaId): Index {
  return Math.max(0, view.commitIndex - memberOf(view, id).matchIndex);
}

/** Whether the member is reachable and within `caughtUpLag` entries of the commit index. */
export function isCaughtUp(view: ClusterView, id: ReplicaId, caughtUpLag: number): boolean {
  return memberOf(view, id).reachable && lagOf(view, id) <= caughtUpLag;
}


/** Whether the monitor may give `id` a vote at all (an operator still may). */
export function mayPromote(view: ClusterView, id: ReplicaId): boolean {
  return !(view.holdBack ?? []).includes(id);
}
