/**
 * The dashboard's membership side as a pure reducer: each poll round's
 * `cluster` answer (the leader's view) and statuses become the same report
 * `quorumchat members` prints (cli/commands/members-report.ts), judged by the
 * monitor's policy with a memory carried from round to round, and every
 * change in what the policy decides is appended to a bounded list.
 *
 * Advisory only: the monitor does not run inside the replicas yet, so
 * nothing carries these decisions out; the list shows what the policy would
 * decide for the view the dashboard sees.
 */
import { EMPTY_MEMORY, type Decision, type MonitorMemory, type MonitorSettings } from '../../actors/monitor/index.ts';
import { lookAtMembers, type MemberRow, type MembersReport } from '../commands/members-report.ts';
import type { ClusterAnswer } from '../supervisor/cluster-status.ts';
import type { ClusterStatus } from '../supervisor/cluster-status.ts';

/** One decision as the panel lists it: when the policy first said it. */
export interface DecisionEntry {
  /** View clock, ms. */
  readonly at: number;
  readonly decision: Decision;
}

export interface MembershipState {
  /** The latest look; null before the first round that asked the leader. */
  readonly report: MembersReport | null;
  /** What the policy carries between looks; belongs to `memoryOf`'s leadership. */
  readonly memory: MonitorMemory;
  readonly memoryOf: string | null;
  /** Oldest first, at most DECISIONS_KEPT. */
  readonly decisions: readonly DecisionEntry[];
  /** `decisionsKey` of the latest decisions, to append only when they change. */
  readonly lastKey: string | null;
}

/** Far more than the panel shows; enough to scroll back through an afternoon of changes without growing forever. */
export const DECISIONS_KEPT = 500;

export const initialMembershipState: MembershipState = { report: null, memory: EMPTY_MEMORY, memoryOf: null, decisions: [], lastKey: null };

export interface MembershipLook {
  readonly at: number;
  /** The leader's answer to `cluster`; null when none came (no leader, or not in time). */
  readonly cluster: ClusterAnswer | null;
  readonly status: ClusterStatus;
}

export function reduceMembership(state: MembershipState, look: MembershipLook, settings: MonitorSettings): MembershipState {
  const leader = look.cluster?.leader ?? null;
  // The real monitor lives on the leader and starts afresh when leadership moves: so does this one.
  const memory = leader !== null && leader === state.memoryOf ? state.memory : EMPTY_MEMORY;
  const next = lookAtMembers(look.cluster, look.status, look.at, settings, memory);
  const key = decisionsKey(next.report.monitor);
  const decisions = key === state.lastKey ? state.decisions : bounded([...state.decisions, ...next.report.monitor.map((decision) => ({ at: look.at, decision }))]);
  return { report: next.report, memory: next.memory, memoryOf: leader, decisions, lastKey: key };
}

/**
 * What identifies a set of decisions: everything but the durations in the
 * reasons, which tick every second ("silent for 12 s") and would otherwise
 * add a line per round for the same decision.
 */
export function decisionsKey(decisions: readonly Decision[]): string {
  return decisions.map((d) => JSON.stringify({ ...d, reason: d.reason.replace(/\d+ s\b/g, 'N s') })).join('\n');
}

/** The member row of `id` in the latest look, if it is a member. */
export function memberRowOf(state: MembershipState, id: string): MemberRow | null {
  return state.report?.members.find((m) => m.id === id) ?? null;
}

function bounded(entries: readonly DecisionEntry[]): readonly DecisionEntry[] {
  return entries.length > DECISIONS_KEPT ? entries.slice(entries.length - DECISIONS_KEPT) : entries;
}
