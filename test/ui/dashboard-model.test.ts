import test from 'ava';
import { agreedLeader, initialDashboardState, lagOf, reduceDashboard, sparkline, SERIES_LENGTH } from '../../cli/tui/dashboard-model.ts';
import type { StatusReply } from '../../actors/protocol/index.ts';

const status = (id: string, over: Partial<StatusReply> = {}): StatusReply => ({
  id,
  role: 'follower',
  term: 2,
  leader: 'r1',
  commitIndex: 10,
  appliedIndex: 10,
  digest: 'ab',
  voters: ['r1', 'r2', 'r3'],
  learners: [],
  ...over,
});

test('rows are kept per replica in id order, and a silent replica keeps its last status with the error', (t) => {
  let s = reduceDashboard(initialDashboardState, {
    at: 1000,
    replies: [
      { id: 'r10', ok: true, status: status('r10') },
      { id: 'r2', ok: true, status: status('r2') },
      { id: 'r1', ok: true, status: status('r1', { role: 'leader' }) },
    ],
  });
  t.deepEqual(s.replicas.map((r) => r.id), ['r1', 'r2', 'r10']);
  s = reduceDashboard(s, { at: 1500, replies: [{ id: 'r2', ok: false, error: 'timeout' }] });
  const r2 = s.replicas.find((r) => r.id === 'r2');
  t.is(r2?.error, 'timeout');
  t.is(r2?.status?.role, 'follower');
  t.is(r2?.lastSeenAt, 1000);
});

test('commit rate and elections come from successive rounds', (t) => {
  let s = reduceDashboard(initialDashboardState, { at: 0, replies: [{ id: 'r1', ok: true, status: status('r1', { commitIndex: 100, term: 3 }) }] });
  s = reduceDashboard(s, { at: 500, replies: [{ id: 'r1', ok: true, status: status('r1', { commitIndex: 150, term: 3 }) }] });
  s = reduceDashboard(s, { at: 1000, replies: [{ id: 'r2', ok: true, status: status('r2', { commitIndex: 150, term: 5 }) }] });
  t.deepEqual(s.commitRate, [0, 100, 0]);
  t.deepEqual(s.elections, [0, 0, 2]);
  t.is(s.totalElections, 2);
});

test('series are bounded', (t) => {
  let s = initialDashboardState;
  for (let i = 0; i < SERIES_LENGTH + 30; i++) s = reduceDashboard(s, { at: i * 500, replies: [] });
  t.is(s.commitRate.length, SERIES_LENGTH);
  t.is(s.elections.length, SERIES_LENGTH);
});

test('the agreed leader is the one most answering replicas name', (t) => {
  const s = reduceDashboard(initialDashboardState, {
    at: 0,
    replies: [
      { id: 'r1', ok: true, status: status('r1', { leader: 'r2' }) },
      { id: 'r2', ok: true, status: status('r2', { leader: 'r2' }) },
      { id: 'r3', ok: true, status: status('r3', { leader: 'r1' }) },
    ],
  });
  t.is(agreedLeader(s), 'r2');
});

test('lag falls back to the distance from the highest commit index', (t) => {
  const s = reduceDashboard(initialDashboardState, {
    at: 0,
    replies: [
      { id: 'r1', ok: true, status: status('r1', { commitIndex: 40, appliedIndex: 40 }) },
      { id: 'r2', ok: true, status: status('r2', { commitIndex: 30, appliedIndex: 25 }) },
      { id: 'r3', ok: true, status: status('r3', { lag: 7 }) },
    ],
  });
  const [r1, r2, r3] = s.replicas;
  t.is(r1 && lagOf(s, r1), 0);
  t.is(r2 && lagOf(s, r2), 15);
  t.is(r3 && lagOf(s, r3), 7);
});

test('sparkline scales to the largest value and pads to the width', (t) => {
  t.is(sparkline([0, 1, 2, 4, 8], 6), '  ▂▃▅█');
  t.is(sparkline([], 3), '   ');
  t.is(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), '▆▇█');
  t.is(sparkline([0.1], 1, 10), '▁', 'below the floor a value draws low, not full');
});
