/**
 * The leader's `cluster` answer and the members' statuses as the monitor's
 * ClusterView: what the policy judges and the change checks run on.
 */
import type { StatusReply } from '../../actors/protocol/index.ts';
import { majority } from '../../actors/raft/quorum.ts';
import type { ClusterView, MemberView } from '../../actors/monitor/index.ts';
import type { ClusterAnswer } from '../supervisor/cluster-status.ts';


/** The ClusterView of `cluster` at `nowMs`; the in-flight flag comes from the statuses. */
export function viewOf(cluster: ClusterAnswer, answers: ReadonlyMap<string, StatusReply>, nowMs: number): ClusterView {
  const voters = cluster.members.filter((m) => m.voter).map((m) => m.id);
  const learners = cluster.members.filter((m) => !m.voter).map((m) => m.id);
  const members: Record<string, MemberView> = {};
  for (const m of cluster.members) members[m.id] = { reachable: m.reachable, lastContactMs: m.lastContactMs, matchIndex: m.matchIndex };
  return {
    nowMs,
    leader: cluster.leader,
    commitIndex: cluster.commitIndex,
    voters,
    learners,
    // Standbys are the next step (docs/operators.md): no replica marks itself one yet.
    standbys: [],
    changeInFlight: changeInFlight(voters, learners, answers),
    members,
  };
}

/**
 * The latest configuration counts as committed once a majority of its voters
 * report it (each reports the latest configuration in its log, committed or
 * not). Fewer: a change is on its way. An approximation from outside; the
 * leader applies the exact rule (configIndex > commitIndex) itself.
 */
function changeInFlight(voters: readonly string[], learners: readonly string[], answers: ReadonlyMap<string, StatusReply>): boolean {
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((id) => b.includes(id));
  const holding = voters.filter((id) => {
    const own = answers.get(id);
    return own !== undefined && same(own.voters, voters) && same(own.learners, learners);
  });
  return holding.length < majority(voters.length);
}
