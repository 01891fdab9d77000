/**
 * Operator requests (a compatible extension of the protocol, docs/replica.md):
 * membership changes one replica at a time (thesis §4.1) and leadership
 * transfer (thesis §3.10). Any replica takes them on `<prefix>.admin.<op>`
 * (queue group `<prefix>.admin`) and forwards to the leader like a write.
 * Their subjects and schemas are the protocol's (actors/protocol/admin.ts).
 */
import type { z } from 'zod';
import type { Configuration, DataId } from '../raft/types.ts';
import { configProblem } from '../raft/proposals.ts';
import { hasQuorum, majority } from '../raft/quorum.ts';
import { ADMIN_OPS, BadRequest, Conflict, JoinRequest, MembersRequest, TransferRequest, type ProtocolError } from '../protocol/index.ts';

export type AdminRequest =
  | { readonly op: 'members'; readonly members: MembersRequest }
  | { readonly op: 'transfer'; readonly transfer: TransferRequest }
  | { readonly op: 'join'; readonly join: JoinRequest };

/** Validates an operator request body. */
export function parseAdminRequest(op: string, body: unknown): AdminRequest | ProtocolError {
  if (op === 'members') {
    const parsed = MembersRequest.safeParse(body);
    return parsed.success ? { op, members: parsed.data } : new BadRequest(`members: ${describe(parsed.error)}`);
  }
  if (op === 'transfer') {
    const parsed = TransferRequest.safeParse(body);
    return parsed.success ? { op, transfer: parsed.data } : new BadRequest(`transfer: ${describe(parsed.error)}`);
  }
  if (op === 'join') {
    const parsed = JoinRequest.safeParse(body);
    return parsed.success ? { op, join: parsed.data } : new BadRequest(`join: ${describe(parsed.error)}`);
  }
  return new BadRequest(`unknown admin op ${JSON.stringify(op)} (known: ${ADMIN_OPS.join(', ')})`);
}

/**
 * The configuration after `request`, or why it cannot be made (as `conflict`).
 * Recorded data identities are kept; a learner added by `join` brings its own (`dataId`).
 */
export function nextConfiguration(current: Configuration, request: MembersRequest, dataId?: DataId): Configuration | ProtocolError {
  const { action, id } = request;
  const isVoter = current.voters.includes(id);
  const isLearner = current.learners.includes(id);
  let next: Configuration;
  switch (action) {
    case 'addLearner':
      if (isVoter || isLearner) return new Conflict(`${id} is already a ${isVoter ? 'voter' : 'learner'}`);
      next = withDataIds({ voters: current.voters, learners: [...current.learners, id] }, current, id, dataId);
      break;
    case 'promote':
      if (!isLearner) return new Conflict(`${id} is not a learner${isVoter ? ' (it already votes)' : ''}; add it as a learner first`);
      next = withDataIds({ voters: [...current.voters, id], learners: current.learners.filter((m) => m !== id) }, current, id, current.dataIds?.[id]);
      break;
    case 'remove':
      if (!isVoter && !isLearner) return new Conflict(`${id} is not a member`);
      next = withDataIds({ voters: current.voters.filter((m) => m !== id), learners: current.learners.filter((m) => m !== id) }, current, id, undefined);
      break;
  }
  return checked(current, next);
}

/**
 * `join` from a data directory the cluster recorded another identity for
 * under `id` (actors/raft/identity.ts): the member becomes a learner with the
 * new identity, catches up, and is promoted like any newcomer. Demoting it
 * costs no quorum: its old disk's votes and acknowledgements already count
 * for nothing, since the new one answers under its id.
 */
export function rejoinConfiguration(current: Configuration, id: string, dataId: DataId): Configuration | ProtocolError {
  if (!current.voters.includes(id) && !current.learners.includes(id)) return new Conflict(`${id} is not a member`);
  const next = { voters: current.voters.filter((m) => m !== id), learners: [...current.learners.filter((m) => m !== id), id] };
  return checked(current, withDataIds(next, current, id, dataId));
}

/**
 * Why `next` would leave the cluster unable to elect a leader if the current one
 * failed, or null: fewer of its voters than a quorum are in step (reachable, and
 * holding the log: a voter with an empty log vouches for no candidate, since it
 * may be a wiped disk; election.ts). Like etcd's strict reconfiguration check.
 * The simulation found it: seven voters, three never reached (a partition from
 * the start), the operator removed a fourth, and when the leader was lost the
 * three left holding the log could never gather four votes of six.
 */
export function quorumProblem(next: Configuration, inStep: ReadonlySet<string>, what: string): ProtocolError | null {
  if (hasQuorum(next.voters, (voter) => inStep.has(voter))) return null;
  const holding = next.voters.filter((voter) => inStep.has(voter));
  const missing = next.voters.filter((voter) => !inStep.has(voter));
  return new Conflict(
    `${what} would leave ${holding.length} of ${next.voters.length} voters reachable and holding the log (${holding.join(', ') || 'none'}); ` +
      `a quorum is ${majority(next.voters.length)}, so losing the leader would stop the cluster: wait until ${missing.join(', ')} ${missing.length === 1 ? 'catches' : 'catch'} up`,
  );
}

function checked(current: Configuration, next: Configuration): Configuration | ProtocolError {
  const problem = configProblem(current, next);
  return problem === null ? next : new Conflict(problem);
}

/** `roles` with the recorded identities of `current` carried over, and `id`'s set to `dataId` (or dropped when undefined). */
function withDataIds(roles: Configuration, current: Configuration, id: string, dataId: DataId | undefined): Configuration {
  const dataIds: Record<string, DataId> = { ...(current.dataIds ?? {}) };
  delete dataIds[id];
  if (dataId !== undefined) dataIds[id] = dataId;
  return Object.keys(dataIds).length === 0 ? roles : { ...roles, dataIds };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  return `${issue.path.map(String).join('.') || '(body)'} ${issue.message}`;
}
