/**
 * Runs real raft cores (actors/raft) with real timers and publishes their
 * XState inspection events to NATS the way a replica does: one JSON record
 * per snapshot on `<prefix>.inspect.<id>` with the state value, the causing
 * event and the term. For inspector tests that run before (or without) the
 * replica runtime.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { InspectionEvent } from 'xstate';
import { createRaftActor, newReplicaInput, type Message, type RaftActor } from '../../../actors/raft/index.ts';
import { inspectSubject } from '../../../actors/protocol/index.ts';

/** Cores of one cluster wired to each other in memory; their inspection goes to NATS. */
export function startPublishingCores(nc: NatsConnection, prefix: string, ids: readonly string[]): { actors: Map<string, RaftActor>; stop(): void } {
  const actors = new Map<string, RaftActor>();
  const deliver = (m: Message): void => {
    // Delivered on a later tick, as a network would, never re-entrantly inside a step.
    setTimeout(() => actors.get(m.to)?.send({ type: 'message', message: m }), 1);
  };
  ids.forEach((id, i) => {
    const actor = createRaftActor(
      newReplicaInput(id, { voters: ids, learners: [] }, 1000 + i),
      { inspect: (event: InspectionEvent) => publish(nc, prefix, id, event) },
    );
    actor.on('ready', ({ ready }) => {
      for (const m of ready.messages) deliver(m);
    });
    actors.set(id, actor);
  });
  for (const a of actors.values()) a.start();
  return {
    actors,
    stop: () => {
      for (const a of actors.values()) a.stop();
    },
  };
}

function publish(nc: NatsConnection, prefix: string, id: string, event: InspectionEvent): void {
  if (event.type !== '@xstate.snapshot') return;
  const snapshot = event.snapshot as { value?: unknown; context?: { term?: number } };
  if (snapshot.value === undefined) return;
  const cause = event.event as { type: string; message?: { type?: string; from?: string } };
  const record = {
    replica: id,
    value: snapshot.value,
    event: cause.type === 'message' && cause.message ? { type: 'message', message: { type: cause.message.type, from: cause.message.from } } : { type: cause.type },
    term: snapshot.context?.term,
    at: Date.now(),
  };
  nc.publish(inspectSubject(prefix, id), JSON.stringify(record));
}
