/**
 * The dashboard's membership actions (add a replica, promote, remove,
 * transfer leadership) as one flow over small ports, so it is tested without
 * a screen or a cluster: pick the id, refuse at once what `quorumchat
 * members` would refuse (the same `membershipChangeProblem` messages), ask
 * for a confirmation, then make the change through `members`' own code
 * (`makeChange`, which looks again and checks again) and report the outcome.
 * Removing the leader asks to move leadership to the most caught-up other
 * voter first, as `members remove` does (members-leader.ts).
 */
import { membershipChangeProblem, type ChangeAction, type ClusterView, type MembershipChange } from '../../actors/monitor/index.ts';
import { ReplicaIdSchema } from '../../actors/protocol/index.ts';
import { MembersRefusal } from '../commands/members-exit.ts';
import { planLeaderRemoval } from '../commands/members-leader.ts';

export type MemberAction = 'add' | 'promote' | 'remove' | 'transfer';

/** The `members` subcommand each action is, and the admin request it sends. */
const CHANGE_OF: Readonly<Record<MemberAction, ChangeAction>> = { add: 'addLearner', promote: 'promote', remove: 'remove', transfer: 'transfer' };

/** The same line `members` prints without a leader (members-change.ts). */
export const NO_LEADER_MESSAGE = 'no leader answered: nothing can be changed until one is elected';

export type Tone = 'info' | 'ok' | 'error';

export interface Outcome {
  readonly tone: Tone;
  readonly text: string;
}

export interface MemberActionPorts {
  /** Asks for a replica id (add); null when the person cancels. */
  askId(title: string, question: string): Promise<string | null>;
  /** A y/n confirmation; false on no or cancel. */
  confirm(title: string, question: string): Promise<boolean>;
  /** Makes the change as `quorumchat members` does; throws MembersRefusal when refused. */
  makeChange(change: MembershipChange): Promise<string>;
  /** The status line while the change is on its way. */
  progress(text: string): void;
}

/**
 * Runs `action` on `selected` (ignored for add, which asks for a new id)
 * judged against `view`, the leader's view from the latest poll (null: no
 * leader). Resolves with what the status line shows; null when cancelled.
 */
export async function runMemberAction(action: MemberAction, selected: string | null, view: ClusterView | null, ports: MemberActionPorts): Promise<Outcome | null> {
  const id = action === 'add' ? await ports.askId('add a replica', 'Id of the new replica (it joins as a learner):') : selected;
  if (id === null) return null;
  const parsed = ReplicaIdSchema.safeParse(id.trim());
  if (!parsed.success) return refused(action, id, `bad id ${JSON.stringify(id)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  const change: MembershipChange = { action: CHANGE_OF[action], id: parsed.data };
  if (view === null) return refused(action, change.id, NO_LEADER_MESSAGE);
  let problem = membershipChangeProblem(view, change);
  let successor: string | null = null;
  if (problem?.kind === 'removesLeader') {
    const plan = planLeaderRemoval(view, change.id);
    if ('kind' in plan) problem = plan;
    else [problem, successor] = [null, plan.successor];
  }
  if (problem !== null) return refused(action, change.id, problem.message);
  if (action === 'transfer' && change.id === view.leader) return { tone: 'info', text: `${change.id} already leads` };
  if (!(await ports.confirm(`${action} ${change.id}`, question(action, change.id, successor)))) return { tone: 'info', text: `${action} ${change.id}: cancelled` };
  ports.progress(`${action} ${change.id}…`);
  try {
    return { tone: 'ok', text: `${action} ${change.id}: ${await ports.makeChange(change)}` };
  } catch (err) {
    if (err instanceof MembersRefusal) return refused(action, change.id, err.message);
    return { tone: 'error', text: `${action} ${change.id}: failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** What the confirmation asks: the change and what it does to the cluster (`successor`: the leader's removal moves leadership there first). */
export function question(action: MemberAction, id: string, successor: string | null = null): string {
  switch (action) {
    case 'add':
      return `Add ${id} as a learner? The leader starts replicating to it; it does not vote.\nIts process is not started here: run quorumchat replica --id ${id} … yourself.`;
    case 'promote':
      return `Promote learner ${id} to voter? It will vote and count toward every quorum.`;
    case 'remove':
      if (successor !== null) return `${id} leads: move leadership to ${successor} (the most caught-up other voter) first,\nthen remove ${id} from the replica set?`;
      return `Remove ${id} from the replica set? It stops counting toward quorums;\nstop its process afterwards.`;
    case 'transfer':
      return `Transfer leadership to ${id}? The leader brings it up to date and hands over.`;
  }
}

function refused(action: MemberAction, id: string, message: string): Outcome {
  return { tone: 'error', text: `${action} ${id}: refused: ${message}` };
}
