import test from 'ava';
import { createMachine } from 'xstate';
import { activePaths, formatStateValue, prettyEvent, stateGraphOf } from '../../cli/inspector/graph.ts';
import { layoutChart } from '../../cli/inspector/layout.ts';
import { INSPECTOR_LOG_LENGTH, INSPECTOR_SILENT_MS, InspectionFormatError, isSilent, initialInspectorState, parseInspection, reduceInspector, type InspectedTransition } from '../../cli/inspector/model.ts';

// A machine shaped like a replica's (roles, a delayed timeout, a nested leader state),
// so these tests pin the graph reading without depending on the raft core's details.
const roles = createMachine({
  id: 'replica',
  initial: 'follower',
  states: {
    follower: { after: { 150: 'precandidate' }, on: { message: {}, demote: 'learner' } },
    precandidate: { on: { preVoteGranted: 'candidate', higherTerm: 'follower' } },
    candidate: { on: { won: 'leader', higherTerm: 'follower' } },
    leader: {
      initial: 'serving',
      states: { serving: { on: { transfer: 'transferring' } }, transferring: { on: { done: 'serving' } } },
      on: { higherTerm: 'follower', stepDown: 'follower' },
    },
    learner: { on: { promote: 'follower' } },
  },
});

test('the graph lists every state and merges events per transition', (t) => {
  const g = stateGraphOf(roles);
  t.is(g.machineId, 'replica');
  t.deepEqual(g.nodes.map((n) => n.id), ['follower', 'precandidate', 'candidate', 'leader', 'leader.serving', 'leader.transferring', 'learner']);
  t.deepEqual(g.edges.find((e) => e.source === 'leader' && e.target === 'follower')?.events, ['higherTerm', 'stepDown']);
  t.deepEqual(g.edges.find((e) => e.source === 'follower' && e.target === 'precandidate')?.events, ['after 150']);
  t.true(g.handled.follower?.includes('message'), 'a targetless transition is handled in place, not an edge');
  t.true(g.handled.leader === undefined || !g.handled.leader.includes('higherTerm'));
});

test('state values format as active paths', (t) => {
  t.deepEqual(activePaths({ leader: 'transferring' }), ['leader', 'leader.transferring']);
  t.is(formatStateValue({ leader: 'transferring' }), 'leader.transferring');
  t.is(formatStateValue('follower'), 'follower');
  t.is(prettyEvent('xstate.after.electionTimeout.raft.follower'), 'after electionTimeout');
});

test('the chart puts every top-level state in its own box inside the canvas, with one arrow per direction', (t) => {
  const layout = layoutChart(stateGraphOf(roles), 900, 560);
  t.deepEqual(layout.boxes.map((b) => b.id), ['follower', 'precandidate', 'candidate', 'leader', 'learner']);
  for (const b of layout.boxes) {
    t.true(b.x >= 0 && b.y >= 0 && b.x + b.width <= 900 && b.y + b.height <= 560, `${b.id} inside the canvas`);
    for (const o of layout.boxes) {
      if (o === b) continue;
      const apart = b.x + b.width <= o.x || o.x + o.width <= b.x || b.y + b.height <= o.y || o.y + o.height <= b.y;
      t.true(apart, `${b.id} and ${o.id} do not overlap`);
    }
  }
  t.deepEqual(layout.boxes.find((b) => b.id === 'leader')?.children.map((c) => c.label), ['serving', 'transferring']);
  const pairs = layout.edges.map((e) => `${e.source}>${e.target}`);
  t.is(new Set(pairs).size, pairs.length);
  t.true(pairs.includes('follower>learner') && pairs.includes('learner>follower'));
  const there = layout.edges.find((e) => e.source === 'follower' && e.target === 'learner');
  const back = layout.edges.find((e) => e.source === 'learner' && e.target === 'follower');
  t.notDeepEqual([there?.labelX, there?.labelY], [back?.labelX, back?.labelY], 'opposite arrows bend apart');
});

test('inspection records read in the runtime shape and the raw XState shape', (t) => {
  const plain = parseInspection(JSON.stringify({ replica: 'r2', value: 'candidate', event: { type: 'xstate.after.election.raft.precandidate' }, term: 4, at: 5 }), 'r9', 99);
  t.deepEqual(plain, { replica: 'r2', at: 5, from: null, to: 'candidate', value: 'candidate', event: 'after election', term: 4 });
  const raw = parseInspection(JSON.stringify({ type: '@xstate.snapshot', event: { type: 'won' }, snapshot: { value: { leader: 'serving' }, context: { term: 7 } } }), 'r3', 42);
  t.like(raw, { replica: 'r3', at: 42, to: 'leader.serving', event: 'won', term: 7 });
});

