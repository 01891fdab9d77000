/**
 * An in-memory cluster of cores for unit tests and benches: one shared
 * SimulatedClock, a FIFO of messages in flight delivered by `pump`, and
 * every Ready handed to `onReady`. No disk, no faults (test/sim has those).
 */
import { SimulatedClock } from 'xstate';
import { createRaftActor, viewOf, newReplicaInput } from '../../actors/raft/index.ts';
import type { CoreView, Message, RaftActor, RaftLimits, Ready, ReplicaId } from '../../actors/raft/index.ts';

/** Clock step while waiting for a leader: a tenth of the shortest election timeout. */
const WAIT_STEP_MS = 10;
/** Give up waiting for a leader after this much simulated time (many election timeouts). */
const LEADER_WAIT_MS = 5_000;

export interface MemCluster {
  readonly clock: SimulatedClock;
  readonly actors: ReadonlyMap<ReplicaId, RaftActor>;
  /** Messages sent and not yet delivered, oldest first; tests may take from or reorder it. */
  readonly queue: Message[];
  /** Deliver until nothing is in flight. */
  pump(): void;
  /** Advance the clock `ms` in steps, delivering after each. */
  run(ms: number): void;
  views(): CoreView[];
  /** Run until some replica leads (throws if none does), deliver its first round, and return it. */
  electLeader(): RaftActor;
}

/** `knobs.limits` replaces the cores' flow-control limits (default DEFAULT_LIMITS). */
export function memCluster(ids: readonly ReplicaId[], onReady: (id: ReplicaId, ready: Ready) => void = () => {}, knobs: { readonly limits?: RaftLimits } = {}): MemCluster {
  const clock = new SimulatedClock();
  const queue: Message[] = [];
  const actors = new Map<ReplicaId, RaftActor>();
  ids.forEach((id, i) => {
    const actor = createRaftActor(
      newReplicaInput(id, { voters: ids, learners: [] }, i + 1, knobs.limits === undefined ? {} : { limits: knobs.limits }),
      { clock },
    );
    actor.on('ready', (e) => {
      onReady(id, e.ready);
      queue.push(...e.ready.messages);
    });
    actor.start();
    actors.set(id, actor);
  });
  const pump = () => {
    while (queue.length > 0) {
      const m = queue.shift()!;
      actors.get(m.to)?.send({ type: 'message', message: m });
    }
  };
  const run = (ms: number) => {
    for (let t = 0; t < ms; t += WAIT_STEP_MS) {
      clock.increment(WAIT_STEP_MS);
      pump();
    }
  };
  const leaderOf = () => [...actors.values()].find((a) => viewOf(a.getSnapshot()).role === 'leader');
  const electLeader = () => {
    for (let t = 0; t < LEADER_WAIT_MS && leaderOf() === undefined; t += WAIT_STEP_MS) run(WAIT_STEP_MS);
    pump();
    const leader = leaderOf();
    if (leader === undefined) throw new Error(`no leader within ${LEADER_WAIT_MS} ms of simulated time`);
    return leader;
  };
  return { clock, actors, queue, pump, run, views: () => [...actors.values()].map((a) => viewOf(a.getSnapshot())), electLeader };
}
