/**
 * The dashboard's membership side as a pure reducer: each poll round's
 * `cluster` answer (the leader's view) and statuses become the same report
 * `quorumchat members` prints (cli/commands/members-report.ts), and the
 * monitor's decisions are gathered into one bounded list, newest first.
 *
 * The decisions are the ones the leader's monitor took, with when and what
 * became of them (from the `cluster` reply and every replica's status, so a
 * former leader's stay listed while it runs, and every leader the dashboard
 * saw stays in the list). Only while there is no leader to ask (or it runs
 * no monitor) does the list get the policy's own decision from the
 * dashboard's view, marked advisory: nothing carries those out.
 */
import { EMPTY_MEMORY, type Decision, type MonitorMemory, type MonitorSettings } from '../../actors/monitor/index.ts';
import { decisionKey, type TakenDecision } from '../commands/members-decisions.ts';
import { lookAtMembers, type MemberRow, type MembersReport } from '../commands/members-report.ts';
import type { ClusterAnswer } from '../supervisor/cluster-status.ts';
import type { ClusterStatus } from '../supervisor/cluster-status.ts';

/** One decision as the panel lists it. */
export interface DecisionEntry {
  /** When it was decided: the deciding replica's clock, or the view's for an advisory entry (wall-clock ms either way). */
  readonly at: number;
  readonly decision: Decision;
  /** The replica whose monitor took it; null for the policy's advisory decision from the dashboard's own view. */
  readonly by: string | null;
  readonly term: number | null;
  /** What became of it (`done`, `asked for r7`, ...); null for a wait or an advisory entry. */
  readonly outcome: string | null;
}

export interface MembershipState {
  /** The latest look; null before the first round that asked the leader. */
  readonly report: MembersReport | null;
  /** What the advisory policy carries between looks; belongs to `memoryOf`'s leadership. */
  readonly memory: MonitorMemory;
  readonly memoryOf: string | null;
  /** Newest first, at most DECISIONS_KEPT. */
  readonly decisions: readonly DecisionEntry[];
  /** `decisionsKey` of the latest advisory decisions, to append only when they change; null while a leader's monitor is shown. */
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
  // The advisory policy starts afresh when leadership moves, as the real monitor does.
  const memory = leader !== null && leader === state.memoryOf ? state.memory : EMPTY_MEMORY;
  const next = lookAtMembers(look.cluster, look.status, look.at, settings, memory);
  const monitor = next.report.monitor;
  const taken = monitor.decisions.map(entryOf);
  let advisory: DecisionEntry[] = [];
  let lastKey: string | null = null;
  if (monitor.source === 'advisory') {
    lastKey = decisionsKey(monitor.advisory);
    if (lastKey !== state.lastKey) advisory = monitor.advisory.map((decision) => ({ at: look.at, decision, by: null, term: null, outcome: null }));
  }
  // Most rounds bring nothing new: keep the same list (the panel redraws only when it changes).
  const seen = new Set(state.decisions.map(keyOf));
  const fresh = [...taken.filter((e) => !seen.has(keyOf(e))), ...advisory];
  const decisions = fresh.length === 0 ? state.decisions : merge(state.decisions, fresh);
  return { report: next.report, memory: next.memory, memoryOf: leader, decisions, lastKey };
}

/**
 * What identifies a set of advisory decisions: everything but the durations
 * in the reasons, which tick every second ("silent for 12 s") and would
 * otherwise add a line per round for the same decision.
 */
export function decisionsKey(decisions: readonly Decision[]): string {
  return decisions.map((d) => JSON.stringify({ ...d, reason: d.reason.replace(/\d+ s\b/g, 'N s') })).join('\n');
}

/** The member row of `id` in the latest look, if it is a member. */
export function memberRowOf(state: MembershipState, id: string): MemberRow | null {
  return state.report?.members.find((m) => m.id === id) ?? null;
}

/** Whose decisions the panel shows now, for its label. */
export function decisionsSource(state: MembershipState): string {
  const monitor = state.report?.monitor;
  if (monitor === undefined) return 'monitor: waiting for the first look';
  if (monitor.source === 'leader') return `monitor: decisions of the leader ${monitor.leader}${monitor.enabled === false ? ' (disabled: it never acts)' : ''}, newest first`;
  return `monitor: policy, advisory (${monitor.leader === null ? 'no leader to ask' : `${monitor.leader} reports no monitor`}), newest first`;
}

function entryOf(d: TakenDecision): DecisionEntry {
  return { at: d.at, decision: d.decision, by: d.by, term: d.term, outcome: d.outcome };
}

function keyOf(entry: DecisionEntry): string {
  return entry.by === null ? `advisory|${entry.at}|${JSON.stringify(entry.decision)}` : decisionKey({ ...entry, by: entry.by, term: entry.term ?? 0 });
}

/** The entries of both, each once, newest first, at most DECISIONS_KEPT. */
function merge(kept: readonly DecisionEntry[], fresh: readonly DecisionEntry[]): readonly DecisionEntry[] {
  const byKey = new Map<string, DecisionEntry>();
  for (const entry of [...kept, ...fresh]) byKey.set(keyOf(entry), entry);
  return [...byKey.values()].sort((a, b) => b.at - a.at).slice(0, DECISIONS_KEPT);
}
