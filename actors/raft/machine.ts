/**
 * The consensus core as an XState v5 machine. The states are the Raft
 * roles; every event runs the pure `step` (step.ts) over the context and
 * emits that step's Ready, if any, exactly once. Role changes then happen
 * by guarded eventless transitions, re-entering a state to restart its
 * timers. Timers are `after` delays read from context, so they run on
 * whatever clock the actor was given.
 *
 *   follower, pre-candidate, candidate: the randomized election timeout
 *   follower also: the leader lease (electionMinMs since last leader contact)
 *   leader: the heartbeat tick (check-quorum and transfer deadlines count these ticks)
 *   learner: no timers; it never campaigns
 */
import { enqueueActions, setup } from 'xstate';
import type { RaftEvent, RaftInput, Ready, Role } from './types.ts';
import type { CoreState } from './state.ts';
import { initialState } from './state.ts';
import type { TimerEvent } from './step.ts';
import { step } from './step.ts';

/** What the actor emits: one per step that has anything to do. */
export interface ReadyEmitted {
  readonly type: 'ready';
  readonly ready: Ready;
}

const ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader', 'learner'];

/** Routing shared by every role state: go to the role the core is in, re-entering to restart timers. */
const route = ROLES.map((role) => ({
  guard: { type: 'shouldEnter' as const, params: { role } },
  target: `#raft.${role}`,
  reenter: true,
  actions: { type: 'entered' as const, params: { role } },
}));

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
    entered: enqueueActions(({ enqueue }, params: { role: Role }) => {
      enqueue.assign({ enteredRole: params.role, timerReset: false });
    }),
  },
  guards: {
    shouldEnter: ({ context }, params: { role: Role }) =>
      context.role === params.role && (context.enteredRole !== params.role || context.timerReset),
  },
  delays: {
    electionTimeout: ({ context }) => context.electionTimeoutMs,
    leaderLease: ({ context }) => context.timing.electionMinMs,
    heartbeat: ({ context }) => context.timing.heartbeatMs,
  },
}).createMachine({
  id: 'raft',
  context: ({ input }) => initialState(input),
  initial: 'follower',
  on: {
    message: { actions: { type: 'step', params: {} } },
    propose: { actions: { type: 'step', params: {} } },
    proposeConfig: { actions: { type: 'step', params: {} } },
    readIndex: { actions: { type: 'step', params: {} } },
    transferLeadership: { actions: { type: 'step', params: {} } },
    compacted: { actions: { type: 'step', params: {} } },
    unreachable: { actions: { type: 'step', params: {} } },
  },
  states: {
    follower: {
      always: route,
      after: {
        leaderLease: { actions: { type: 'step', params: { timer: 'leaseExpired' } } },
        electionTimeout: { actions: { type: 'step', params: { timer: 'electionTimeout' } } },
      },
    },
    'pre-candidate': {
      always: route,
      after: { electionTimeout: { actions: { type: 'step', params: { timer: 'electionTimeout' } } } },
    },
    candidate: {
      always: route,
      after: { electionTimeout: { actions: { type: 'step', params: { timer: 'electionTimeout' } } } },
    },
    leader: {
      always: route,
      after: { heartbeat: { target: 'leader', reenter: true, actions: { type: 'step', params: { timer: 'heartbeat' } } } },
    },
    learner: {
      always: route,
    },
  },
});
