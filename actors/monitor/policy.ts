/**
 * The monitor's policy: from the leader's view, its settings and what it
 * remembered, the next decision(s). Pure and deterministic: no I/O, time
 * only as `view.nowMs`.
 *
 * Keep `targetVoters` healthy voters. When a voter is dead past its grace
 * period: promote a caught-up standby if there is one, else ask for a
 * replacement and promote it once caught up and stable; then remove the
 * dead voter. Promotions come before removals because adding a live voter
 * never needs more live voters than there are, and removing a dead one
 * never does either; every change is also checked by
 * `membershipChangeProblem`, as an operator's would be. At most one
 * configuration change per step (thesis §4.1); replacement requests are
 * not configuration changes and may accompany it.
 */
import type { ReplicaId } from '../raft/types.ts';
import { hasQuorum } from '../raft/quorum.ts';
import { mayPromote, type ClusterView } from './view.ts';
import { isLive, judgeMembers, type Judgement } from './health.ts';
import { observe, type MonitorMemory, type Replacement } from './memory.ts';
import { membershipChangeProblem, type MembershipChange } from './change.ts';
import type { MonitorSettings } from './settings.ts';

export type WaitReason =
  | 'noLeader'
  | 'noQuorum'
  | 'changeInFlight'
  /** A member is silent but still inside its grace period. */
  | 'grace'
  /** A learner is catching up or steadying before it may vote. */
  | 'stabilizing'
  /** Replacements were asked for and have not arrived. */
  | 'awaitingReplacement'
  /** Fewer healthy voters than wanted, and nobody to promote or replace (no voter is dead). */
  | 'belowTarget'
  /** Nothing to do. */
  | 'steady';

export type Decision =
  | { readonly kind: 'promoteStandby'; readonly id: ReplicaId; readonly reason: string }
  | { readonly kind: 'promoteNewcomer'; readonly id: ReplicaId; readonly reason: string }
  | ReplacementRequest
  | { readonly kind: 'removeDead'; readonly id: ReplicaId; readonly reason: string }
  | { readonly kind: 'wait'; readonly why: WaitReason; readonly reason: string };

/** Not a configuration change: whoever provisions replicas (`up`, a provision command) starts a new one. */
export interface ReplacementRequest {
  readonly kind: 'requestReplacement';
  readonly replaces: ReplicaId;
  readonly reason: string;
}

export interface MonitorStep {
  /** A wait alone, or at most one configuration change followed by any replacement requests. */
  readonly decisions: readonly Decision[];
  /** Pass back in with the next view. */
  readonly memory: MonitorMemory;
  /** How the monitor judged each member on the way. */
  readonly judgements: readonly Judgement[];
}

/** The next decision(s) for `view`. */
export function decide(view: ClusterView, settings: MonitorSettings, memory: MonitorMemory): MonitorStep {
  const observed = observe(view, settings, memory);
  const judgements = judgeMembers(view, settings, observed);
  const wait = (why: WaitReason, reason: string): MonitorStep => ({ decisions: [{ kind: 'wait', why, reason }], memory: observed, judgements });
  if (view.leader === null) return wait('noLeader', 'no leader: only a leader acts');
  const byId = new Map(judgements.map((j) => [j.id, j]));
  const live = (id: ReplicaId): boolean => {
    const judgement = byId.get(id);
    return judgement !== undefined && isLive(judgement);
  };
  if (!hasQuorum(view.voters, live)) return wait('noQuorum', `only ${view.voters.filter(live).length} of ${view.voters.length} voters reachable: no change could commit`);
  if (view.changeInFlight) return wait('changeInFlight', 'the previous change is not committed yet');

  const voters = judgements.filter((j) => j.kind === 'voter');
  const dead = voters.filter((j) => j.verdict === 'dead');
  const healthyVoters = voters.length - dead.length;
  const change = nextChange(view, settings, judgements, dead, healthyVoters);
  const requests = replacementRequests(view, settings, observed, judgements, dead, healthyVoters);
  const requested: Replacement[] = requests.map((r) => ({ replaces: r.replaces, requestedAtMs: view.nowMs }));
  const next: MonitorMemory = {
    ...observed,
    replacements: [...observed.replacements.filter((r) => !requested.some((q) => q.replaces === r.replaces)), ...requested],
  };
  const decisions: Decision[] = [...(change === null ? [] : [change]), ...requests];
  if (decisions.length > 0) return { decisions, memory: next, judgements };
  return { decisions: [idle(view, settings, next, judgements, healthyVoters)], memory: next, judgements };
}

