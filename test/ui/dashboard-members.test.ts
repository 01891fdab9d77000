/**
 * The dashboard's membership side without a screen or a cluster: the
 * membership columns from a poll round with the leader's `cluster` answer,
 * the leader's monitor's decisions gathered newest first across rounds and
 * leaders; without a leader's monitor, the policy's advisory decisions
 * listed as they change (with memory across rounds, reset when leadership
 * moves); and the action flow: refusal with `members`' own messages,
 * confirmation, outcome.
 */
import test from 'ava';
import type { ClusterView, MembershipChange } from '../../actors/monitor/index.ts';
import type { StatusReply } from '../../actors/protocol/index.ts';
import type { ClusterAnswer } from '../../cli/supervisor/cluster-status.ts';
import { MembersRefusal } from '../../cli/commands/members-exit.ts';
import { COLUMNS, headerLine, rowCells } from '../../cli/tui/dashboard-columns.ts';
import { decisionsKey, decisionsSource } from '../../cli/tui/dashboard-membership.ts';
import { decisionLine } from '../../cli/tui/decisions-panel.ts';
import { initialDashboardState, reduceDashboard, type DashboardState, type PollRound } from '../../cli/tui/dashboard-model.ts';
import { runMemberAction, type MemberActionPorts } from '../../cli/tui/member-actions.ts';

const VOTERS = ['r1', 'r2', 'r3', 'r4', 'r5'];
/** The policy's grace period before a silent voter is dead (DEFAULT_DEAD_AFTER_MS). */
const GRACE_MS = 30_000;

function status(id: string, over: Partial<StatusReply> = {}): StatusReply {
  const role = id === 'r1' ? 'leader' : VOTERS.includes(id) ? 'follower' : 'learner';
  return { id, role, term: 3, leader: 'r1', commitIndex: 500, appliedIndex: 500, digest: 'abcdef0123', voters: VOTERS, learners: ['r6'], health: 'ok', ...over };
}

type MemberOverride = Partial<{ reachable: boolean; lastContactMs: number | null; matchIndex: number }>;

function cluster(leader = 'r1', overrides: Record<string, MemberOverride> = {}): ClusterAnswer {
  const members = [...VOTERS, 'r6'].map((id) => ({
    id,
    voter: id !== 'r6',
    role: id === leader ? 'leader' : VOTERS.includes(id) ? 'follower' : 'learner',
    reachable: true,
    lastContactMs: id === leader ? 0 : 40,
    matchIndex: 500,
    ...overrides[id],
  }));
  return { ok: true as const, leader, term: 3, commitIndex: 500, members };
}

function round(at: number, answer: ClusterAnswer | null, silent: readonly string[] = []): PollRound {
  return {
    at,
    cluster: answer,
    replies: [...VOTERS, 'r6'].map((id) => (silent.includes(id) ? { id, ok: false as const, error: 'no answer (timeout)' } : { id, ok: true as const, status: status(id) })),
  };
}

const cellsOf = (state: DashboardState, id: string): Record<string, string> => {
  const row = state.replicas.find((r) => r.id === id);
  if (!row) throw new Error(`no row ${id}`);
  const cells = rowCells(state, row, 'running');
  return Object.fromEntries(COLUMNS.map((c, i) => [c.header, cells[i] ?? '']));
};

test('membership columns: kind, match, lag, reach and contact from the leader, the verdict from the monitor policy', (t) => {
  const state = reduceDashboard(initialDashboardState, round(1_000, cluster('r1', { r6: { matchIndex: 100 }, r4: { reachable: false, lastContactMs: 45_000, matchIndex: 400 } }), ['r4']));
  t.like(cellsOf(state, 'r1'), { kind: 'voter', role: 'leader', reach: 'yes', match: '500', lag: '0', contact: '0ms', monitor: 'leader', digest: 'abcdef…' });
  t.like(cellsOf(state, 'r4'), { kind: 'voter', role: '-', reach: 'no', match: '400', lag: '100', contact: '45000ms', health: 'no answer', monitor: 'dead' });
  t.like(cellsOf(state, 'r6'), { kind: 'learner', match: '100', lag: '400', monitor: 'catching-up' });
  const never = reduceDashboard(initialDashboardState, round(0, cluster('r1', { r6: { reachable: false, lastContactMs: null, matchIndex: 0 } }), ['r6']));
  t.like(cellsOf(never, 'r6'), { reach: 'no', contact: 'never', monitor: 'silent' }, 'as members shows a member not heard from in this term');
  t.regex(headerLine(), /^id\s+process\s+role\s+term\s+leader\s+kind\s+commit\s+applied\s+match\s+lag\s+reach\s+contact\s+digest\s+health\s+monitor\s*$/);
  t.is(COLUMNS.reduce((sum, c) => sum + c.width, 0), 138, 'the table fits inside the border of a 140-column terminal');
});

