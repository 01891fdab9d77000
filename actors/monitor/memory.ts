/**
 * What the monitor carries from one look at the cluster to the next: only
 * what a single view cannot tell (how long a never-heard member has been
 * silent, how long a learner has been steady, which replacements are on
 * their way). It lives on the leader and starts empty when leadership moves,
 * so a new leader restarts every grace period: it waits, it never hurries.
 */
import type { ReplicaId } from '../raft/types.ts';
import { isCaughtUp, memberOf, type ClusterView } from './view.ts';
import type { MonitorSettings } from './settings.ts';

export interface Replacement {
  /** The dead voter this replacement stands in for. */
  readonly replaces: ReplicaId;
  readonly requestedAtMs: number;
}

export interface MonitorMemory {
  /** Members never heard from in this term (no last-contact age): when the monitor first noticed. */
  readonly silentSince: Readonly<Record<ReplicaId, number>>;
  /** Learners reachable and caught up without a break since this time. */
  readonly steadySince: Readonly<Record<ReplicaId, number>>;
  /** Replacements asked for whose learner has not appeared yet. */
  readonly replacements: readonly Replacement[];
  /** Learners already seen: one not in here is a newcomer and answers the oldest replacement. */
  readonly learnersSeen: readonly ReplicaId[];
}

export const EMPTY_MEMORY: MonitorMemory = { silentSince: {}, steadySince: {}, replacements: [], learnersSeen: [] };

/** The memory updated with what `view` shows (before any decision is taken on it). */
export function observe(view: ClusterView, settings: MonitorSettings, memory: MonitorMemory): MonitorMemory {
  const silentSince: Record<ReplicaId, number> = {};
  for (const id of [...view.voters, ...view.learners]) {
    const member = memberOf(view, id);
    if (!member.reachable && member.lastContactMs === null) silentSince[id] = memory.silentSince[id] ?? view.nowMs;
  }
  const steadySince: Record<ReplicaId, number> = {};
  for (const id of view.learners) {
    if (isCaughtUp(view, id, settings.caughtUpLag)) steadySince[id] = memory.steadySince[id] ?? view.nowMs;
  }
  const arrived = view.learners.filter((id) => !memory.learnersSeen.includes(id)).length;
  // A replacement is no longer wanted once its voter answers again: the voter stays, nothing flaps.
  const stillWanted = memory.replacements.filter((r) => !(view.voters.includes(r.replaces) && memberOf(view, r.replaces).reachable));
  return { silentSince, steadySince, replacements: stillWanted.slice(arrived), learnersSeen: [...view.learners] };
}
