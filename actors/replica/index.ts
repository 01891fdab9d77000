/** The replica runtime: drives the consensus core, storage, chat and transport as one running replica. See docs/replica.md. */
export { startReplica, type Replica, type StartOptions, type TransportFactory } from './replica.ts';
export type { ReplicaStatus } from './status.ts';
export { CATCHING_UP_LAG } from './status.ts';
export { DuplicateReplicaError, WipedReplicaError, UnavailableError, NotLeaderError, ProposalLostError, StoppingError } from './errors.ts';
export { createPipeline, mergePersists } from './pipeline.ts';
