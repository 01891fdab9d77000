/**
 * What `quorumchat members` shows and checks changes against: the leader's
 * view of every member (the `cluster` op, answered by the leader), each
 * member's own status, what the leader's monitor decided (members-
 * decisions.ts), and each member's verdict judged from this look. Only
 * where there is no leader to ask (or it runs no monitor) does the report
 * fall back to what the policy would decide from this one look, and says so.
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
import { concerns, decisionsOf, mergeDecisions, monitorOf, type TakenDecision } from './members-decisions.ts';
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
  /** The verdict, judged from this look with the policy's rules; null without a leader. */
  readonly verdict: Verdict | null;
  /**
   * The monitor's action on this member: with the leader's monitor, the
   * latest it took about it in the last MEMBER_ACTION_SHOWN_MS; advisory,
   * what the policy would do next.
   */
  readonly action: Decision['kind'] | null;
  /** What became of `action` (`done`, `asked for r7`, `refused: ...`); null when advisory. */
  readonly actionOutcome: string | null;
}

/**
 * Whose decisions the report shows: `leader`, what the leader's monitor
 * decided (with former leaders' still answering); `advisory`, no leader to
 * ask, or it runs no monitor, so what the policy would decide from this look.
 */
export type MonitorSource = 'leader' | 'advisory';

export interface MonitorReport {
  readonly source: MonitorSource;
  /** The leader whose monitor acts; null without one. */
  readonly leader: string | null;
  /** The leader's `monitor.enabled` (false: it decides and logs, never acts); null when advisory. */
  readonly enabled: boolean | null;
  /** Decisions taken, newest first: the leader's, and former leaders' still running. */
  readonly decisions: readonly TakenDecision[];
  /** Only when advisory: the policy's decisions from this one look, which nothing carries out. */
  readonly advisory: readonly Decision[];
}

export interface MembersReport {
  readonly leader: string | null;
  readonly term: number | null;
  readonly commitIndex: number | null;
  readonly changeInFlight: boolean;
  readonly members: readonly MemberRow[];
  /** Replicas that answered but are not in the leader's configuration (e.g. removed and still running). */
  readonly notMembers: readonly string[];
  /** The monitor's decisions, and whose. */
  readonly monitor: MonitorReport;
  /** The view the policy and the change checks judged; null without a leader. */
  readonly view: ClusterView | null;
}

/** Decisions a report keeps: the latest 32 of the leader and of each former leader still running, newest first. */
export const DECISIONS_REPORTED = 100;
/**
 * How long a member's row shows the leader's latest action on it: long
 * enough to see a change go through (promote, then remove, a few looks
 * apart), short enough that a healthy member does not carry its promotion
 * forever. The full history is the decisions list.
 */
export const MEMBER_ACTION_SHOWN_MS = 60_000;

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
  // Every replica records decisions only while it leads: former leaders' statuses keep theirs.
  const formerLeaders = [...answers].flatMap(([id, own]) => {
    const monitor = monitorOf(own);
    return monitor === null ? [] : [decisionsOf(id, monitor)];
  });
  if (cluster === null || cluster.leader === null) return { report: leaderless(status, answers, mergeDecisions(formerLeaders, DECISIONS_REPORTED)), memory: EMPTY_MEMORY };
  const leader = cluster.leader;
  const leaderMonitor = monitorOf(cluster);
  const view = viewOf(cluster, answers, nowMs);
  const step = decide(view, settings, memory);
  const taken = mergeDecisions([...formerLeaders, leaderMonitor === null ? [] : decisionsOf(leader, leaderMonitor)], DECISIONS_REPORTED);
  const monitor: MonitorReport =
    leaderMonitor === null
      ? { source: 'advisory', leader, enabled: null, decisions: taken, advisory: step.decisions }
      : { source: 'leader', leader, enabled: leaderMonitor.enabled, decisions: taken, advisory: [] };
  const verdicts = new Map(step.judgements.map((j) => [j.id, j]));
  const members = cluster.members.map((m): MemberRow => {
    const own = answers.get(m.id);
    const judged = verdicts.get(m.id);
    const acted =
      monitor.source === 'leader'
        ? taken.find((d) => d.by === leader && concerns(d.decision, m.id) && nowMs - d.at <= MEMBER_ACTION_SHOWN_MS)
        : undefined;
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
      action: monitor.source === 'leader' ? (acted?.decision.kind ?? null) : (step.decisions.find((d) => concerns(d, m.id))?.kind ?? null),
      actionOutcome: acted?.outcome ?? null,
    };
  });
  const memberIds = new Set(members.map((m) => m.id));
  const report: MembersReport = {
    leader,
    term: cluster.term,
    commitIndex: cluster.commitIndex,
    changeInFlight: view.changeInFlight,
    members,
    notMembers: [...answers.keys()].filter((id) => !memberIds.has(id)),
    monitor,
    view,
  };
  return { report, memory: step.memory };
}

/** Without a leader: the members as the most recent answer names them, judged by nobody. */
function leaderless(status: ClusterStatus, answers: ReadonlyMap<string, StatusReply>, formerLeaders: readonly TakenDecision[]): MembersReport {
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
      actionOutcome: null,
    };
  });
  return {
    leader: null,
    term: null,
    commitIndex: status.commitIndex,
    changeInFlight: false,
    members,
    notMembers: [...answers.keys()].filter((id) => !voters.includes(id) && !learners.includes(id)),
    monitor: { source: 'advisory', leader: null, enabled: null, decisions: formerLeaders, advisory: [{ kind: 'wait', why: 'noLeader', reason: 'no leader: only a leader acts' }] },
    view: null,
  };
}


function healthOf(own: StatusReply | undefined): string {
  return own === undefined ? 'no answer' : (own.health ?? '-');
}
