/**
 * This replica's place in the configuration, as the runtime needs it:
 *
 *   leaderClusterView   the leader's view of every member, for the monitor (actors/monitor)
 *   findRemoval         evidence from a peer that a committed configuration no longer has this replica
 *   watchRemoval        polls for that evidence while no leader reaches this replica
 *   checkNotRemoved     the same check once at start: a removed replica refuses to start (unless it joins again)
 *
 * Why a replica must ask: a leader stops replicating to a member as soon as
 * it appends the configuration without it (thesis §4.1: a configuration
 * takes effect when appended), so a removed replica never receives the entry
 * that removes it. It only notices that nobody leads it any more; then it
 * asks its former peers, and a leader that committed a configuration without
 * it is the proof (thesis §4.2.2).
 */
import { z } from 'zod';
import type { SnapshotFrom } from 'xstate';
import type { raftMachine } from '../raft/index.ts';
import type { ReplicaId } from '../raft/types.ts';
import type { ClusterView, MemberView } from '../monitor/index.ts';
import type { LearnerIntent } from '../protocol/index.ts';
import { statusSubject, StatusReply } from '../protocol/index.ts';
import { RemovedReplicaError } from './errors.ts';
import type { ClientBus, RuntimeClock, RuntimeLogger } from './ports.ts';

/** A peer's status answer within this long, or it counts as not answering (a live replica answers in milliseconds). */
export const REMOVAL_CHECK_TIMEOUT_MS = 1_500;
/** While no leader reaches it, a replica asks its peers whether it was removed this often: cheap, and a removed replica stops within seconds. */
export const REMOVAL_CHECK_EVERY_MS = 1_000;
/** Without an append from a leader for this many maximum election timeouts, a replica suspects it was removed and asks. */
export const REMOVAL_SUSPECT_ELECTIONS = 2;

/**
 * Leader only: the members heard from within an election timeout whose log it
 * has confirmed non-empty, itself included; empty when not leading. The set a
 * voter change must keep a quorum of (admin.ts `quorumProblem`).
 */
export function membersInStep(snapshot: SnapshotFrom<typeof raftMachine>, electionMaxMs: number): ReadonlySet<ReplicaId> {
  // The same reachability rule as the monitor's view; its clock and learners' intents play no part here.
  const view = leaderClusterView(snapshot, electionMaxMs, 0, new Map());
  if (view === null) return new Set();
  return new Set(Object.entries(view.members).filter(([, m]) => m.reachable && m.matchIndex > 0).map(([id]) => id));
}

/** The leader's view of the members at `nowMs` (the runtime clock); null unless this core leads. */
export function leaderClusterView(
  snapshot: SnapshotFrom<typeof raftMachine>,
  electionMaxMs: number,
  nowMs: number,
  intents: ReadonlyMap<ReplicaId, LearnerIntent>,
): ClusterView | null {
  const c = snapshot.context;
  const ls = c.leaderState;
  if (c.role !== 'leader' || ls === null) return null;
  const members: Record<ReplicaId, MemberView> = {};
  for (const [peer, p] of Object.entries(ls.progress)) {
    const lastContactMs = p.lastContactMs === null ? null : Math.max(0, ls.nowMs - p.lastContactMs);
    // Heard from within an election timeout: it would still count towards check-quorum.
    members[peer] = { reachable: lastContactMs !== null && lastContactMs <= electionMaxMs, lastContactMs, matchIndex: p.matchIndex };
  }
  members[c.id] = { reachable: true, lastContactMs: 0, matchIndex: c.commitIndex };
  const learnersWanting = (intent: LearnerIntent): ReplicaId[] => c.config.learners.filter((id) => intents.get(id) === intent);
  return {
    nowMs,
    leader: c.id,
    commitIndex: c.commitIndex,
    voters: [...c.config.voters],
    learners: [...c.config.learners],
    standbys: learnersWanting('standby'),
    wantVote: learnersWanting('voter'),
    holdBack: learnersWanting('learner'),
    // Thesis §4.1: the next change waits until the latest configuration is committed.
    changeInFlight: c.configIndex > c.commitIndex,
    members,
  };
}

const PeerStatus = StatusReply.extend({ ok: z.literal(true), configIndex: z.int().min(0) });

/** Why this replica is no longer a member, from a leader's status; null without such evidence. */
export async function findRemoval(args: {
  readonly bus: Pick<ClientBus, 'request'>;
  readonly prefix: string;
  readonly id: ReplicaId;
  readonly peers: readonly ReplicaId[];
}): Promise<string | null> {
  const { bus, prefix, id } = args;
  const answers = await Promise.all(
    args.peers
      .filter((peer) => peer !== id)
      .map(async (peer) => {
        try {
          const parsed = PeerStatus.safeParse(JSON.parse(await bus.request(statusSubject(prefix, peer), '{}', REMOVAL_CHECK_TIMEOUT_MS)));
          return parsed.success ? parsed.data : null;
        } catch {
          return null; // not running, or an older build without configIndex: no evidence either way
        }
      }),
  );
  for (const status of answers) {
    if (status === null || status.role !== 'leader') continue;
    // Only a committed configuration is evidence: an appended one may still be truncated away.
    if (status.configIndex > status.commitIndex) continue;
    if (status.voters.includes(id) || status.learners.includes(id)) continue;
    return `leader ${status.id} (term ${status.term}) committed a configuration without ${id} at index ${status.configIndex} (voters ${status.voters.join(', ')}${status.learners.length > 0 ? `; learners ${status.learners.join(', ')}` : ''})`;
  }
  return null;
}

/** At start: throws RemovedReplicaError when a leader shows this replica was removed. */
export async function checkNotRemoved(args: Parameters<typeof findRemoval>[0] & { readonly log: Pick<RuntimeLogger, 'info'> }): Promise<void> {
  const evidence = await findRemoval(args);
  if (evidence !== null) throw new RemovedReplicaError(args.id, evidence);
}

export interface RemovalWatch {
  /** Resolves with the evidence once this replica learns it was removed. */
  readonly removed: Promise<string>;
  stop(): void;
}

/** Polls for removal while no leader has reached this replica for REMOVAL_SUSPECT_ELECTIONS election timeouts. */
export function watchRemoval(args: {
  readonly bus: Pick<ClientBus, 'request'>;
  readonly clock: Pick<RuntimeClock, 'now' | 'sleep'>;
  readonly prefix: string;
  readonly id: ReplicaId;
  readonly electionMaxMs: number;
  /** Every member of this replica's latest configuration. */
  members(): readonly ReplicaId[];
  /** When a leader last reached this replica (runtime clock), or when it started; null while it leads. */
  lastLeaderContact(): number | null;
}): RemovalWatch {
  let stopped = false;
  let found!: (evidence: string) => void;
  const removed = new Promise<string>((resolve) => (found = resolve));
  const suspectAfterMs = REMOVAL_SUSPECT_ELECTIONS * args.electionMaxMs;
  void (async () => {
    while (!stopped) {
      await args.clock.sleep(REMOVAL_CHECK_EVERY_MS);
      const contact = args.lastLeaderContact();
      if (stopped || contact === null || args.clock.now() - contact < suspectAfterMs) continue;
      const evidence = await findRemoval({ bus: args.bus, prefix: args.prefix, id: args.id, peers: args.members() });
      if (evidence !== null && !stopped) {
        found(evidence);
        return;
      }
    }
  })();
  return {
    removed,
    stop() {
      stopped = true;
    },
  };
}
