/**
 * The consensus core as an XState v5 machine. The states are the Raft
 * roles; every event runs the pure `step` (step.ts) over the context and
 * emits that step's Ready, if any, exactly once. Role changes then happen
 * by guarded eventless transitions that follow, one at a time, the roles the
 * step went through (only the changes in transitions.ts exist, so the chart
 * is the Raft role diagram); a state re-enters itself to restart its timers. Timers are `after` delays read from context, so they run on
 * whatever clock the actor was given.
 *
 *   follower: a tick every heartbeatMs that counts the quiet time since the
 *             leader was last heard (lease and election timeout); a message
 *             from the leader only records that it was heard
 *   pre-candidate, candidate: the randomized election timeout
 *   leader: the heartbeat tick (check-quorum and transfer deadlines count these ticks)
 *   learner: no timers; it never campaigns
 */
import { enqueueActions, setup } from 'xstate';
import type { RaftEvent, RaftInput, Ready, Role } from './types.ts';
import type { CoreState } from './state.ts';
import { initialState } from './state.ts';
import type { TimerEvent } from './step.ts';
import { step } from './step.ts';
import { ROLE_CHANGES, legalNextRoles } from './transitions.ts';

/** What the actor emits: one per step that has anything to do. */
export interface ReadyEmitted {
  readonly type: 'ready';
  readonly ready: Ready;
}

/**
 * A role state's eventless routes: to each role Raft allows next
 * (transitions.ts), when that is the next role the step recorded; else back
 * into itself when the step asked for its timers to restart.
 */
function routesFrom(role: Role) {
  const changes = legalNextRoles(role).map((to) => ({
    description: (ROLE_CHANGES[role] as Partial<Record<Role, string>>)[to],
    guard: { type: 'nextRoleIs' as const, params: { role: to } },
    target: `#raft.${to}`,
    actions: { type: 'entered' as const, params: { role: to } },
  }));
  // A learner has no timers (step never asks it to restart them).
  if (role === 'learner') return changes;
  const restart = { guard: { type: 'timerReset' as const }, target: `#raft.${role}`, reenter: true, actions: { type: 'restarted' as const } };
  return [...changes, restart];
}
export const raftMachine = setup({
  types: {
    context: {} as CoreState,
    events: {} as RaftEvent,
    input: {} as RaftInput,
    emitted: {} as ReadyEmitted,
  },
  actions: {
    step: enqueueActions(({ context, event, enqueue }, params: { timer?: TimerEvent['type'] }) => {
      const input = params.timer !== undefined ? { type: params.timer } : event;
      const { state, ready } = step(context, input);
      enqueue.assign(() => state);
      if (ready !== null) enqueue.emit({ type: 'ready', ready });
    }),
    entered: enqueueActions(({ context, enqueue }, params: { role: Role }) => {
      enqueue.assign({ enteredRole: params.role, rolePath: context.rolePath.slice(1), timerReset: false });
    }),
    restarted: enqueueActions(({ enqueue }) => {
      enqueue.assign({ timerReset: false });
    }),
  },
  guards: {
    nextRoleIs: ({ context }, params: { role: Role }) => context.rolePath[0] === params.role,
    timerReset: ({ context }) => context.rolePath.length === 0 && context.timerReset,
  },
  delays: {
    electionTimeout: ({ context }) => context.electionTimeoutMs,
    electionTick: ({ context }) => context.timing.heartbeatMs,
    heartbeat: ({ context }) => context.timing.heartbeatMs,
  },
}).createMachine({
  id: 'raft',
  context: ({ input }) => initialState(input),
  initial: 'follower',
  on: {
    message: { actions: { type: 'step', params: {} } },
    propose: { actions: { type: 'step', params: {} } },
    proposeMany: { actions: { type: 'step', params: {} } },
    proposeConfig: { actions: { type: 'step', params: {} } },
    readIndex: { actions: { type: 'step', params: {} } },
    transferLeadership: { actions: { type: 'step', params: {} } },
    compacted: { actions: { type: 'step', params: {} } },
    unreachable: { actions: { type: 'step', params: {} } },
    snapshotDelivered: { actions: { type: 'step', params: {} } },
    persisted: { actions: { type: 'step', params: {} } },
  },
  states: {
    follower: {
      always: routesFrom('follower'),
      // One repeating tick instead of an election timer restarted on every append (see electionElapsedMs).
      after: { electionTick: { target: 'follower', reenter: true, actions: { type: 'step', params: { timer: 'electionTick' } } } },
    },
    'pre-candidate': {
      always: routesFrom('pre-candidate'),
      after: { electionTimeout: { actions: { type: 'step', params: { timer: 'electionTimeout' } } } },
    },
    candidate: {
      always: routesFrom('candidate'),
      after: { electionTimeout: { actions: { type: 'step', params: { timer: 'electionTimeout' } } } },
    },
    leader: {
      always: routesFrom('leader'),
      after: { heartbeat: { target: 'leader', reenter: true, actions: { type: 'step', params: { timer: 'heartbeat' } } } },
    },
    learner: {
      always: routesFrom('learner'),
    },
  },
});
