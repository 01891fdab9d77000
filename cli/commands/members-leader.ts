/**
 * Removing the leader (issue 11: "leadership moves first, then the
 * removal"): which voter takes over, and whether the removal is safe once it
 * does. Pure, from the leader's view; `makeChange` and the dashboard's
 * remove action carry the plan out.
 *
 * Why move leadership first rather than let the leader remove itself: a
 * leader that commits a configuration without itself steps down and leaves
 * the cluster leaderless for an election timeout or more (thesis §4.2.2);
 * a transfer to a caught-up voter hands over within a heartbeat or two and
 * the removal is then an ordinary follower's.
 */
import type { ReplicaId } from '../../actors/raft/types.ts';
import {
  DEFAULT_MONITOR_SETTINGS,
  isCaughtUp,
  lagOf,
  membershipChangeProblem,
  type ChangeProblem,
  type ClusterView,
  type MonitorSettings,
} from '../../actors/monitor/index.ts';

/** The leader's removal, planned: leadership goes to `successor` first. */
export interface LeaderRemoval {
  readonly leader: ReplicaId;
  readonly successor: ReplicaId;
}

/**
 * The plan for removing `id` when it leads, or why it cannot be done:
 * every refusal `members remove` gives a follower (too few voters, no live
 * quorum, a change in flight), judged as if the successor already led, and
 * `removesLeader` when no other voter is caught up to take over.
 */
export function planLeaderRemoval(view: ClusterView, id: ReplicaId, settings: MonitorSettings = DEFAULT_MONITOR_SETTINGS): LeaderRemoval | ChangeProblem {
  const successor = successorOf(view, id, settings);
  if (successor === null) {
    return {
      kind: 'removesLeader',
      message: `${id} leads and no other voter is caught up to take over (${othersState(view, id)}); wait, then try again`,
    };
  }
  // The same checks as removing a follower, from the view the successor will have.
  const after = membershipChangeProblem({ ...view, leader: successor }, { action: 'remove', id }, { settings });
  return after ?? { leader: id, successor };
}

/**
 * The most caught-up other voter: reachable, within `caughtUpLag` of the
 * commit index (thesis §3.10: the target must have the leader's log to win
 * at once), highest match index first, then the one heard from most
 * recently, then by id so the choice is stable.
 */
export function successorOf(view: ClusterView, leader: ReplicaId, settings: MonitorSettings = DEFAULT_MONITOR_SETTINGS): ReplicaId | null {
  const candidates = view.voters.filter((voter) => voter !== leader && isCaughtUp(view, voter, settings.caughtUpLag));
  const member = (voter: ReplicaId) => view.members[voter];
  candidates.sort(
    (a, b) =>
      (member(b)?.matchIndex ?? 0) - (member(a)?.matchIndex ?? 0) ||
      (member(a)?.lastContactMs ?? Infinity) - (member(b)?.lastContactMs ?? Infinity) ||
      a.localeCompare(b, 'en', { numeric: true }),
  );
  return candidates[0] ?? null;
}

/** `r2 unreachable, r3 900 entries behind` for the refusal. */
function othersState(view: ClusterView, leader: ReplicaId): string {
  const others = view.voters.filter((voter) => voter !== leader);
  if (others.length === 0) return 'it is the only voter';
  return others.map((voter) => (view.members[voter]?.reachable === true ? `${voter} ${lagOf(view, voter)} entries behind` : `${voter} unreachable`)).join(', ');
}
