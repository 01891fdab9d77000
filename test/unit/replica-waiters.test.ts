import test from 'ava';
import type { InspectionEvent } from 'xstate';
import { Waiters } from '../../actors/replica/waiters.ts';
import { NotLeaderError, ProposalLostError, StoppingError } from '../../actors/replica/errors.ts';
import { createInspectionPublisher, INSPECT_BURST, type InspectionRecord } from '../../actors/replica/inspect.ts';
import { nextConfiguration, parseAdminRequest, quorumProblem } from '../../actors/replica/admin.ts';

test('a proposal resolves with the result applied at its index when the term matches', async (t) => {
  const waiters = new Waiters<string>(0);
  const reply = waiters.expectProposal('p1');
  waiters.onProposals([{ id: 'p1', accepted: true, index: 3, term: 2 }]);
  waiters.onApplied({ index: 3, term: 2, result: 'done' });
  t.is(await reply, 'done');
});

test('a proposal whose index was applied with another term was overwritten (Raft §5.3)', async (t) => {
  const waiters = new Waiters<string>(0);
  const reply = waiters.expectProposal('p1');
  waiters.onProposals([{ id: 'p1', accepted: true, index: 3, term: 2 }]);
  waiters.onApplied({ index: 3, term: 3, result: 'someone else' });
  await t.throwsAsync(reply, { instanceOf: ProposalLostError, message: /term 3, not 2/ });
});

test('an outcome that arrives after its entry applied still finds the result', async (t) => {
  const waiters = new Waiters<string>(0);
  const reply = waiters.expectProposal('p1');
  waiters.onApplied({ index: 1, term: 1, result: 'early' });
  waiters.onProposals([{ id: 'p1', accepted: true, index: 1, term: 1 }]);
  t.is(await reply, 'early');
});

test('refusals map to NotLeaderError and ProposalLostError; reads resolve with their index', async (t) => {
  const waiters = new Waiters<string>(0);
  const a = waiters.expectProposal('a');
  const b = waiters.expectProposal('b');
  const r = waiters.expectRead('r');
  waiters.onProposals([
    { id: 'a', accepted: false, reason: { kind: 'not_leader', leader: 'r2' } },
    { id: 'b', accepted: false, reason: { kind: 'dropped', detail: 'transfer in progress' } },
  ]);
  waiters.onReads([{ id: 'r', ok: true, index: 7 }]);
  const notLeader = await t.throwsAsync(a, { instanceOf: NotLeaderError });
  t.is(notLeader.leader, 'r2');
  await t.throwsAsync(b, { instanceOf: ProposalLostError, message: /transfer in progress/ });
  t.is(await r, 7);
});

test('untilApplied waits for appliedIndex, a snapshot counts, closeAll fails the rest', async (t) => {
  const waiters = new Waiters<string>(2);
  await waiters.untilApplied(2);
  let woke = false;
  const five = waiters.untilApplied(5).then(() => (woke = true));
  waiters.onApplied({ index: 3, term: 1, result: undefined });
  await Promise.resolve();
  t.false(woke);
  waiters.onSnapshotInstalled(10);
  await five;
  t.true(woke);
  const never = waiters.untilApplied(11);
  waiters.closeAll();
  await t.throwsAsync(never, { instanceOf: StoppingError });
});

test('inspection records: only changes are published, a burst is capped and drops are counted', (t) => {
  const records: InspectionRecord[] = [];
  let now = 1_000;
  const publisher = createInspectionPublisher({ id: 'r1', publish: (record) => records.push(record), now: () => now });
  const snapshot = (value: string, term: number, type = 'message') =>
    ({ type: '@xstate.snapshot', snapshot: { value, context: { term } }, event: { type, message: { type: 'RequestVote', from: 'r2' } } }) as unknown as InspectionEvent;
  publisher.observe(snapshot('follower', 1));
  publisher.observe(snapshot('follower', 1));
  t.is(records.length, 1);
  publisher.observe(snapshot('candidate', 2));
  t.deepEqual(records[1], { replica: 'r1', at: 1_000, from: 'follower', value: 'candidate', event: 'message:RequestVote from r2', term: 2 });
  for (let term = 3; term < 3 + INSPECT_BURST * 2; term++) publisher.observe(snapshot('candidate', term));
  t.is(records.length, INSPECT_BURST);
  t.true(publisher.dropped() > 0);
  now += 10_000; // the bucket refills with time
  publisher.observe(snapshot('leader', 999));
  t.is(records.at(-1)?.value, 'leader');
});

