/**
 * Why an operator's membership change (or leadership transfer) is unsafe or
 * impossible right now, judged from the leader's view before it is sent.
 * The leader checks the Raft rules again itself (actors/raft/proposals.ts
 * `configProblem`); this adds the operational ones: never below three
 * voters, never a configuration without a live quorum, never a vote for a
 * replica that has not caught up (thesis §4.2.1).
 */
import type { ReplicaId } from '../raft/types.ts';
import { hasQuorum } from '../raft/quorum.ts';
import { isCaughtUp, kindOf, lagOf, memberOf, type ClusterView } from './view.ts';
import { DEFAULT_MONITOR_SETTINGS, MIN_VOTERS, type MonitorSettings } from './settings.ts';

export type ChangeAction = 'addLearner' | 'promote' | 'remove' | 'transfer';

export interface MembershipChange {
  readonly action: ChangeAction;
  readonly id: ReplicaId;
}

export type ChangeProblemKind =
  /** Nobody leads: no change can be committed. */
  | 'noLeader'
  /** Fewer live voters than a quorum of the current configuration: nothing can be committed. */
  | 'noQuorum'
  /** The previous change is not committed yet (thesis §4.1: one at a time). */
  | 'changeInFlight'
  /** The id is not a member (promote, remove, transfer). */
  | 'unknownMember'
  /** The member is of the wrong kind: add an existing member, promote a voter, transfer to a learner. */
  | 'wrongKind'
  /** The removal would leave fewer than MIN_VOTERS voters. */
  | 'tooFewVoters'
  /** The new configuration would have fewer live voters than its quorum. */
  | 'quorumAtRisk'
  /** Promote or transfer to a member that is unreachable or behind. */
  | 'notCaughtUp'
  /** Removing the leader: move leadership first. */
  | 'removesLeader';

export interface ChangeProblem {
  readonly kind: ChangeProblemKind;
  readonly message: string;
}

export interface ChangeOptions {
  /** Promote a learner that is not caught up. Never overrides a lost quorum. */
  readonly force?: boolean;
  readonly settings?: MonitorSettings;
}

/** Why `change` should not be made now, or null when it is safe. */
export function membershipChangeProblem(view: ClusterView, change: MembershipChange, options: ChangeOptions = {}): ChangeProblem | null {
  const settings = options.settings ?? DEFAULT_MONITOR_SETTINGS;
  const { action, id } = change;
  if (view.leader === null) return problem('noLeader', 'no replica leads the cluster; nothing can be changed until one is elected');
  const live = (voter: ReplicaId): boolean => memberOf(view, voter).reachable;
  if (!hasQuorum(view.voters, live)) {
    return problem('noQuorum', `only ${view.voters.filter(live).length} of ${view.voters.length} voters are reachable, fewer than a quorum`);
  }
  if (action !== 'transfer' && view.changeInFlight) {
    return problem('changeInFlight', 'another membership change is not committed yet; try again in a moment');
  }
  const kind = kindOf(view, id);
  if (action === 'addLearner') {
    return kind === null ? null : problem('wrongKind', `${id} is already a ${kind === 'voter' ? 'voter' : 'learner'}`);
  }
  if (kind === null) return problem('unknownMember', `${id} is not a member (voters: ${view.voters.join(', ')}; learners: ${view.learners.join(', ') || 'none'})`);
  switch (action) {
    case 'promote':
      return promoteProblem(view, id, kind === 'voter', live, settings, options.force === true);
    case 'remove':
      return kind === 'voter' ? removeProblem(view, id, live) : null;
    case 'transfer':
      if (kind !== 'voter') return problem('wrongKind', `${id} is a learner; only a voter can lead`);
      if (id === view.leader || isCaughtUp(view, id, settings.caughtUpLag)) return null;
      return problem('notCaughtUp', `${id} cannot take over: ${behind(view, id)}`);
  }
}

function promoteProblem(
  view: ClusterView,
  id: ReplicaId,
  isVoter: boolean,
  live: (voter: ReplicaId) => boolean,
  settings: MonitorSettings,
  force: boolean,
): ChangeProblem | null {
  if (isVoter) return problem('wrongKind', `${id} is already a voter`);
  const next = [...view.voters, id];
  // Forcing may give a vote to a lagging replica, never a configuration that cannot commit.
  if (!hasQuorum(next, live)) {
    return problem('quorumAtRisk', `with ${id} voting, ${next.filter(live).length} of ${next.length} voters would be reachable, fewer than a quorum`);
  }
  if (!force && !isCaughtUp(view, id, settings.caughtUpLag)) {
    return problem('notCaughtUp', `${id} has not caught up: ${behind(view, id)}; wait, or use --force`);
  }
  return null;
}

function removeProblem(view: ClusterView, id: ReplicaId, live: (voter: ReplicaId) => boolean): ChangeProblem | null {
  if (id === view.leader) return problem('removesLeader', `${id} leads; move leadership to another voter first (members transfer ID)`);
  const next = view.voters.filter((voter) => voter !== id);
  if (next.length < MIN_VOTERS) {
    return problem('tooFewVoters', `removing ${id} would leave ${next.length} voters; at least ${MIN_VOTERS} are needed to survive a failure`);
  }
  if (!hasQuorum(next, live)) {
    return problem('quorumAtRisk', `without ${id}, ${next.filter(live).length} of ${next.length} voters would be reachable, fewer than a quorum`);
  }
  return null;
}

function behind(view: ClusterView, id: ReplicaId): string {
  const member = memberOf(view, id);
  if (!member.reachable) return member.lastContactMs === null ? 'never heard from in this term' : `unreachable for ${Math.round(member.lastContactMs / 1_000)} s`;
  return `${lagOf(view, id)} entries behind the commit index`;
}

function problem(kind: ChangeProblemKind, message: string): ChangeProblem {
  return { kind, message };
}