/** The one configuration change to make now, if any: promotions first, then removals. */
function nextChange(
  view: ClusterView,
  settings: MonitorSettings,
  judgements: readonly Judgement[],
  dead: readonly Judgement[],
  healthyVoters: number,
): Decision | null {
  const safe = (change: MembershipChange): boolean => membershipChangeProblem(view, change, { settings }) === null;
  if (healthyVoters < settings.targetVoters) {
    const wanted = `${healthyVoters} healthy voters of ${settings.targetVoters} wanted`;
    const standby = judgements.find((j) => j.kind === 'standby' && j.verdict === 'ready' && safe({ action: 'promote', id: j.id }));
    if (standby) return { kind: 'promoteStandby', id: standby.id, reason: `${wanted}; standby ${standby.id} is caught up` };
    const newcomer = judgements.find((j) => j.kind === 'learner' && j.verdict === 'ready' && mayPromote(view, j.id) && safe({ action: 'promote', id: j.id }));
    if (newcomer) {
      return { kind: 'promoteNewcomer', id: newcomer.id, reason: `${wanted}; ${newcomer.id} has been caught up for ${seconds(newcomer.steadyForMs)}` };
    }
  }
  // A dead voter keeps its seat while its replacement is on the way, unless the wait has run out:
  // then removing it restores tolerance (4 voters with 3 live tolerate no failure; 3 of 3 tolerate one).
  const giveUpAfterMs = settings.deadAfterMs + settings.replacementWaitMs;
  const removable = dead.find(
    (j) => (healthyVoters >= settings.targetVoters || j.silentForMs >= giveUpAfterMs) && safe({ action: 'remove', id: j.id }),
  );
  if (removable) {
    const because = healthyVoters >= settings.targetVoters ? `${healthyVoters} healthy voters remain` : `no replacement within ${seconds(settings.replacementWaitMs)}`;
    return { kind: 'removeDead', id: removable.id, reason: `${removable.id} silent for ${seconds(removable.silentForMs)}; ${because}` };
  }
  // A replica that joined asking for a vote gets it once ready, also at full strength: the operator asked for it.
  const joiner = judgements.find((j) => j.kind === 'learner' && j.verdict === 'ready' && (view.wantVote ?? []).includes(j.id) && safe({ action: 'promote', id: j.id }));
  if (joiner) return { kind: 'promoteNewcomer', id: joiner.id, reason: `${joiner.id} joined to vote and has been caught up for ${seconds(joiner.steadyForMs)}` };
  return null;
}

/** Replacements to ask for: one per dead voter, as far as learners and earlier requests do not already cover the shortfall. */
function replacementRequests(
  view: ClusterView,
  settings: MonitorSettings,
  memory: MonitorMemory,
  judgements: readonly Judgement[],
  dead: readonly Judgement[],
  healthyVoters: number,
): ReplacementRequest[] {
  const pending = memory.replacements.filter((r) => view.nowMs - r.requestedAtMs < settings.replacementWaitMs);
  // A learner not heard from yet counts as on its way until its own grace period ends: the replacement
  // just asked for joins (and leaves `memory.replacements`) before the leader first hears from it, and
  // asking again in that window started a second replacement (seen with --provision-cmd, replica-provision.test.ts).
  const learnersOnTheWay = judgements.filter((j) => j.kind !== 'voter' && j.verdict !== 'dead' && mayPromote(view, j.id)).length;
  let needed = settings.targetVoters - healthyVoters - learnersOnTheWay - pending.length;
  const out: ReplacementRequest[] = [];
  for (const voter of dead) {
    if (needed <= 0) break;
    if (pending.some((r) => r.replaces === voter.id)) continue;
    out.push({ kind: 'requestReplacement', replaces: voter.id, reason: `${voter.id} silent for ${seconds(voter.silentForMs)}; no caught-up standby` });
    needed -= 1;
  }
  return out;
}

/** Why nothing is done now. */
function idle(view: ClusterView, settings: MonitorSettings, memory: MonitorMemory, judgements: readonly Judgement[], healthyVoters: number): Decision {
  const wait = (why: WaitReason, reason: string): Decision => ({ kind: 'wait', why, reason });
  const silent = judgements.filter((j) => j.verdict === 'silent');
  if (silent.length > 0) {
    const names = silent.map((j) => `${j.id} (${seconds(j.silentForMs)})`).join(', ');
    return wait('grace', `silent: ${names}; dead after ${seconds(settings.deadAfterMs)}`);
  }
  if (healthyVoters < settings.targetVoters) {
    const coming = judgements.filter((j) => j.kind !== 'voter' && mayPromote(view, j.id) && (j.verdict === 'catching-up' || j.verdict === 'steadying'));
    if (coming.length > 0) return wait('stabilizing', `${coming.map((j) => j.id).join(', ')} not caught up and stable yet`);
    if (memory.replacements.length > 0) {
      return wait('awaitingReplacement', `replacement asked for ${memory.replacements.map((r) => r.replaces).join(', ')}`);
    }
    return wait('belowTarget', `${healthyVoters} healthy voters of ${settings.targetVoters} wanted; nobody to promote`);
  }
  return wait('steady', `${healthyVoters} healthy voters`);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1_000)} s`;
}