test('membership requests: one change at a time, clear conflicts and bad requests', (t) => {
  const config = { voters: ['r1', 'r2', 'r3'], learners: [] as string[] };
  t.deepEqual(nextConfiguration(config, { action: 'addLearner', id: 'r4' }), { voters: ['r1', 'r2', 'r3'], learners: ['r4'] });
  t.deepEqual(nextConfiguration({ voters: ['r1'], learners: ['r4'] }, { action: 'promote', id: 'r4' }), { voters: ['r1', 'r4'], learners: [] });
  t.deepEqual(nextConfiguration(config, { action: 'remove', id: 'r2' }), { voters: ['r1', 'r3'], learners: [] });
  const conflict = (result: unknown) => (result instanceof Error ? (result as Error & { code: string }).code : 'ok');
  t.is(conflict(nextConfiguration(config, { action: 'addLearner', id: 'r1' })), 'conflict');
  t.is(conflict(nextConfiguration(config, { action: 'promote', id: 'r9' })), 'conflict');
  t.is(conflict(nextConfiguration({ voters: ['r1'], learners: [] }, { action: 'remove', id: 'r1' })), 'conflict');
  const bad = (op: string, body: unknown) => {
    const parsed = parseAdminRequest(op, body);
    return parsed instanceof Error ? (parsed as Error & { code: string }).code : 'ok';
  };
  t.is(bad('members', { action: 'remove', id: 'r2' }), 'ok');
  t.is(bad('members', { action: 'remove' }), 'bad_request');
  t.is(bad('members', { action: 'remove', id: 'r2', extra: 1 }), 'bad_request');
  t.is(bad('transfer', { to: 'a.b' }), 'bad_request');
  t.is(bad('reboot', {}), 'bad_request');
});

test('a voter change that leaves fewer than a quorum of voters in step is refused, naming who must catch up', (t) => {
  const seven = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  // Seed 1134 of the simulation: r1, r5, r6 never reached; removing r7 leaves three of six holding the log.
  const refused = quorumProblem({ voters: seven, learners: [] }, new Set(['r2', 'r3', 'r4', 'r7']), 'remove r7');
  t.is(refused?.code, 'conflict');
  t.regex(refused?.message ?? '', /remove r7 would leave 3 of 6 voters .*\(r2, r3, r4\); a quorum is 4.*wait until r1, r5, r6 catch up/);
  t.is(quorumProblem({ voters: seven, learners: [] }, new Set(['r1', 'r2', 'r3', 'r4']), 'remove r7'), null);
  // Removing a dead voter of five (the monitor's removeDead) keeps a quorum of the four.
  t.is(quorumProblem({ voters: ['r1', 'r2', 'r3', 'r4'], learners: [] }, new Set(['r1', 'r2', 'r3']), 'remove r5'), null);
  // Promoting a learner that is not in step raises the quorum past what holds the log.
  t.is(quorumProblem({ voters: ['r1', 'r2', 'r3', 'r4'], learners: [] }, new Set(['r1', 'r2']), 'promote r4')?.code, 'conflict');
});

test('applyWanted: a caller waiting on apply progress wakes a paused apply stage', async (t) => {
  const waiters = new Waiters<string>(5);
  t.false(waiters.applyWanted);
  let woken = 0;
  void waiters.nextApplyWanted().then(() => woken++);
  await Promise.resolve();
  t.is(woken, 0);
  // Already applied: nobody has to wait, so nothing wakes.
  await waiters.untilApplied(5);
  await Promise.resolve();
  t.is(woken, 0);
  const read = waiters.untilApplied(7);
  t.true(waiters.applyWanted);
  await Promise.resolve();
  t.is(woken, 1, 'a read that waits wakes the pause');
  void waiters.nextApplyWanted().then(() => woken++);
  void waiters.expectProposal('p1');
  await Promise.resolve();
  t.is(woken, 2, 'so does a proposal waiting for its result');
  waiters.onApplied({ index: 6, term: 1, result: undefined });
  waiters.onApplied({ index: 7, term: 1, result: undefined });
  await read;
  waiters.abandon('p1');
  t.false(waiters.applyWanted);
});