test('without a leader the membership cells are dashes, and a round that did not ask keeps the last look', (t) => {
  const leaderless = reduceDashboard(initialDashboardState, round(0, null));
  t.like(cellsOf(leaderless, 'r2'), { kind: 'voter', reach: '-', match: '-', monitor: '-' });
  const looked = reduceDashboard(initialDashboardState, round(0, cluster()));
  const { cluster: _asked, ...notAsked } = round(500, cluster('r2'));
  t.is(reduceDashboard(looked, notAsked).membership.report?.leader, 'r1');
});

test('advisory (the leader reports no monitor): the list grows only when the decision changes, not as its durations tick', (t) => {
  const silentR5 = (ms: number) => cluster('r1', { r5: { reachable: false, lastContactMs: ms, matchIndex: 480 } });
  let state = reduceDashboard(initialDashboardState, round(0, cluster()));
  state = reduceDashboard(state, round(500, cluster()));
  state = reduceDashboard(state, round(1_000, silentR5(2_000), ['r5']));
  state = reduceDashboard(state, round(1_500, silentR5(2_500), ['r5']));
  state = reduceDashboard(state, round(GRACE_MS, silentR5(GRACE_MS), ['r5']));
  const listed = state.membership.decisions.map((e) => [e.at, e.decision.kind, e.decision.kind === 'wait' ? e.decision.why : '']);
  t.deepEqual(listed, [
    // Dead, and r6 caught up since the first round (the dashboard remembers): promote it.
    [GRACE_MS, 'promoteNewcomer', ''],
    [1_000, 'wait', 'grace'],
    [0, 'wait', 'steady'],
  ]);
  t.true(state.membership.decisions.every((e) => e.by === null), 'every entry is advisory');
  t.is(decisionsSource(state.membership), 'monitor: policy, advisory (r1 reports no monitor), newest first');
  t.is(decisionsKey([{ kind: 'wait', why: 'grace', reason: 'silent: r5 (2 s)' }]), decisionsKey([{ kind: 'wait', why: 'grace', reason: 'silent: r5 (3 s)' }]));
});

test('the policy remembers between rounds (a learner becomes ready), and forgets when leadership moves', (t) => {
  // r5 dead, r6 caught up: after the stability period the policy promotes r6.
  const deadR5 = (leader: string) => cluster(leader, { r5: { reachable: false, lastContactMs: 60_000, matchIndex: 400 } });
  let state = reduceDashboard(initialDashboardState, round(0, deadR5('r1'), ['r5']));
  t.is(state.membership.report?.members.find((m) => m.id === 'r6')?.verdict, 'steadying');
  state = reduceDashboard(state, round(11_000, deadR5('r1'), ['r5']));
  t.like(cellsOf(state, 'r6'), { monitor: 'ready → promoteNewcomer' });
  t.is(state.membership.decisions[0]?.decision.kind, 'promoteNewcomer');
  // A new leader's monitor starts with an empty memory: r6 is only steadying again.
  state = reduceDashboard(state, round(11_500, deadR5('r2'), ['r5']));
  t.like(cellsOf(state, 'r6'), { monitor: 'steadying' });
});

test('the list is bounded', (t) => {
  let state = reduceDashboard(initialDashboardState, round(0, cluster()));
  for (let i = 1; i <= 600; i++) state = reduceDashboard(state, round(i * 1_000, i % 2 === 0 ? cluster() : null));
  t.is(state.membership.decisions.length, 500);
  t.deepEqual([state.membership.decisions[0]?.at, state.membership.decisions.at(-1)?.at], [600_000, 101_000], 'newest first; the oldest dropped');
});

/** A decision record as monitor-loop.ts keeps it (in the `cluster` reply and each status). */
function record(at: number, term: number, decision: Record<string, unknown>, outcome: string | null = null) {
  return { at, term, decision, outcome };
}

