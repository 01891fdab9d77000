/** The replica runtime: drives the consensus core, storage, chat and transport as one running replica. See docs/replica.md. */
export { startReplica, initialConfiguration, configurationAt, type Replica, type ReplicaSettings, type ReplicaWorld, type OpenedStore, type RaftStart } from './replica.ts';
export type { ClientBus, BusRequest, BusStatus, RuntimeClock, RuntimeRandom, RuntimeLogger, RuntimeStore, ReplicaApplication, WireReply } from './ports.ts';
export type { ReplicaStatus } from './status.ts';
export { CATCHING_UP_LAG } from './status.ts';
export { DisownedReplicaError, DuplicateReplicaError, WipedReplicaError, RemovedReplicaError, JoinRefusedError, UnavailableError, NotLeaderError, ProposalLostError, StoppingError } from './errors.ts';
export { createPipeline, mergePersists } from './pipeline.ts';
export { requestJoin, type Joined } from './join.ts';
export { checkIdUnused } from './guard.ts';
