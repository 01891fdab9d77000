/**
 * The monitor's policy as transcripts: a cluster model (world.ts), a script
 * of faults and time, and every decision the monitor takes, in order.
 * Repeated waits are folded into one line.
 */
import test from 'ava';
import { World, transcript } from './world.ts';

const every = (ms: number, times: number, act?: (w: World) => void): (readonly [number, ((w: World) => void)?])[] =>
  Array.from({ length: times }, (_, i) => [ms, i === 0 ? act : undefined] as const);

test('all five voters healthy: the monitor waits', (t) => {
  t.deepEqual(transcript(new World(), every(5_000, 4)), ['t=5s wait steady']);
});

test('a voter silent for less than the grace period is left alone, and is not replaced when it returns', (t) => {
  const world = new World({ provisionAfterMs: 1_000 });
  const lines = transcript(world, [...every(5_000, 5, (w) => w.kill('r3')), ...every(5_000, 3, (w) => w.revive('r3'))]);
  t.deepEqual(lines, ['t=5s wait grace', 't=30s wait steady']);
  t.deepEqual(world.voters, ['r1', 'r2', 'r3', 'r4', 'r5']);
});

test('a dead voter with a caught-up standby: the standby is promoted first, then the dead voter removed', (t) => {
  const world = new World({ standbys: 1 });
  const lines = transcript(world, every(5_000, 10, (w) => w.kill('r3')));
  t.deepEqual(lines, ['t=5s wait grace', 't=30s promoteStandby r6', 't=35s removeDead r3', 't=40s wait steady']);
  t.deepEqual(world.voters, ['r1', 'r2', 'r4', 'r5', 'r6']);
});

test('two dead voters and two standbys: promote, promote, remove, remove', (t) => {
  const world = new World({ standbys: 2 });
  const lines = transcript(world, every(5_000, 10, (w) => (w.kill('r3'), w.kill('r4'))));
  t.deepEqual(lines, [
    't=5s wait grace',
    't=30s promoteStandby r6',
    't=35s promoteStandby r7',
    't=40s removeDead r3',
    't=45s removeDead r4',
    't=50s wait steady',
  ]);
  t.deepEqual(world.voters, ['r1', 'r2', 'r5', 'r6', 'r7']);
});

test('no standby: a replacement is asked for, promoted once caught up and stable, then the dead voter removed', (t) => {
  const world = new World({ provisionAfterMs: 10_000, catchUpAfterMs: 5_000 });
  const lines = transcript(world, every(5_000, 16, (w) => w.kill('r2')));
  t.deepEqual(lines, [
    't=5s wait grace',
    't=30s requestReplacement for r2',
    't=35s wait awaitingReplacement',
    't=40s wait stabilizing',
    't=55s promoteNewcomer r6',
    't=60s removeDead r2',
    't=65s wait steady',
  ]);
  t.deepEqual(world.voters, ['r1', 'r3', 'r4', 'r5', 'r6']);
});

test('nobody provisions: the request is repeated, and the dead voter removed once the wait runs out', (t) => {
  const world = new World();
  const lines = transcript(world, every(10_000, 20, (w) => w.kill('r4')));
  t.deepEqual(lines, [
    't=10s wait grace',
    't=30s requestReplacement for r4',
    't=40s wait awaitingReplacement',
    't=150s removeDead r4',
    't=150s requestReplacement for r4',
    't=160s wait awaitingReplacement',
  ]);
  t.deepEqual(world.voters, ['r1', 'r2', 'r3', 'r5']);
});

test('a three-voter cluster never removes below three voters', (t) => {
  const world = new World({ voters: 3 });
  const lines = transcript(world, every(30_000, 12, (w) => w.kill('r3')));
  t.deepEqual(lines, ['t=30s requestReplacement for r3', 't=60s wait awaitingReplacement', 't=150s requestReplacement for r3', 't=180s wait awaitingReplacement', 't=270s requestReplacement for r3', 't=300s wait awaitingReplacement']);
  t.deepEqual(world.voters, ['r1', 'r2', 'r3']);
});

test('without a quorum of live voters the monitor never acts', (t) => {
  const world = new World({ standbys: 2 });
  const lines = transcript(world, every(30_000, 6, (w) => ['r3', 'r4', 'r5'].forEach((id) => w.kill(id))));
  t.deepEqual(lines, ['t=30s wait noQuorum']);
  t.deepEqual(world.voters, ['r1', 'r2', 'r3', 'r4', 'r5']);
});

test('without a leader, or while a change is in flight, the monitor waits', (t) => {
  const leaderless = new World({ standbys: 1 });
  t.deepEqual(transcript(leaderless, every(40_000, 2, (w) => ((w.leader = null), w.kill('r3')))), ['t=40s wait noLeader']);
  const busy = new World({ standbys: 1 });
  t.deepEqual(transcript(busy, every(40_000, 2, (w) => ((w.changeInFlight = true), w.kill('r3')))), ['t=40s wait changeInFlight']);
});

test('a dead voter that comes back before its replacement arrives keeps its seat; the newcomer is not promoted', (t) => {
  const world = new World({ provisionAfterMs: 20_000 });
  const lines = transcript(world, [...every(10_000, 4, (w) => w.kill('r5')), ...every(10_000, 6, (w) => w.revive('r5'))]);
  t.deepEqual(lines, ['t=10s wait grace', 't=30s requestReplacement for r5', 't=40s wait awaitingReplacement', 't=50s wait steady']);
  t.deepEqual(world.voters, ['r1', 'r2', 'r3', 'r4', 'r5']);
  t.deepEqual(world.learners, ['r6']);
});

test('a standby that is still catching up is not promoted until it is caught up and stable', (t) => {
  const world = new World({ standbys: 1 });
  world.caughtUpAt.set('r6', 40_000);
  const lines = transcript(world, every(10_000, 8, (w) => w.kill('r1' === w.leader ? 'r2' : 'r1')));
  t.deepEqual(lines, ['t=10s wait grace', 't=30s wait stabilizing', 't=50s promoteStandby r6', 't=60s removeDead r2', 't=70s wait steady']);
});

test('every decision says why', (t) => {
  const world = new World({ standbys: 1 });
  transcript(world, every(5_000, 10, (w) => w.kill('r3')));
  const reasons = world.history.map((h) => `${h.decision.kind}: ${h.decision.reason}`);
  t.true(reasons.includes('promoteStandby: 4 healthy voters of 5 wanted; standby r6 is caught up'), reasons.join('\n'));
  t.true(reasons.includes('removeDead: r3 silent for 35 s; 5 healthy voters remain'), reasons.join('\n'));
  t.true(reasons.includes('wait: silent: r3 (5 s); dead after 30 s'), reasons.join('\n'));
});

test('a replacement that joined but has not been heard from yet is on its way: no second replacement is asked for', (t) => {
  const world = new World({ provisionAfterMs: 10_000, catchUpAfterMs: 60_000 });
  world.kill('r2');
  // r6 (the replacement) joins at t=40s but the leader hears nothing from it for a while, as when
  // it joined before the leader's next look (seen with --provision-cmd).
  world.downSince.set('r6', 40_000);
  const asked: string[] = [];
  for (let i = 0; i < 10; i += 1) {
    for (const decision of world.step(5_000)) if (decision.kind === 'requestReplacement') asked.push(`t=${world.nowMs / 1_000}s for ${decision.replaces}`);
  }
  t.true(world.learners.includes('r6'), 'the replacement arrived');
  t.deepEqual(asked, ['t=30s for r2'], 'asked once, not again while r6 is silent inside its grace period');
});
