/**
 * Errors the runtime tells apart. Each maps onto one protocol error code
 * (PROTOCOL.md) or, for the operator's errors, stops the replica with a
 * clear message.
 */

/** The cluster could not commit or answer in time (no leader, no quorum): protocol `unavailable`. */
export class UnavailableError extends Error {
  readonly code = 'unavailable' as const;
  constructor(message: string) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/**
 * A proposal this replica made was not committed where the core put it: the
 * entry at its index was applied with another term (Raft §5.3: a new leader
 * overwrote it), or the core refused it. Safe to retry.
 */
export class ProposalLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProposalLostError';
  }
}

/** This replica is not the leader (anymore); `leader` is who it believes leads. */
export class NotLeaderError extends Error {
  constructor(readonly leader: string | null) {
    super(leader ? `not the leader; ${leader} is` : 'not the leader, and no leader is known');
    this.name = 'NotLeaderError';
  }
}

/** A wiped data directory restarted with an id the cluster still counts as a voter. */
export class WipedReplicaError extends Error {
  constructor(id: string, evidence: string) {
    super(
      `refusing to start replica ${id} with an empty data directory: the cluster already has a log and ${evidence}. ` +
        `A replica that lost its disk must not vote with an empty log (it could help elect a leader missing acknowledged writes). ` +
        `To replace it: remove ${id} from the cluster (quorumchat members remove ${id}), then add a replica with a NEW id ` +
        `(see docs/replica.md, "Replacing a replica").`,
    );
    this.name = 'WipedReplicaError';
  }
}

/**
 * The cluster recorded another data directory under this replica's id
 * (actors/raft/identity.ts): this one was wiped, replaced or copied. It must
 * not vote or count; it may come back as a new learner with --join.
 */
export class DisownedReplicaError extends Error {
  constructor(readonly id: string, dataId: string, recorded: string, source: string) {
    super(
      `refusing to run replica ${id}: its data directory has identity ${dataId}, but the cluster recorded ${recorded} for ${id} (${source}). ` +
        `This directory is not the one that joined as ${id} (it was wiped, replaced or copied), and a replica must never vote or count ` +
        `toward a quorum on a disk that did not acknowledge what its id acknowledged. Start it with --join to come back as a new learner ` +
        `(it catches up and is promoted), or give it a new id (docs/operators.md, "A replica's identity").`,
    );
    this.name = 'DisownedReplicaError';
  }
}

/** Another running replica already answers under this id: two processes must never share one id (double votes). */
export class DuplicateReplicaError extends Error {
  constructor(id: string, pid: unknown) {
    super(
      `refusing to start replica ${id}: a replica with this id is already running (it answered its status subject${typeof pid === 'number' ? `, pid ${pid}` : ''}). ` +
        'Stop it first, or give this replica another id.',
    );
    this.name = 'DuplicateReplicaError';
  }
}

/** The replica is shutting down and takes no new work. */
export class StoppingError extends Error {
  constructor() {
    super('the replica is shutting down');
    this.name = 'StoppingError';
  }
}

/** The cluster committed a configuration without this replica: it must not start (or keep running) as a member. */
export class RemovedReplicaError extends Error {
  constructor(readonly id: string, evidence: string) {
    super(
      `refusing to start replica ${id}: it was removed from the cluster (${evidence}). ` +
        `Its data directory is kept for inspection. To bring it back, start it with --join (it comes back as a new learner ` +
        `and is promoted once caught up), or start a replica with a new id (docs/operators.md, "Removing a replica").`,
    );
    this.name = 'RemovedReplicaError';
  }
}

/** `replica --join` could not be added: the cluster refused, or no leader answered in time. */
export class JoinRefusedError extends Error {
  constructor(readonly id: string, reason: string) {
    super(`replica ${id} could not join the cluster: ${reason}`);
    this.name = 'JoinRefusedError';
  }
}
