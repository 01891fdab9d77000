/**
 * Exit codes of `quorumchat members`: beyond the shared ones (cli/errors.ts:
 * 0 ok, 1 failure, 2 usage, 3 NATS unreachable, 4 no leader), each reason a
 * change is refused has its own, so a script can tell them apart.
 */
import type { ChangeProblem, ChangeProblemKind } from '../../actors/monitor/index.ts';
import { ExitCode } from '../errors.ts';

/** Numbered from 10 so they never collide with the shared codes. */
export const REFUSAL_EXIT_CODES: Readonly<Record<ChangeProblemKind | 'refusedByCluster', number>> = {
  noLeader: ExitCode.unavailable,
  unknownMember: 10,
  wrongKind: 11,
  tooFewVoters: 12,
  quorumAtRisk: 13,
  notCaughtUp: 14,
  changeInFlight: 15,
  removesLeader: 16,
  noQuorum: 17,
  /** The leader refused a change the command's own checks let through (`conflict`): its view moved on meanwhile. */
  refusedByCluster: 18,
};

/** One line per code for `--help` and docs/cli.md. */
export const REFUSAL_HELP = `Exit codes:
   0  done (list: a leader answered)
   2  a bad flag or id
   3  NATS cannot be reached
   4  no leader (list: none answered; a change: none to take it, or it did not answer in time)
  10  unknown id: not a member
  11  wrong kind of member: add an existing member, promote a voter, transfer to a learner
  12  the removal would leave fewer than 3 voters
  13  the change would leave fewer live voters than a quorum of the new configuration
  14  promote or transfer to a member that is unreachable or behind (promote --force overrides)
  15  another membership change is not committed yet
  16  removing the leader, and no other voter is caught up to take over (otherwise leadership moves first)
  17  fewer live voters than a quorum now: nothing can be changed
  18  the leader refused the change (conflict)`;

/** A change refused, by the command's checks or by the cluster: printed as one line, exits with its own code. */
export class MembersRefusal extends Error {
  override readonly name = 'MembersRefusal';
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }

  static of(problem: ChangeProblem): MembersRefusal {
    return new MembersRefusal(problem.message, REFUSAL_EXIT_CODES[problem.kind]);
  }
}