test("the leader's real decisions: what it decided and when, newest first, each once, kept across a change of leader", (t) => {
  const T = Date.parse('2026-12-04T16:40:00');
  const r1Took = [
    record(T, 3, { kind: 'wait', why: 'steady', reason: '5 healthy voters' }),
    record(T + 31_000, 3, { kind: 'requestReplacement', replaces: 'r5', reason: 'r5 dead for 31 s' }, 'asked for r7'),
  ];
  const withMonitor = (answer: ClusterAnswer, decisions: unknown[]): ClusterAnswer => ({ ...answer, monitor: { enabled: true, intents: {}, decisions } });
  let state = reduceDashboard(initialDashboardState, round(T + 500, withMonitor(cluster(), r1Took.slice(0, 1))));
  t.is(decisionsSource(state.membership), 'monitor: decisions of the leader r1, newest first');
  const once = state.membership.decisions;
  // The same records again on the next rounds: nothing is added, the list is the same one.
  state = reduceDashboard(state, round(T + 1_000, withMonitor(cluster(), r1Took.slice(0, 1))));
  t.is(state.membership.decisions, once);
  state = reduceDashboard(state, round(T + 31_500, withMonitor(cluster(), r1Took)));
  // r2 takes over; its monitor starts afresh, and r1's records stay listed.
  const r2Took = [record(T + 40_000, 4, { kind: 'promoteNewcomer', id: 'r6', reason: 'r6 ready' }, 'done')];
  state = reduceDashboard(state, round(T + 40_500, withMonitor(cluster('r2'), r2Took)));
  t.deepEqual(
    state.membership.decisions.map((e) => [e.by, e.term, e.at - T, e.decision.kind, e.outcome]),
    [
      ['r2', 4, 40_000, 'promoteNewcomer', 'done'],
      ['r1', 3, 31_000, 'requestReplacement', 'asked for r7'],
      ['r1', 3, 0, 'wait', null],
    ],
  );
  t.is(decisionsSource(state.membership), 'monitor: decisions of the leader r2, newest first');
  t.like(cellsOf(state, 'r6'), { monitor: 'steadying → promoteNewcomer' }, "the row carries the leader's latest action on it");
  const line = decisionLine(state.membership.decisions[1] ?? (undefined as never)).replace(/\{[^}]*\}/g, '');
  t.is(line, '16:40:31 r1 requestReplacement for r5 (r5 dead for 31 s) → asked for r7');
  // No leader: the panel says the decision is advisory, and keeps what the leaders took.
  state = reduceDashboard(state, round(T + 41_000, null));
  t.is(decisionsSource(state.membership), 'monitor: policy, advisory (no leader to ask), newest first');
  t.deepEqual(state.membership.decisions.slice(0, 2).map((e) => [e.by, e.decision.kind]), [[null, 'wait'], ['r2', 'promoteNewcomer']]);
});

/** Ports that record what the flow asked, answer confirmations with `yes`, and make changes with `make`. */
function ports(options: { yes?: boolean; id?: string | null; make?: (change: MembershipChange) => Promise<string> } = {}) {
  const asked: string[] = [];
  const made: MembershipChange[] = [];
  const progress: string[] = [];
  const p: MemberActionPorts = {
    askId: async (title) => {
      asked.push(`id: ${title}`);
      return options.id ?? null;
    },
    confirm: async (title, question) => {
      asked.push(`confirm: ${title}: ${question}`);
      return options.yes ?? true;
    },
    makeChange: async (change) => {
      made.push(change);
      return (options.make ?? (async () => 'done'))(change);
    },
    progress: (text) => progress.push(text),
  };
  return { p, asked, made, progress };
}

const viewOf = (state: DashboardState): ClusterView => {
  const view = state.membership.report?.view;
  if (!view) throw new Error('no view');
  return view;
};

test('an action is confirmed before it is made, and its outcome is what members prints', async (t) => {
  const view = viewOf(reduceDashboard(initialDashboardState, round(0, cluster())));
  const { p, asked, made, progress } = ports({ make: async (c) => `${c.id} leads now` });
  const outcome = await runMemberAction('transfer', 'r3', view, p);
  t.deepEqual(made, [{ action: 'transfer', id: 'r3' }]);
  t.regex(asked[0] ?? '', /^confirm: transfer r3: Transfer leadership to r3\?/);
  t.deepEqual(progress, ['transfer r3…']);
  t.deepEqual(outcome, { tone: 'ok', text: 'transfer r3: r3 leads now' });
});

test('n (or Escape) cancels: nothing is sent', async (t) => {
  const view = viewOf(reduceDashboard(initialDashboardState, round(0, cluster())));
  const { p, made } = ports({ yes: false });
  t.deepEqual(await runMemberAction('promote', 'r6', view, p), { tone: 'info', text: 'promote r6: cancelled' });
  t.deepEqual(made, []);
});

