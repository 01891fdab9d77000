// The machine definition is the Raft role diagram: only the role changes in
// transitions.ts exist, the inspector's chart (xstate/graph) shows exactly
// those, and a step that computes any other change throws.
import test from 'ava';
import { createActor, SimulatedClock } from 'xstate';
import { createRaftActor, raftMachine, DEFAULT_TIMING, newReplicaInput } from '../../actors/raft/index.ts';
import type { RaftInput, Role } from '../../actors/raft/index.ts';
import { IllegalRoleChangeError, assertRolePath, legalNextRoles } from '../../actors/raft/transitions.ts';
import { initialState } from '../../actors/raft/state.ts';
import { step } from '../../actors/raft/step.ts';
import { stateGraphOf } from '../../cli/inspector/graph.ts';

const ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader', 'learner'];

const input = (id: string, voters: string[], learners: string[] = []): RaftInput => newReplicaInput(id, { voters, learners }, 1);

test('the chart drawn with xstate/graph has exactly the legal role changes, thirteen edges', (t) => {
  const g = stateGraphOf(raftMachine);
  const drawn = g.edges.map((e) => `${e.source} -> ${e.target}`).sort();
  const legal = ROLES.flatMap((from) => legalNextRoles(from).map((to) => `${from} -> ${to}`)).sort();
  t.deepEqual(drawn, legal);
  t.is(drawn.length, 13);
  for (const role of ROLES) {
    for (const tr of raftMachine.states[role]!.always ?? []) {
      if (tr.target?.[0]?.key !== role) t.truthy(tr.description, `${role} -> ${tr.target?.[0]?.key} says why`);
    }
  }
  for (const illegal of ['leader -> pre-candidate', 'leader -> candidate', 'learner -> leader', 'learner -> candidate', 'follower -> leader']) {
    t.false(drawn.includes(illegal), illegal);
  }
});

test('every role except learner restarts its timers by re-entering itself; the leader also on its heartbeat, the follower on its tick', (t) => {
  const g = stateGraphOf(raftMachine);
  for (const role of ['follower', 'pre-candidate', 'candidate', 'leader']) t.true(g.handled[role]?.includes('always [timerReset]'), role);
  t.true(g.handled.leader?.includes('after heartbeat'));
  t.true(g.handled.follower?.includes('after electionTick'), 'a follower ticks instead of restarting its election timer per message');
  t.is(g.handled.learner, undefined, 'a learner has no timers');
});

test('a sole voter passes through pre-candidate and candidate to leader, each a legal step of the chart', (t) => {
  const clock = new SimulatedClock();
  const seen: string[] = [];
  const actor = createRaftActor(input('r1', ['r1']), {
    clock,
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const tr of e._transitions) for (const target of tr.target ?? []) seen.push(target.key);
    },
  });
  actor.start();
  // A follower counts its election timeout in ticks of heartbeatMs, so walk the clock tick by tick.
  for (let ms = 0; ms < DEFAULT_TIMING.electionMaxMs + DEFAULT_TIMING.heartbeatMs; ms += DEFAULT_TIMING.heartbeatMs) clock.increment(DEFAULT_TIMING.heartbeatMs);
  t.is(actor.getSnapshot().value, 'leader');
  t.deepEqual(actor.getSnapshot().context.rolePath, []);
  // Ticks re-enter follower and heartbeats re-enter leader; the role changes between them are the election.
  const moves = seen.filter((role, i) => i === 0 || role !== seen[i - 1]);
  t.deepEqual(moves.slice(0, 4), ['follower', 'pre-candidate', 'candidate', 'leader']);
  actor.stop();
});

test('a replica outside the voters starts as follower and moves to learner at once', (t) => {
  const actor = createRaftActor(input('r4', ['r1', 'r2', 'r3'], ['r4']), { clock: new SimulatedClock() });
  actor.start();
  t.is(actor.getSnapshot().value, 'learner');
  t.is(actor.getSnapshot().context.role, 'learner');
  actor.stop();
});

test('a step that computes an illegal role change throws, naming from, to and the event', (t) => {
  // A corrupted state: role learner although the configuration makes it a voter, so TimeoutNow makes it campaign.
  const state = { ...initialState(input('r2', ['r1', 'r2', 'r3'])), role: 'learner' as const };
  const timeoutNow = { type: 'TimeoutNow' as const, from: 'r1', to: 'r2', term: 0 };
  const error = t.throws(() => step(state, { type: 'message', message: timeoutNow }), { instanceOf: IllegalRoleChangeError });
  t.like(error, { from: 'learner', to: 'candidate', event: 'message TimeoutNow from r1' });
  t.regex(error?.message ?? '', /learner -> candidate on message TimeoutNow from r1/);
});

