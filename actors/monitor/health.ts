/**
 * The monitor's judgement of each member, from the leader's view and the
 * monitor's memory: the vocabulary `members` shows and the policy decides on.
 */
import type { Index, ReplicaId } from '../raft/types.ts';
import { kindOf, lagOf, memberOf, type ClusterView, type MemberKind } from './view.ts';
import type { MonitorMemory } from './memory.ts';
import type { MonitorSettings } from './settings.ts';

export type Verdict =
  /** The voter that leads (the view is its view). */
  | 'leader'
  /** A reachable voter within `caughtUpLag` of the commit index. */
  | 'healthy'
  /** A reachable voter further behind: it votes, but a slow disk or link holds it back. */
  | 'lagging'
  /** Not heard from, but for less than the grace period: left alone. */
  | 'silent'
  /** Not heard from for the grace period or longer. */
  | 'dead'
  /** A reachable learner further behind than `caughtUpLag`. */
  | 'catching-up'
  /** A learner caught up, but not for the stability period yet. */
  | 'steadying'
  /** A learner caught up for the stability period: it can be given a vote. */
  | 'ready';

export interface Judgement {
  readonly id: ReplicaId;
  readonly kind: MemberKind;
  readonly verdict: Verdict;
  /** How long the leader has not heard from it; 0 while reachable. */
  readonly silentForMs: number;
  /** How long a learner has been reachable and caught up; 0 for voters. */
  readonly steadyForMs: number;
  readonly lag: Index;
}

/** Every member, voters first, in configuration order. `memory` must already have observed `view`. */
export function judgeMembers(view: ClusterView, settings: MonitorSettings, memory: MonitorMemory): Judgement[] {
  return [...view.voters, ...view.learners].map((id) => judgeMember(view, settings, memory, id));
}

function judgeMember(view: ClusterView, settings: MonitorSettings, memory: MonitorMemory, id: ReplicaId): Judgement {
  const kind = kindOf(view, id) ?? 'learner';
  const member = memberOf(view, id);
  const lag = lagOf(view, id);
  const silentForMs = member.reachable ? 0 : (member.lastContactMs ?? view.nowMs - (memory.silentSince[id] ?? view.nowMs));
  const since = memory.steadySince[id];
  const steadyForMs = kind !== 'voter' && since !== undefined ? view.nowMs - since : 0;
  return { id, kind, verdict: verdictOf(view, settings, id, kind, lag, silentForMs, steadyForMs), silentForMs, steadyForMs, lag };
}

function verdictOf(
  view: ClusterView,
  settings: MonitorSettings,
  id: ReplicaId,
  kind: MemberKind,
  lag: Index,
  silentForMs: number,
  steadyForMs: number,
): Verdict {
  if (id === view.leader) return 'leader';
  if (!memberOf(view, id).reachable) return silentForMs >= settings.deadAfterMs ? 'dead' : 'silent';
  if (kind === 'voter') return lag <= settings.caughtUpLag ? 'healthy' : 'lagging';
  if (lag > settings.caughtUpLag) return 'catching-up';
  return steadyForMs >= settings.stableAfterMs ? 'ready' : 'steadying';
}

/** Whether the leader hears from it: it counts towards a quorum. */
export function isLive(judgement: Judgement): boolean {
  return judgement.verdict !== 'silent' && judgement.verdict !== 'dead';
}