test('unreadable inspection records are refused with a reason', (t) => {
  t.throws(() => parseInspection('{', 'r1', 0), { instanceOf: InspectionFormatError, message: /not JSON/ });
  t.throws(() => parseInspection('{"event":"x"}', 'r1', 0), { instanceOf: InspectionFormatError, message: /no state value/ });
  t.throws(() => parseInspection('x'.repeat(70_000), 'r1', 0), { instanceOf: InspectionFormatError, message: /over/ });
});

const tr = (replica: string, value: InspectedTransition['value'], event: string, at: number, term: number | null = null): InspectedTransition => ({
  replica,
  at,
  from: null,
  to: formatStateValue(value),
  value,
  event,
  term,
});

test('the inspector logs real changes only, fills in where a replica came from, and keeps the log bounded', (t) => {
  let s = initialInspectorState;
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', 'follower', 'init', 1, 1) });
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', 'follower', 'message', 2, 2) });
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', 'candidate', 'after 150', 3) });
  s = reduceInspector(s, { type: 'rejected' });
  t.deepEqual(s.log.map((e) => `${e.from ?? '-'}>${e.to}:${e.event}`), ['->follower:init', 'follower>candidate:after 150']);
  t.like(s.replicas.r1, { top: 'candidate', term: 2, since: 3, transitions: 2 });
  t.is(s.rejected, 1);
  for (let i = 0; i < INSPECTOR_LOG_LENGTH + 10; i++) s = reduceInspector(s, { type: 'transition', transition: tr('r2', i % 2 ? 'leader' : 'follower', 'x', i) });
  t.is(s.log.length, INSPECTOR_LOG_LENGTH);
});

test('role changes seen live are counted per direction with their latest cause', (t) => {
  let s = initialInspectorState;
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', 'follower', 'init', 1) });
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', 'candidate', 'after 150', 2) });
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', { leader: 'serving' }, 'message RequestVoteResponse from r2', 3) });
  s = reduceInspector(s, { type: 'transition', transition: tr('r1', { leader: 'transferring' }, 'transfer', 4) });
  t.deepEqual(s.observed, { 'follower>candidate': { count: 1, lastEvent: 'after 150' }, 'candidate>leader': { count: 1, lastEvent: 'message RequestVoteResponse from r2' } });
  const parsed = parseInspection(JSON.stringify({ value: 'leader', event: { type: 'message', message: { type: 'RequestVoteResponse', from: 'r4' } } }), 'r1', 0);
  t.is(parsed.event, 'message RequestVoteResponse from r4');
});

test('the real raft machine reads as five roles joined by its guarded eventless routes', async (t) => {
  const { raftMachine } = await import('../../actors/raft/index.ts');
  const g = stateGraphOf(raftMachine);
  t.deepEqual(g.nodes.filter((n) => n.depth === 0).map((n) => n.id).sort(), ['candidate', 'follower', 'leader', 'learner', 'pre-candidate']);
  t.true(g.edges.some((e) => e.source === 'candidate' && e.target === 'leader'));
  t.true(g.edges.some((e) => e.source === 'leader' && e.target === 'follower'));
});

test('records in the replica runtime shape read, including the first one with no previous state', (t) => {
  const first = parseInspection(JSON.stringify({ replica: 'r1', at: 10, from: null, value: 'follower', event: 'xstate.init', term: 0 }), 'r1', 0);
  t.like(first, { from: null, to: 'follower', event: 'init', term: 0 });
  const vote = parseInspection(JSON.stringify({ replica: 'r1', at: 11, from: 'candidate', value: 'leader', event: 'message:RequestVoteResponse from r2', term: null }), 'r1', 0);
  t.like(vote, { from: 'candidate', to: 'leader', event: 'message RequestVoteResponse from r2', term: null });
});

test('a replica first heard from in a keep-alive record joins without a logged transition', (t) => {
  const keepAlive: InspectedTransition = { ...tr('r5', 'follower', 'message AppendEntries from r4', 9), from: 'follower' };
  const s = reduceInspector(initialInspectorState, { type: 'transition', transition: keepAlive });
  t.deepEqual(s.log, []);
  t.like(s.replicas.r5, { top: 'follower', transitions: 0 });
});

test('a replica is silent after three missed keep-alives', (t) => {
  const s = reduceInspector(initialInspectorState, { type: 'transition', transition: tr('r1', 'leader', 'init', 10_000) });
  const r1 = s.replicas.r1!;
  t.false(isSilent(r1, 10_000 + INSPECTOR_SILENT_MS));
  t.true(isSilent(r1, 10_001 + INSPECTOR_SILENT_MS));
  const again = reduceInspector(s, { type: 'transition', transition: tr('r1', 'leader', 'keep-alive', 20_000) });
  t.false(isSilent(again.replicas.r1!, 20_000 + 1_000), 'a keep-alive of the same state counts as heard');
});
