/**
 * The simulation's handle on one consensus core: the real `createRaftActor`
 * with a simulated clock, its Readies collected for the harness, and any
 * crash of the machine caught instead of thrown asynchronously.
 */
import type { Clock } from '../../actors/transport/sim-clock.ts';
import { createRaftActor, viewOf } from '../../actors/raft/index.ts';
import type { CoreView, RaftEvent, RaftInput, Ready } from '../../actors/raft/types.ts';

export interface SimCore {
  send(event: RaftEvent): void;
  view(): CoreView;
  /** Drop the actor (a crash): its timers are cancelled with it. */
  stop(): void;
  /** Set once the machine threw; the core is dead from then on. */
  readonly failure: unknown;
}

export function startCore(input: RaftInput, clock: Clock, onReady: (ready: Ready) => void): SimCore {
  const actor = createRaftActor(input, { clock });
  let failure: unknown = undefined;
  actor.on('ready', (event) => onReady(event.ready));
  // An error observer keeps XState from rethrowing the machine's error on a real timer.
  actor.subscribe({ error: (error: unknown) => (failure = error ?? new Error('core failed without an error')) });
  actor.start();
  return {
    send(event) {
      if (failure !== undefined) return;
      actor.send(event);
    },
    view: () => viewOf(actor.getSnapshot()),
    stop: () => actor.stop(),
    get failure() {
      return failure;
    },
  };
}
