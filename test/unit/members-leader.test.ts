/**
 * Removing the leader, planned from the leader's view (members-leader.ts):
 * leadership goes to the most caught-up other voter first; refused when no
 * other voter is caught up, or when the removal itself would be refused for
 * a follower (too few voters, no live quorum without it).
 */
import test from 'ava';
import type { ClusterView, MemberView } from '../../actors/monitor/index.ts';
import { planLeaderRemoval, successorOf } from '../../cli/commands/members-leader.ts';
import { REFUSAL_EXIT_CODES } from '../../cli/commands/members-exit.ts';

const live = (matchIndex: number, lastContactMs = 40): MemberView => ({ reachable: true, lastContactMs, matchIndex });
const dead: MemberView = { reachable: false, lastContactMs: 45_000, matchIndex: 300 };

function view(voters: readonly string[], members: Record<string, MemberView>): ClusterView {
  return { nowMs: 0, leader: 'r1', commitIndex: 1_000, voters, learners: [], standbys: [], changeInFlight: false, members: { r1: live(1_000, 0), ...members } };
}

const FIVE = ['r1', 'r2', 'r3', 'r4', 'r5'];

test('the successor holds the most entries, then was heard from most recently, then comes first by id', (t) => {
  t.is(successorOf(view(FIVE, { r2: live(990), r3: live(1_000, 60), r4: live(1_000, 20), r5: live(1_000, 20) }), 'r1'), 'r4');
  t.is(successorOf(view(FIVE, { r2: dead, r3: live(999), r4: live(998), r5: dead }), 'r1'), 'r3');
  t.deepEqual(planLeaderRemoval(view(FIVE, { r2: live(1_000), r3: live(1_000), r4: live(1_000), r5: live(1_000) }), 'r1'), { leader: 'r1', successor: 'r2' });
});

test('no other voter caught up: refused with removesLeader (exit 16), saying why', (t) => {
  // Caught up means within 256 entries (one append batch) of the commit index.
  const plan = planLeaderRemoval(view(FIVE, { r2: live(700), r3: live(500), r4: dead, r5: live(600) }), 'r1');
  t.deepEqual(plan, {
    kind: 'removesLeader',
    message: 'r1 leads and no other voter is caught up to take over (r2 300 entries behind, r3 500 entries behind, r4 unreachable, r5 400 entries behind); wait, then try again',
  });
  t.is(REFUSAL_EXIT_CODES.removesLeader, 16);
});

test("the removal's own refusals still apply, judged as if the successor led", (t) => {
  const three = planLeaderRemoval(view(['r1', 'r2', 'r3'], { r2: live(1_000), r3: live(1_000) }), 'r1');
  t.like(three, { kind: 'tooFewVoters', message: 'removing r1 would leave 2 voters; at least 3 are needed to survive a failure' });
  // Two of five dead: without r1, 2 of 4 would be reachable.
  const twoDead = planLeaderRemoval(view(FIVE, { r2: live(1_000), r3: live(1_000), r4: dead, r5: dead }), 'r1');
  t.like(twoDead, { kind: 'quorumAtRisk', message: 'without r1, 2 of 4 voters would be reachable, fewer than a quorum' });
});
