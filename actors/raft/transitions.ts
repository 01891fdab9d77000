/**
 * The Raft role diagram as data: which role may follow which. The machine
 * builds its eventless routes from this table (so the inspector's chart is
 * this table), and every step checks the role changes it made against it.
 */
import type { Role } from './types.ts';

/**
 * Legal role changes (Raft §5.2 Figure 4, thesis §9.6 pre-vote, §3.10
 * transfer, §4 membership). A change to the same role is not listed: it is
 * a timer restart, which the machine does by re-entering the state.
 */
export const LEGAL_ROLE_CHANGES = {
  // Election timeout: pre-vote; TimeoutNow: campaign at once; a configuration drops it from the voters.
  follower: ['pre-candidate', 'candidate', 'learner'],
  // Pre-votes won; refused, or a leader / higher term heard; dropped from the voters.
  'pre-candidate': ['candidate', 'follower', 'learner'],
  // Votes won; refused, or a leader / higher term heard; election timeout (pre-vote again); dropped from the voters.
  candidate: ['leader', 'follower', 'pre-candidate', 'learner'],
  // Higher term, check-quorum failed, transfer done; its own removal committed (thesis §4.2.2).
  leader: ['follower', 'learner'],
  // A configuration makes it a voter; it never campaigns, so it can only follow.
  learner: ['follower'],
} as const satisfies Record<Role, readonly Role[]>;

export function isLegalRoleChange(from: Role, to: Role): boolean {
  return (LEGAL_ROLE_CHANGES[from] as readonly Role[]).includes(to);
}

/** A step computed a role change Raft does not allow: a bug in the core, never a peer's or client's fault. */
export class IllegalRoleChangeError extends Error {
  override readonly name = 'IllegalRoleChangeError';
  constructor(
    readonly from: Role,
    readonly to: Role,
    readonly event: string,
  ) {
    super(`illegal role change ${from} -> ${to} on ${event}`);
  }
}

/**
 * Check a step's role path (the roles it entered, in order, through
 * `changeRole`) starting from `from`. Throws IllegalRoleChangeError on the
 * first illegal change, or if the role was set without being recorded (the
 * machine would never follow it).
 */
export function assertRolePath(from: Role, path: readonly Role[], finalRole: Role, event: string): void {
  let at = from;
  for (const to of path) {
    if (!isLegalRoleChange(at, to)) throw new IllegalRoleChangeError(at, to, event);
    at = to;
  }
  if (finalRole !== at) throw new IllegalRoleChangeError(at, finalRole, `${event} (role set without changeRole)`);
}
