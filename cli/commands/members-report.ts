/**
 * What `quorumchat members` shows and checks changes against: the leader's
 * view of every member (the `cluster` op, answered by the leader), each
 * member's own status, and what the monitor's policy makes of them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { StatusReply } from '../../actors/protocol/index.ts';
import {
  DEFAULT_MONITOR_SETTINGS,
  EMPTY_MEMORY,
  decide,
  type ClusterView,
  type Decision,
  type MemberKind,
  type MonitorMemory,
  type MonitorSettings,
  type Verdict,
} from '../../actors/monitor/index.ts';
import { DEFAULT_REPLICA_COUNT } from '../../config/defaults.ts';
import { replicaIdsFor } from '../options.ts';
import { viewOf } from './members-view.ts';
import { askCluster, collectClusterStatus, type ClusterAnswer, type ClusterStatus } from '../supervisor/cluster-status.ts';

export interface MemberRow {
  readonly id: string;
  readonly kind: MemberKind;
  /** From the member's own status; null when it did not answer. */
  readonly role: string | null;
  readonly term: number | null;
  /** The leader's view; null without a leader. */
  readonly reachable: boolean | null;
  readonly lastContactMs: number | null;
  readonly matchIndex: number | null;
  /** Entries behind the leader's commit index. */
  readonly lag: number | null;
  /** The member's own `health` (docs/replica.md), or `no answer`. */
  readonly health: string;
  /** The monitor's verdict; null without a leader. */
  readonly verdict: Verdict | null;
  /** What the monitor would do about this member next, if anything. */
  readonly action: Decision['kind'] | null;
}

export interface MembersReport {
  readonly leader: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly changeInFlight: boolean;
  readonly members: readonly MemberRow[];
  /** Replicas that answered but are not in the leader's configuration (e.g. removed and still running). */
  readonly notMembers: readonly string[];
  /** The monitor policy's next decisions from this one look (it does not run inside replicas yet). */
  readonly monitor: readonly Decision[];
  /** The view the policy and the change checks judged; null without a leader. */
  readonly view: ClusterView | null;
}

/** Replicas asked when the cluster names no members (no leader): what `up` starts. */
const FALLBACK_IDS = replicaIdsFor(DEFAULT_REPLICA_COUNT);

/** Asks the leader for its view, then every member for its status. Time is read once, here. */
export async function gatherMembers(nc: NatsConnection, prefix: string, timeoutMs: number, settings: MonitorSettings = DEFAULT_MONITOR_SETTINGS): Promise<MembersReport> {
  const cluster = await askCluster(nc, prefix, timeoutMs);
  const ids = cluster?.members.map((m) => m.id) ?? FALLBACK_IDS;
  const status = await collectClusterStatus(nc, prefix, ids, timeoutMs);
  return buildMembersReport(cluster, status, Date.now(), settings);
}

/** The report from the leader's `cluster` answer (null: none) and the statuses (pure; exported for tests). */
export function buildMembersReport(cluster: ClusterAnswer | null, status: ClusterStatus, nowMs: number, settings: MonitorSettings): MembersReport {
  return lookAtMembers(cluster, status, nowMs, settings, EMPTY_MEMORY).report;
}

/**
 * One look among several (the dashboard's): the report judged with what the
 * monitor remembered from earlier looks, and the memory to pass to the next.
 * Without a leader the memory starts over, as the monitor's does when
 * leadership moves.
 */
export function lookAtMembers(
  cluster: ClusterAnswer | null,
  status: ClusterStatus,
  nowMs: number,
  settings: MonitorSettings,
  memory: MonitorMemory,
): { readonly report: MembersReport; readonly memory: MonitorMemory } {
  const answers = new Map(status.replicas.flatMap((r) => (r.answered ? [[r.id, r.status] as const] : [])));
  if (cluster === null || cluster.leader === null) return { report: leaderless(status, answers), memory: EMPTY_MEMORY };
  const view = viewOf(cluster, answers, nowMs);
  const step = decide(view, settings, memory);
  const verdicts = new Map(step.judgements.map((j) => [j.id, j]));
  const members = cluster.members.map((m): MemberRow => {
    const own = answers.get(m.id);
    const judged = verdicts.get(m.id);
    return {
      id: m.id,
      kind: judged?.kind ?? (m.voter ? 'voter' : 'learner'),
      role: own?.role ?? null,
      term: own?.term ?? null,
      reachable: m.reachable,
      lastContactMs: m.lastContactMs,
      matchIndex: m.matchIndex,
      lag: judged?.lag ?? null,
      health: healthOf(own),
      verdict: judged?.verdict ?? null,
      action: step.decisions.find((d) => concerns(d, m.id))?.kind ?? null,
    };
  });
  const memberIds = new Set(members.map((m) => m.id));
  const report: MembersReport = {
    leader: cluster.leader,
    term: cluster.term,
    commitIndex: cluster.commitIndex,
    changeInFlight: view.changeInFlight,
    members,
    notMembers: [...answers.keys()].filter((id) => !memberIds.has(id)),
    monitor: step.decisions,
    view,
  };
  return { report, memory: step.memory };
}

/** Without a leader: the members as the most recent answer names them, judged by nobody. */
function leaderless(status: ClusterStatus, answers: ReadonlyMap<string, StatusReply>): MembersReport {
  const newest = [...answers.values()].sort((a, b) => b.term - a.term)[0];
  const voters = newest?.voters ?? [];
  const learners = newest?.learners ?? [];
  const members = [...voters, ...learners].map((id): MemberRow => {
    const own = answers.get(id);
    return {
      id,
      kind: voters.includes(id) ? 'voter' : 'learner',
      role: own?.role ?? null,
      term: own?.term ?? null,
      reachable: null,
      lastContactMs: null,
      matchIndex: null,
      lag: null,
      health: healthOf(own),
      verdict: null,
      action: null,
    };
  });
  return {
    leader: null,
    term: null,
    commitIndex: status.commitIndex,
    changeInFlight: false,
    members,
    notMembers: [...answers.keys()].filter((id) => !voters.includes(id) && !learners.includes(id)),
    monitor: [{ kind: 'wait', why: 'noLeader', reason: 'no leader: only a leader acts' }],
    view: null,
  };
}


function healthOf(own: StatusReply | undefined): string {
  return own === undefined ? 'no answer' : (own.health ?? '-');
}

function concerns(decision: Decision, id: string): boolean {
  if (decision.kind === 'wait') return false;
  return decision.kind === 'requestReplacement' ? decision.replaces === id : decision.id === id;
}
