/**
 * The consensus core's public entry: the machine, a factory for its actor,
 * and a read-only view of a snapshot. See docs/raft.md.
 */
import { createActor } from 'xstate';
import type { Actor, ActorOptions, InspectionEvent, Observer, SnapshotFrom } from 'xstate';
import type { CoreView, RaftInput, ReplicaId } from './types.ts';
import { raftMachine } from './machine.ts';
import { entriesOf, lastIndex } from './log.ts';
import { validateInput } from './input.ts';

export * from './types.ts';
export { raftMachine } from './machine.ts';
export type { ReadyEmitted } from './machine.ts';
export { DEFAULT_LIMITS, DEFAULT_TIMING, MAX_PROPOSALS_PER_EVENT } from './limits.ts';
export { InvalidRaftInputError, newReplicaInput } from './input.ts';

export interface RaftActorOptions {
  /** Timer source; real timers when absent. Tests pass xstate's SimulatedClock. */
  readonly clock?: Clock;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  readonly systemId?: string;
}

export type RaftActor = Actor<typeof raftMachine>;

/** XState's clock interface ({ setTimeout, clearTimeout }); SimulatedClock implements it. */
export type Clock = NonNullable<ActorOptions<typeof raftMachine>['clock']>;

/**
 * A core for one replica. Subscribe with `actor.on('ready', ...)` before
 * `actor.start()`; every step that has effects emits exactly one Ready,
 * synchronously, during `send`. Throws InvalidRaftInputError on input no
 * replica could have (a gap in the log, commitIndex past its end, ...).
 */
export function createRaftActor(input: RaftInput, options: RaftActorOptions = {}): RaftActor {
  validateInput(input);
  return createActor(raftMachine, {
    input,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.inspect !== undefined ? { inspect: options.inspect } : {}),
    ...(options.systemId !== undefined ? { systemId: options.systemId } : {}),
  });
}

/** A read-only view of one core, for invariant checks, status and the inspector. */
export function viewOf(snapshot: SnapshotFrom<typeof raftMachine>): CoreView {
  const c = snapshot.context;
  const progress: Record<ReplicaId, { matchIndex: number; nextIndex: number; lastContactMs: number | null }> = {};
  for (const [peer, p] of Object.entries(c.leaderState?.progress ?? {})) {
    progress[peer] = { matchIndex: p.matchIndex, nextIndex: p.nextIndex, lastContactMs: p.lastContactMs };
  }
  const log = c.log;
  return {
    id: c.id,
    role: c.role,
    term: c.term,
    votedFor: c.votedFor,
    leader: c.leader,
    commitIndex: c.commitIndex,
    config: c.config,
    snapshot: c.log.snapshot,
    lastIndex: lastIndex(c.log),
    // A copy made on first access: cheap views for status, exact ones for invariant checks.
    get entries() {
      return entriesOf(log);
    },
    progress,
  };
}
