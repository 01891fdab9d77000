/**
 * The monitor loop (actors/replica/monitor-loop.ts) on a fake clock: it acts
 * only as leader, carries out one change per look through `change`, asks
 * for replacements with fresh ids, keeps waits quiet, and forgets its memory
 * when the term changes.
 */
import test from 'ava';
import { createMonitorLoop, nextReplicaId, type MonitorLoopDeps } from '../../actors/replica/monitor-loop.ts';
import { DEFAULT_MONITOR_SETTINGS, type ClusterView } from '../../actors/monitor/index.ts';
import type { MembersRequest, ReplacementNotice } from '../../actors/protocol/index.ts';

const SETTINGS = { ...DEFAULT_MONITOR_SETTINGS, deadAfterMs: 3_000, stableAfterMs: 1_000 };

function world(initial: Partial<ClusterView> = {}) {
  let now = 0;
  let view: ClusterView | null = {
    nowMs: 0,
    leader: 'r1',
    commitIndex: 100,
    voters: ['r1', 'r2', 'r3', 'r4', 'r5'],
    learners: [],
    standbys: [],
    changeInFlight: false,
    members: Object.fromEntries(['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => [id, { reachable: true, lastContactMs: 0, matchIndex: 100 }])),
    ...initial,
  };
  let term = 1;
  const changes: MembersRequest[] = [];
  const notices: ReplacementNotice[] = [];
  const logs: string[] = [];
  const deps: MonitorLoopDeps = {
    clock: { now: () => now, sleep: async (ms) => void (now += ms) },
    settings: SETTINGS,
    intervalMs: 1_000,
    enabled: true,
    view: () => (view === null ? null : { ...view, nowMs: now }),
    term: () => term,
    change: async (request) => {
      changes.push(request);
      return { ok: true };
    },
    replace: (notice) => notices.push(notice),
    log: { info: (_o, msg) => logs.push(msg), warn: (_o, msg) => logs.push(msg) },
  };
  return {
    loop: createMonitorLoop(deps),
    changes,
    notices,
    logs,
    advance: (ms: number) => void (now += ms),
    setView: (next: ClusterView | null) => void (view = next),
    view: () => view,
    setTerm: (next: number) => void (term = next),
  };
}

function silence(view: ClusterView, id: string, forMs: number): ClusterView {
  return { ...view, members: { ...view.members, [id]: { reachable: false, lastContactMs: forMs, matchIndex: 50 } } };
}

test('a follower does nothing; the leader logs a steady wait once, not every look', async (t) => {
  const w = world();
  w.setView(null);
  await w.loop.step();
  t.deepEqual(w.loop.recent(), []);
  w.setView(world().view());
  for (let i = 0; i < 5; i += 1) {
    await w.loop.step();
    w.advance(1_000);
  }
  t.is(w.loop.recent().length, 1);
  t.is(w.loop.recent()[0]?.decision.kind, 'wait');
  t.is(w.logs.length, 1);
});

test('a voter silent past the grace period: a replacement with a fresh id, never the same id twice', async (t) => {
  const w = world();
  w.setView(silence(w.view()!, 'r3', 1_000));
  await w.loop.step();
  t.deepEqual(w.notices, [], 'inside the grace period: silent, left alone');
  w.setView(silence(w.view()!, 'r3', 4_000));
  await w.loop.step();
  t.is(w.notices.length, 1);
  t.like(w.notices[0], { replaces: 'r3', suggestedId: 'r6', leader: 'r1', term: 1 });
  t.true(w.loop.recent().some((r) => r.decision.kind === 'requestReplacement' && r.outcome === 'asked for r6'));
  t.is(nextReplicaId(['r1', 'r2', 'r6']), 'r7');
});

test('a caught-up standby is promoted through change, then the dead voter removed', async (t) => {
  const base = world().view()!;
  const w = world({
    learners: ['s1'],
    standbys: ['s1'],
    members: { ...base.members, s1: { reachable: true, lastContactMs: 0, matchIndex: 100 } },
  });
  w.setView(silence(w.view()!, 'r3', 5_000));
  await w.loop.step(); // s1 first seen steady
  w.advance(1_500);
  await w.loop.step();
  t.deepEqual(w.changes, [{ action: 'promote', id: 's1' }]);
  const promoted = w.view()!;
  w.setView({ ...promoted, voters: [...promoted.voters, 's1'], learners: [], standbys: [] });
  await w.loop.step();
  t.deepEqual(w.changes.at(-1), { action: 'remove', id: 'r3' });
  t.true(w.logs.some((line) => /promoteStandby s1/.test(line)) && w.logs.some((line) => /removeDead r3/.test(line)));
});

test('disabled: decisions are kept and logged, nothing is carried out', async (t) => {
  const w = world();
  const loop = createMonitorLoop({
    clock: { now: () => 0, sleep: async () => undefined },
    settings: SETTINGS,
    intervalMs: 1_000,
    enabled: false,
    view: () => silence(w.view()!, 'r2', 10_000),
    term: () => 1,
    change: async () => t.fail('no change while disabled') as never,
    replace: () => t.fail('no replacement while disabled'),
    log: { info: () => undefined, warn: () => undefined },
  });
  await loop.step();
  t.true(loop.recent().some((r) => r.outcome === 'not carried out (monitor disabled)'));
});
