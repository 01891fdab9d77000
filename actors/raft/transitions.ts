/**
 * The Raft role diagram as data: which role may follow which. The machine
 * builds its eventless routes from this table (so the inspector's chart is
 * this table), and every step checks the role changes it made against it.
 */
import type { Role } from './types.ts';

/**
 * Legal role changes and why each happens (Raft §5.2 Figure 4, thesis §9.6
 * pre-vote, §3.10 transfer, §4 membership). A change to the same role is
 * not listed: it is a timer restart, which the machine does by re-entering
 * the state. The reasons become the transitions' descriptions.
 */
export const ROLE_CHANGES = {
  follower: {
    'pre-candidate': 'election timeout: pre-vote',
    candidate: 'TimeoutNow: campaign at once (transfer)',
    learner: 'a configuration makes it a non-voter',
  },
  'pre-candidate': {
    candidate: 'pre-votes won',
    follower: 'pre-votes refused, or a leader or higher term heard',
    learner: 'a configuration makes it a non-voter',
  },
  candidate: {
    leader: 'votes won',
    follower: 'votes refused, or a leader or higher term heard',
    'pre-candidate': 'election timeout: pre-vote again',
    learner: 'a configuration makes it a non-voter',
  },
  leader: {
    follower: 'higher term, check-quorum failed, or transfer done',
    learner: 'its own removal committed (thesis §4.2.2)',
  },
  learner: {
    follower: 'a configuration makes it a voter',
  },
} as const satisfies Record<Role, Partial<Record<Role, string>>>;

/** The roles Raft allows `from` to change to. */
export function legalNextRoles(from: Role): Role[] {
  return Object.keys(ROLE_CHANGES[from]) as Role[];
}

export function isLegalRoleChange(from: Role, to: Role): boolean {
  return Object.hasOwn(ROLE_CHANGES[from], to);
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
