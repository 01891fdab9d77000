/**
 * Bodies of the per-replica status reply (PROTOCOL.md) and of the `cluster`
 * op, from the core's snapshot and the store's position.
 *
 * Status extras (a compatible extension, docs/replica.md): pid, lastIndex,
 * snapshotIndex, lag, health, nats, uptimeMs, lastLeaderContactMs,
 * progress (leader only), pipeline and transport counters.
 */
import type { SnapshotFrom } from 'xstate';
import { viewOf, type raftMachine } from '../raft/index.ts';
import type { Index, ReplicaId, Role } from '../raft/types.ts';
import type { Health, PeerProgress, StatusFields } from '../protocol/index.ts';
import type { StoreStatus } from '../../storage/index.ts';
import type { BusStatus } from './ports.ts';
import type { TransportStats } from '../transport/types.ts';
import type { PipelineStats } from './pipeline.ts';
import type { ProposalBatchStats } from './proposal-batch.ts';

/** A replica more than this many entries behind its commit index reports health `catching-up`. */
export const CATCHING_UP_LAG = 100;

/** The status reply as built: the protocol's fields (actors/protocol/status.ts), then the extras. */
export interface ReplicaStatus extends StatusFields {
  readonly role: Role;
  readonly pid: number;
  readonly lastIndex: Index;
  readonly snapshotIndex: Index;
  /** commitIndex − appliedIndex. */
  readonly lag: Index;
  readonly health: Health;
  readonly nats: BusStatus;
  readonly uptimeMs: number;
  readonly progress: Readonly<Record<ReplicaId, PeerProgress>>;
  readonly requestsInFlight: number;
  readonly pipeline: PipelineStats;
  /** Proposals handed to the core and the core events they took (proposal-batch.ts). */
  readonly proposals: ProposalBatchStats;
  readonly transport: TransportStats;
  readonly inspectionDropped: number;
  /** Milliseconds since this replica last received an append from a leader; 0 on the leader, null if never. */
  readonly lastLeaderContactMs: number | null;
  /** Index of the latest configuration in the log (committed once ≤ commitIndex): a removed replica's evidence (membership.ts). */
  readonly configIndex?: Index;
  /** The longest silence between two appends from a leader since start (heartbeats stalled this long at worst). */
  readonly longestAppendGapMs?: number;
  /** This replica's data directory identity (actors/raft/identity.ts), and the identities its configuration records. */
  readonly dataId: string | null;
  readonly dataIds: Readonly<Record<ReplicaId, string>>;
  /** What this replica announces while a learner (voter, standby, learner). */
  readonly intent?: string;
  /** The monitor's latest decisions (the leader's are the ones carried out) and the learners' intents it knows. */
  readonly monitor?: { readonly enabled: boolean; readonly intents: Readonly<Record<string, string>>; readonly decisions: readonly unknown[] };
}

export interface StatusInput {
  readonly snapshot: SnapshotFrom<typeof raftMachine>;
  readonly store: StoreStatus;
  readonly link: BusStatus;
  readonly startedAt: number;
  /** The runtime clock's now (uptime). */
  readonly now: number;
  readonly pid: number;
  readonly pipeline: PipelineStats;
  readonly proposals: Readonly<ProposalBatchStats>;
  readonly requestsInFlight: number;
  readonly electionMaxMs: number;
  readonly transport: TransportStats;
  readonly inspectionDropped: number;
  readonly lastLeaderContactMs: number | null;
}

export function buildStatus(input: StatusInput): ReplicaStatus {
  const view = viewOf(input.snapshot);
  const lag = Math.max(0, view.commitIndex - input.store.appliedIndex);
  const health: Health =
    input.link !== 'connected' ? 'disconnected' : view.leader === null ? 'no-leader' : lag > CATCHING_UP_LAG ? 'catching-up' : 'ok';
  return {
    id: view.id,
    role: view.role,
    term: view.term,
    leader: view.leader,
    commitIndex: view.commitIndex,
    appliedIndex: input.store.appliedIndex,
    digest: input.store.digest,
    voters: view.config.voters,
    learners: view.config.learners,
    pid: input.pid,
    lastIndex: view.lastIndex,
    snapshotIndex: input.store.snapshotIndex,
    lag,
    health,
    nats: input.link,
    uptimeMs: input.now - input.startedAt,
    progress: progressOf(input.snapshot),
    requestsInFlight: input.requestsInFlight,
    pipeline: { ...input.pipeline },
    proposals: { ...input.proposals },
    transport: input.transport,
    inspectionDropped: input.inspectionDropped,
    lastLeaderContactMs: input.lastLeaderContactMs,
    dataId: input.snapshot.context.dataId,
    dataIds: input.snapshot.context.config.dataIds ?? {},
  };
}

/** PROTOCOL.md `cluster` (without `ok`): the leader's view of every member. */
export function buildClusterBody(snapshot: SnapshotFrom<typeof raftMachine>, electionMaxMs: number): Record<string, unknown> {
  const view = viewOf(snapshot);
  const progress = progressOf(snapshot);
  const members = [...view.config.voters.map((id) => ({ id, voter: true })), ...view.config.learners.map((id) => ({ id, voter: false }))].map(({ id, voter }) => {
    if (id === view.id) {
      return { id, voter, role: view.role, reachable: true, lastContactMs: 0, matchIndex: view.lastIndex };
    }
    const peer = progress[id];
    const lastContactMs = peer?.lastContactMs ?? null;
    return {
      id,
      voter,
      role: voter ? 'follower' : 'learner',
      // Heard from within an election timeout: it would still count towards check-quorum.
      reachable: lastContactMs !== null && lastContactMs <= electionMaxMs,
      lastContactMs,
      matchIndex: peer?.matchIndex ?? 0,
    };
  });
  return { leader: view.leader, term: view.term, commitIndex: view.commitIndex, members };
}

/** Leader only: each peer's progress, with lastContact turned into "ms ago" (the core counts ms since taking office). */
function progressOf(snapshot: SnapshotFrom<typeof raftMachine>): Record<ReplicaId, PeerProgress> {
  const leaderState = snapshot.context.leaderState;
  if (!leaderState) return {};
  const out: Record<ReplicaId, PeerProgress> = {};
  for (const [peer, p] of Object.entries(leaderState.progress)) {
    out[peer] = {
      matchIndex: p.matchIndex,
      nextIndex: p.nextIndex,
      lastContactMs: p.lastContactMs === null ? null : Math.max(0, leaderState.nowMs - p.lastContactMs),
    };
  }
  return out;
}