test('refused before asking, with the messages of quorumchat members', async (t) => {
  const state = reduceDashboard(initialDashboardState, round(0, cluster('r1', { r6: { matchIndex: 100 } })));
  const view = viewOf(state);
  const cases: [Parameters<typeof runMemberAction>[0], string, string][] = [
    ['promote', 'r2', 'promote r2: refused: r2 is already a voter'],
    ['promote', 'r6', 'promote r6: refused: r6 has not caught up: 400 entries behind the commit index; wait, or use --force'],
    ['transfer', 'r6', 'transfer r6: refused: r6 is a learner; only a voter can lead'],
    ['remove', 'r9', 'remove r9: refused: r9 is not a member (voters: r1, r2, r3, r4, r5; learners: r6)'],
  ];
  for (const [action, id, text] of cases) {
    const { p, asked, made } = ports();
    t.deepEqual(await runMemberAction(action, id, view, p), { tone: 'error', text }, `${action} ${id}`);
    t.deepEqual([asked, made], [[], []], 'no confirmation asked, nothing sent');
  }
  const { p } = ports();
  t.deepEqual(await runMemberAction('remove', 'r2', null, p), { tone: 'error', text: 'remove r2: refused: no leader answered: nothing can be changed until one is elected' });
});

test('add asks for the id, checks it, confirms, and reports the refusal members would print', async (t) => {
  const view = viewOf(reduceDashboard(initialDashboardState, round(0, cluster())));
  const cancelled = ports({ id: null });
  t.is(await runMemberAction('add', 'r2', view, cancelled.p), null);
  const bad = ports({ id: 'bad id' });
  t.regex((await runMemberAction('add', null, view, bad.p))?.text ?? '', /^add bad id: refused: bad id "bad id": must be 1 to 64 characters/);
  const existing = ports({ id: 'r6' });
  t.deepEqual(await runMemberAction('add', null, view, existing.p), { tone: 'error', text: 'add r6: refused: r6 is already a learner' });
  const conflict = ports({ id: 'r7', make: async () => Promise.reject(new MembersRefusal('the cluster refused: conflict: a change is in progress', 18)) });
  t.deepEqual(await runMemberAction('add', null, view, conflict.p), { tone: 'error', text: 'add r7: refused: the cluster refused: conflict: a change is in progress' });
  t.deepEqual(conflict.made, [{ action: 'addLearner', id: 'r7' }]);
  t.regex(conflict.asked[1] ?? '', /Add r7 as a learner\?/);
});

test('removing the leader asks to move leadership to the most caught-up other voter first; refused when none is caught up', async (t) => {
  const view = viewOf(reduceDashboard(initialDashboardState, round(0, cluster('r1', { r2: { matchIndex: 490 }, r3: { matchIndex: 499 } }))));
  const { p, asked, made } = ports({ make: async () => 'r1 led: leadership moved to r4 first (term 4), then:\nr1 removed' });
  const outcome = await runMemberAction('remove', 'r1', view, p);
  // r3..r5 hold 499 or 500 entries: r4 and r5 hold the most, r4 first by id.
  t.regex(asked[0] ?? '', /^confirm: remove r1: r1 leads: move leadership to r4 \(the most caught-up other voter\) first,\nthen remove r1/);
  t.deepEqual(made, [{ action: 'remove', id: 'r1' }]);
  t.is(outcome?.tone, 'ok');
  const behind = { reachable: true, lastContactMs: 40, matchIndex: 100 };
  const lagging = viewOf(reduceDashboard(initialDashboardState, round(0, cluster('r1', { r2: behind, r3: behind, r4: behind, r5: behind }))));
  const none = ports();
  t.deepEqual(await runMemberAction('remove', 'r1', lagging, none.p), {
    tone: 'error',
    text: 'remove r1: refused: r1 leads and no other voter is caught up to take over (r2 400 entries behind, r3 400 entries behind, r4 400 entries behind, r5 400 entries behind); wait, then try again',
  });
  t.deepEqual([none.asked, none.made], [[], []]);
});

test('transfer to the leader says so without asking', async (t) => {
  const view = viewOf(reduceDashboard(initialDashboardState, round(0, cluster())));
  const { p, asked } = ports();
  t.deepEqual(await runMemberAction('transfer', 'r1', view, p), { tone: 'info', text: 'r1 already leads' });
  t.deepEqual(asked, []);
});