test('assertRolePath accepts legal paths and refuses an illegal one or a role set without being recorded', (t) => {
  t.notThrows(() => assertRolePath('follower', ['pre-candidate', 'candidate', 'leader'], 'leader', 'electionTimeout'));
  t.notThrows(() => assertRolePath('leader', [], 'leader', 'heartbeat'));
  t.throws(() => assertRolePath('leader', ['pre-candidate'], 'pre-candidate', 'x'), { instanceOf: IllegalRoleChangeError, message: /leader -> pre-candidate on x/ });
  t.throws(() => assertRolePath('follower', [], 'candidate', 'x'), { instanceOf: IllegalRoleChangeError, message: /without changeRole/ });
});

test('in a running actor the illegal change stops the core with the error, for its error observers (the replica, the simulator)', (t) => {
  const start = input('r2', ['r1', 'r2', 'r3']);
  const context = { ...initialState(start), role: 'learner' as const, enteredRole: 'learner' as const };
  const actor = createActor(raftMachine, { snapshot: raftMachine.resolveState({ value: 'learner', context }), input: start, clock: new SimulatedClock() });
  let failure: unknown = null;
  actor.subscribe({ error: (error) => (failure = error) });
  actor.start();
  actor.send({ type: 'message', message: { type: 'TimeoutNow', from: 'r1', to: 'r2', term: 0 } });
  t.is(actor.getSnapshot().status, 'error');
  t.true(failure instanceof IllegalRoleChangeError);
  t.like(failure, { from: 'learner', to: 'candidate' });
});

test('a replica its own configuration calls a learner still grants an up-to-date candidate its vote (thesis §4.2.1, etcd-io/etcd#10998)', (t) => {
  // r4 has not yet received the entry that made it a voter; the candidate's configuration counts it.
  const state = { ...initialState(input('r4', ['r1', 'r2', 'r3'], ['r4'])), role: 'learner' as const };
  const vote = { type: 'RequestVote' as const, from: 'r1', to: 'r4', term: 2, lastLogIndex: 0, lastLogTerm: 0, preVote: false, transfer: false };
  const { state: after, ready } = step(state, { type: 'message', message: vote });
  const answer = ready?.messages.find((m) => m.type === 'RequestVoteResponse');
  t.like(answer, { to: 'r1', term: 2, granted: true, preVote: false });
  t.like(ready?.hardState, { term: 2, votedFor: 'r1' });
  t.is(after.role, 'learner', 'answering a vote does not make it a voter: only its configuration can');
});

test('appends from the leader arm no timer on a follower, yet it times out no earlier than its election timeout after the last one', (t) => {
  const clock = new SimulatedClock();
  let timersArmed = 0;
  const counting = {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
      timersArmed += 1;
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (id: unknown) => clock.clearTimeout(id as number),
  };
  const actor = createRaftActor(input('r2', ['r1', 'r2', 'r3']), { clock: counting });
  actor.start();
  const append = (index: number) => ({
    type: 'AppendEntries' as const, from: 'r1', to: 'r2', term: 1, prevLogIndex: index - 1, prevLogTerm: index === 1 ? 0 : 1,
    entries: [{ index, term: 1, kind: 'noop' as const }], leaderCommit: index - 1, round: 0,
  });
  // The first append makes r1 its leader (a role change restarts the timers); the rest only record contact.
  actor.send({ type: 'message', message: append(1) });
  const armed = timersArmed;
  const { heartbeatMs } = DEFAULT_TIMING;
  let lastHeard = 0;
  for (let index = 2; index <= 40; index += 1) {
    clock.increment(heartbeatMs / 5);
    actor.send({ type: 'message', message: append(index) });
    lastHeard = clock.now();
  }
  const ticks = Math.floor(clock.now() / heartbeatMs);
  t.is(timersArmed - armed, ticks, 'one timer per tick, none per append');
  const timeoutMs = actor.getSnapshot().context.electionTimeoutMs;
  while (actor.getSnapshot().context.role === 'follower') clock.increment(1);
  const quiet = clock.now() - lastHeard;
  t.true(quiet >= timeoutMs, `timed out ${quiet} ms after the last append, before its timeout ${timeoutMs} ms`);
  t.true(quiet < timeoutMs + 2 * heartbeatMs, `timed out ${quiet} ms after the last append, more than two ticks after ${timeoutMs} ms`);
  t.is(actor.getSnapshot().context.role, 'pre-candidate');
  actor.stop();
});
