/**
 * The operator dashboard's state as a pure reducer: each poll round (every
 * replica's status reply, or its failure) becomes one `PollRound` and
 * `reduceDashboard` folds it into the per-replica table and the rate series
 * behind the sparklines. The blessed view only renders it.
 */
import type { StatusReply } from '../../actors/protocol/index.ts';
import { DEFAULT_MONITOR_SETTINGS } from '../../actors/monitor/index.ts';
import type { ClusterAnswer } from '../supervisor/cluster-status.ts';
import { summarise } from '../supervisor/cluster-status.ts';
import { initialMembershipState, reduceMembership, type MembershipState } from './dashboard-membership.ts';

/** One replica's answer to one poll: its status, or why none came. */
export type ReplicaPoll =
  | { readonly id: string; readonly ok: true; readonly status: StatusReply }
  | { readonly id: string; readonly ok: false; readonly error: string };

export interface PollRound {
  /** Wall-clock ms when the round finished (the view's clock, not the cluster's). */
  readonly at: number;
  readonly replies: readonly ReplicaPoll[];
  /**
   * The leader's answer to the `cluster` op in this round (null: none came).
   * Absent when the round did not ask; the membership columns keep the last look.
   */
  readonly cluster?: ClusterAnswer | null;
}

export interface ReplicaRow {
  readonly id: string;
  readonly status: StatusReply | null;
  /** Set when the latest poll got no answer. */
  readonly error: string | null;
  /** When this replica last answered a poll, ms (view clock). */
  readonly lastSeenAt: number | null;
}

export interface DashboardState {
  /** Sorted by id. */
  readonly replicas: readonly ReplicaRow[];
  /** Commits per second, one sample per poll round, oldest first. */
  readonly commitRate: readonly number[];
  /** Elections (term increases seen cluster-wide) per poll round, oldest first. */
  readonly elections: readonly number[];
  readonly totalElections: number;
  readonly lastRound: { readonly at: number; readonly maxCommit: number; readonly maxTerm: number } | null;
  /** The leader's view of the members, their verdicts, and the monitor's decisions so far (the leader's; advisory only without one). */
  readonly membership: MembershipState;
}

/** Samples kept per sparkline: 120 rounds is a minute at the 2 Hz poll, and wider than any chart we draw. */
export const SERIES_LENGTH = 120;

export const initialDashboardState: DashboardState = {
  replicas: [],
  commitRate: [],
  elections: [],
  totalElections: 0,
  lastRound: null,
  membership: initialMembershipState,
};

export function reduceDashboard(state: DashboardState, round: PollRound): DashboardState {
  const byId = new Map(state.replicas.map((r) => [r.id, r]));
  for (const reply of round.replies) {
    const before = byId.get(reply.id);
    if (reply.ok) {
      byId.set(reply.id, { id: reply.id, status: reply.status, error: null, lastSeenAt: round.at });
    } else {
      byId.set(reply.id, { id: reply.id, status: before?.status ?? null, error: reply.error, lastSeenAt: before?.lastSeenAt ?? null });
    }
  }
  const replicas = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  const membership = membershipAfter(state.membership, round);
  const answered = round.replies.flatMap((r) => (r.ok ? [r.status] : []));
  if (answered.length === 0) {
    return { ...state, replicas, commitRate: push(state.commitRate, 0), elections: push(state.elections, 0), membership };
  }
  const maxCommit = Math.max(...answered.map((s) => s.commitIndex));
  const maxTerm = Math.max(...answered.map((s) => s.term));
  const last = state.lastRound;
  let rate = 0;
  let elected = 0;
  if (last !== null && round.at > last.at) {
    rate = (Math.max(0, maxCommit - last.maxCommit) * 1000) / (round.at - last.at);
    // Every new term starts with an election (pre-vote keeps failed ones from bumping it).
    elected = Math.max(0, maxTerm - last.maxTerm);
  }
  return {
    replicas,
    commitRate: push(state.commitRate, rate),
    elections: push(state.elections, elected),
    totalElections: state.totalElections + elected,
    lastRound: { at: round.at, maxCommit: Math.max(maxCommit, last?.maxCommit ?? 0), maxTerm: Math.max(maxTerm, last?.maxTerm ?? 0) },
    membership,
  };
}

/**
 * The round seen as `quorumchat members` would see it. The replicas' monitor
 * settings are not in their replies, so verdicts (and the advisory fallback)
 * are judged with the defaults, as `members` does; the decisions shown are
 * the leader's own.
 */
function membershipAfter(state: MembershipState, round: PollRound): MembershipState {
  if (round.cluster === undefined) return state;
  const status = summarise(round.replies.map((r) => (r.ok ? { id: r.id, status: r.status } : { id: r.id, error: r.error })));
  return reduceMembership(state, { at: round.at, cluster: round.cluster, status }, DEFAULT_MONITOR_SETTINGS);
}

/** The leader most replicas that answered agree on, or null. */
export function agreedLeader(state: DashboardState): string | null {
  const votes = new Map<string, number>();
  for (const r of state.replicas) {
    const leader = r.error === null ? r.status?.leader : null;
    if (leader) votes.set(leader, (votes.get(leader) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestVotes = 0;
  for (const [id, n] of votes) {
    if (n > bestVotes) {
      best = id;
      bestVotes = n;
    }
  }
  return best;
}

/** How long ago the leader last heard from `id` (ms), from the leader's own progress report. */
export function lastContactOf(state: DashboardState, id: string): number | null {
  const leader = agreedLeader(state);
  if (leader === id) return 0;
  const row = state.replicas.find((r) => r.id === leader);
  return row?.status?.progress?.[id]?.lastContactMs ?? null;
}

/**
 * A replica's lag in entries behind the highest commitIndex any replica
 * reports, when the replica did not report its own `lag`.
 */
export function lagOf(state: DashboardState, row: ReplicaRow): number | null {
  if (row.status === null) return null;
  if (row.status.lag !== undefined) return row.status.lag;
  const top = Math.max(...state.replicas.map((r) => r.status?.commitIndex ?? 0));
  return Math.max(0, top - row.status.appliedIndex);
}

const BARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A one-line chart of the last `width` values, scaled to the largest of them
 * (or to `floor` when all are smaller, so idle noise doesn't fill the chart).
 * Zero draws as a space-like lowest bar so "nothing happened" reads as flat.
 */
export function sparkline(values: readonly number[], width: number, floor = 1): string {
  const shown = values.slice(-width);
  const top = Math.max(floor, ...shown);
  const bars = shown.map((v) => {
    if (v <= 0) return ' ';
    const level = Math.min(BARS.length - 1, Math.floor((v / top) * (BARS.length - 1) + 0.5));
    return BARS[Math.max(0, level)] ?? ' ';
  });
  return ' '.repeat(Math.max(0, width - bars.length)) + bars.join('');
}

function push(series: readonly number[], value: number): number[] {
  const next = [...series, value];
  return next.length > SERIES_LENGTH ? next.slice(next.length - SERIES_LENGTH) : next;
}
