/**
 * membershipChangeProblem: every reason an operator's change is refused, and
 * the changes that pass.
 */
import test from 'ava';
import { membershipChangeProblem, type ChangeAction, type ChangeOptions } from '../../actors/monitor/index.ts';
import { World } from './world.ts';

function kindFor(world: World, action: ChangeAction, id: string, options: ChangeOptions = {}): string {
  return membershipChangeProblem(world.view(), { action, id }, options)?.kind ?? 'ok';
}

test('a healthy five-voter cluster: add, promote a caught-up learner, remove a follower, transfer', (t) => {
  const world = new World({ standbys: 1 });
  t.is(kindFor(world, 'addLearner', 'r7'), 'ok');
  t.is(kindFor(world, 'promote', 'r6'), 'ok');
  t.is(kindFor(world, 'remove', 'r3'), 'ok');
  t.is(kindFor(world, 'remove', 'r6'), 'ok', 'a learner may always go');
  t.is(kindFor(world, 'transfer', 'r4'), 'ok');
  t.is(kindFor(world, 'transfer', 'r1'), 'ok', 'transfer to the leader is a no-op, not a problem');
});

test('unknown ids and members of the wrong kind', (t) => {
  const world = new World({ standbys: 1 });
  t.is(kindFor(world, 'remove', 'r9'), 'unknownMember');
  t.is(kindFor(world, 'promote', 'r9'), 'unknownMember');
  t.is(kindFor(world, 'transfer', 'r9'), 'unknownMember');
  t.is(kindFor(world, 'addLearner', 'r2'), 'wrongKind');
  t.is(kindFor(world, 'addLearner', 'r6'), 'wrongKind');
  t.is(kindFor(world, 'promote', 'r2'), 'wrongKind');
  t.is(kindFor(world, 'transfer', 'r6'), 'wrongKind');
});

test('a removal that would leave fewer than three voters is refused', (t) => {
  const world = new World({ voters: 3 });
  const problem = membershipChangeProblem(world.view(), { action: 'remove', id: 'r3' });
  t.is(problem?.kind, 'tooFewVoters');
  t.regex(problem?.message ?? '', /would leave 2 voters; at least 3/);
});

test('a removal that would leave fewer live voters than a quorum of the new configuration is refused', (t) => {
  const world = new World();
  world.kill('r4');
  world.kill('r5');
  const problem = membershipChangeProblem(world.view(), { action: 'remove', id: 'r3' });
  t.is(problem?.kind, 'quorumAtRisk');
  t.regex(problem?.message ?? '', /without r3, 2 of 4 voters would be reachable/);
  t.is(kindFor(world, 'remove', 'r4'), 'ok', 'removing a dead voter is safe');
});

test('removing the leader asks for a transfer first', (t) => {
  t.is(kindFor(new World(), 'remove', 'r1'), 'removesLeader');
});

test('a learner that has not caught up is promoted only with force, and never into a configuration without quorum', (t) => {
  const world = new World({ standbys: 1 });
  world.caughtUpAt.set('r6', Number.MAX_SAFE_INTEGER);
  const lagging = membershipChangeProblem(world.view(), { action: 'promote', id: 'r6' });
  t.is(lagging?.kind, 'notCaughtUp');
  t.regex(lagging?.message ?? '', /r6 has not caught up: 1000 entries behind the commit index; wait, or use --force/);
  t.is(kindFor(world, 'promote', 'r6', { force: true }), 'ok');
  world.kill('r6');
  t.regex(membershipChangeProblem(world.view(), { action: 'promote', id: 'r6' })?.message ?? '', /unreachable/);
  world.kill('r4');
  world.kill('r5');
  t.is(kindFor(world, 'promote', 'r6', { force: true }), 'quorumAtRisk', '3 live of 6 voters is no quorum');
});

test('no leader, no quorum, a change in flight', (t) => {
  const leaderless = new World();
  leaderless.leader = null;
  t.is(kindFor(leaderless, 'addLearner', 'r6'), 'noLeader');
  t.is(kindFor(leaderless, 'transfer', 'r2'), 'noLeader');
  const minority = new World();
  ['r3', 'r4', 'r5'].forEach((id) => minority.kill(id));
  t.is(kindFor(minority, 'remove', 'r5'), 'noQuorum');
  const busy = new World();
  busy.changeInFlight = true;
  t.is(kindFor(busy, 'addLearner', 'r6'), 'changeInFlight');
  t.is(kindFor(busy, 'transfer', 'r2'), 'ok', 'a transfer is not a configuration change');
});

test('transfer to an unreachable voter is refused', (t) => {
  const world = new World();
  world.kill('r2');
  t.is(kindFor(world, 'transfer', 'r2'), 'notCaughtUp');
});
