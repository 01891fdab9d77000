/**
 * Operator requests (a compatible extension of the protocol, docs/replica.md):
 * membership changes one replica at a time (thesis §4.1) and leadership
 * transfer (thesis §3.10). Any replica takes them on `<prefix>.admin.<op>`
 * (queue group `<prefix>.admin`) and forwards to the leader like a write.
 * Their subjects and schemas are the protocol's (actors/protocol/admin.ts).
 */
import type { z } from 'zod';
import type { Configuration } from '../raft/types.ts';
import { configProblem } from '../raft/proposals.ts';
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

/** The configuration after `request`, or why it cannot be made (as `conflict`). */
export function nextConfiguration(current: Configuration, request: MembersRequest): Configuration | ProtocolError {
  const { action, id } = request;
  const isVoter = current.voters.includes(id);
  const isLearner = current.learners.includes(id);
  let next: Configuration;
  switch (action) {
    case 'addLearner':
      if (isVoter || isLearner) return new Conflict(`${id} is already a ${isVoter ? 'voter' : 'learner'}`);
      next = { voters: current.voters, learners: [...current.learners, id] };
      break;
    case 'promote':
      if (!isLearner) return new Conflict(`${id} is not a learner${isVoter ? ' (it already votes)' : ''}; add it as a learner first`);
      next = { voters: [...current.voters, id], learners: current.learners.filter((m) => m !== id) };
      break;
    case 'remove':
      if (!isVoter && !isLearner) return new Conflict(`${id} is not a member`);
      next = { voters: current.voters.filter((m) => m !== id), learners: current.learners.filter((m) => m !== id) };
      break;
  }
  const problem = configProblem(current, next);
  return problem === null ? next : new Conflict(problem);
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  return `${issue.path.map(String).join('.') || '(body)'} ${issue.message}`;
}
