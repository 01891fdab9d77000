/**
 * `quorumchat members` without a cluster: the report built from a leader's
 * `cluster` answer and the replicas' statuses, its table, the monitor's
 * decisions (the leader's real ones; the policy's advisory one only with no
 * leader to ask, or a leader that reports no monitor), and the in-flight
 * rule (a majority of voters must report the leader's configuration).
 */
import test from 'ava';
import { DEFAULT_MONITOR_SETTINGS } from '../../actors/monitor/index.ts';
import { buildMembersReport } from '../../cli/commands/members-report.ts';
import { formatMembers } from '../../cli/commands/members-format.ts';
import type { StatusReply } from '../../actors/protocol/index.ts';
import { summarise } from '../../cli/supervisor/cluster-status.ts';

const VOTERS = ['r1', 'r2', 'r3', 'r4', 'r5'];

function status(id: string, extra: Partial<StatusReply> = {}): { id: string; status: StatusReply } {
  const role = id === 'r1' ? 'leader' : VOTERS.includes(id) ? 'follower' : 'learner';
  return {
    id,
    status: { id, role, term: 3, leader: 'r1', commitIndex: 500, appliedIndex: 500, digest: 'ab', voters: VOTERS, learners: ['r6'], health: 'ok', ...extra },
  };
}

/** A decision record as monitor-loop.ts keeps it. */
function record(at: number, decision: Record<string, unknown>, outcome: string | null = null) {
  return { at, term: 3, decision, outcome };
}

function cluster(overrides: Record<string, { reachable: boolean; lastContactMs: number | null; matchIndex: number }> = {}) {
  const members = [...VOTERS, 'r6'].map((id) => ({
    id,
    voter: id !== 'r6',
    role: id === 'r1' ? 'leader' : 'follower',
    reachable: true,
    lastContactMs: id === 'r1' ? 0 : 40,
    matchIndex: 500,
    ...overrides[id],
  }));
  return { ok: true as const, leader: 'r1', term: 3, commitIndex: 500, members };
}

test('a healthy cluster with a learner: every member with the leader view; the decisions the leader monitor took, newest first', (t) => {
  const answers = summarise([...VOTERS, 'r6'].map((id) => status(id)));
  const NOW = Date.parse('2026-12-04T16:40:00');
  const decisions = [
    record(NOW - 90_000, { kind: 'wait', why: 'steady', reason: '5 healthy voters' }),
    record(NOW - 20_000, { kind: 'promoteNewcomer', id: 'r6', reason: 'r6 ready; 5 of 5 voters healthy' }, 'refused: conflict: a change is in progress'),
    record(NOW - 5_000, { kind: 'wait', why: 'stabilizing', reason: 'r6 steadying' }),
  ];
  const report = buildMembersReport({ ...cluster(), monitor: { enabled: true, intents: { r6: 'voter' }, decisions } }, answers, NOW, DEFAULT_MONITOR_SETTINGS);
  t.is(report.leader, 'r1');
  t.false(report.changeInFlight);
  t.deepEqual(
    report.members.map((m) => [m.id, m.kind, m.role, m.reachable, m.lag, m.verdict, m.action]),
    [
      ['r1', 'voter', 'leader', true, 0, 'leader', null],
      ['r2', 'voter', 'follower', true, 0, 'healthy', null],
      ['r3', 'voter', 'follower', true, 0, 'healthy', null],
      ['r4', 'voter', 'follower', true, 0, 'healthy', null],
      ['r5', 'voter', 'follower', true, 0, 'healthy', null],
      // One look has no memory: a caught-up learner cannot have been steady for the stability period yet;
      // the action is the leader's, taken 20 s ago.
      ['r6', 'learner', 'learner', true, 0, 'steadying', 'promoteNewcomer'],
    ],
  );
  t.like(report.monitor, { source: 'leader', leader: 'r1', enabled: true, advisory: [] });
  t.deepEqual(report.monitor.decisions.map((d) => [d.by, d.at - NOW, d.decision.kind]), [
    ['r1', -5_000, 'wait'],
    ['r1', -20_000, 'promoteNewcomer'],
    ['r1', -90_000, 'wait'],
  ]);
  const table = formatMembers(report);
  t.regex(table, /^leader r1, term 3, commitIndex 500$/m);
  t.regex(table, /member\s+kind\s+role\s+term\s+reachable\s+last contact\s+match\s+lag\s+health\s+monitor/);
  t.regex(table, /^r6\s+learner\s+learner\s+3\s+yes\s+40 ms ago\s+500\s+0\s+ok\s+steadying → promoteNewcomer$/m);
  t.regex(
    table,
    /^monitor: decisions of the leader r1's monitor \(and of former leaders still running\), newest first:\n {2}16:39:55 r1 wait stabilizing \(r6 steadying\)\n {2}16:39:40 r1 promoteNewcomer r6 \(r6 ready; 5 of 5 voters healthy\) → refused: conflict: a change is in progress\n {2}16:38:30 r1 wait steady \(5 healthy voters\)$/m,
  );
  t.notRegex(table, /advisory/);
  // A minute on, the row no longer carries the action; the list still has it.
  const later = buildMembersReport({ ...cluster(), monitor: { enabled: false, intents: {}, decisions } }, answers, NOW + 60_000, DEFAULT_MONITOR_SETTINGS);
  t.is(later.members.find((m) => m.id === 'r6')?.action, null);
  t.regex(formatMembers(later), /newest first; monitor.enabled is false there: it decides and logs, never acts:/);
});

test('a leader that has decided nothing yet says so', (t) => {
  const answers = summarise(VOTERS.map((id) => status(id)));
  const report = buildMembersReport({ ...cluster(), monitor: { enabled: true, intents: {}, decisions: [] } }, answers, 0, DEFAULT_MONITOR_SETTINGS);
  t.regex(formatMembers(report), /^monitor: the leader r1's monitor has decided nothing yet/m);
});

test('a leader that reports no monitor: the policy, advisory and labelled so; a dead voter, a silent one and a lagging learner', (t) => {
  const answers = summarise([
    ...['r1', 'r2', 'r3'].map((id) => status(id)),
    { id: 'r4', error: 'no answer (timeout)' },
    { id: 'r5', error: 'no answer (timeout)' },
    status('r6', { appliedIndex: 10 }),
  ]);
  const view = cluster({
    r4: { reachable: false, lastContactMs: 45_000, matchIndex: 400 },
    r5: { reachable: false, lastContactMs: 5_000, matchIndex: 480 },
    r6: { reachable: true, lastContactMs: 30, matchIndex: 10 },
  });
  const report = buildMembersReport(view, answers, 1_000_000, DEFAULT_MONITOR_SETTINGS);
  const row = (id: string) => report.members.find((m) => m.id === id);
  t.is(row('r4')?.verdict, 'dead');
  t.is(row('r4')?.action, null, 'r6 catching up already covers the missing voter');
  t.is(row('r4')?.health, 'no answer');
  t.is(row('r5')?.verdict, 'silent');
  t.is(row('r6')?.verdict, 'catching-up');
  t.is(row('r6')?.lag, 490);
  t.regex(formatMembers(report), /^r4\s+voter\s+-\s+-\s+no\s+45000 ms ago\s+400\s+100\s+no answer\s+dead$/m);
  t.is(report.monitor.source, 'advisory');
  t.regex(
    formatMembers(report),
    /^monitor policy \(advisory: the leader r1 reports no monitor; what the policy decides from this one look, nothing carries it out\):\n {2}wait grace \(silent: r5 \(5 s\); dead after 30 s\)$/m,
  );
});

test('fewer than a majority of voters report the leader configuration: a change is in flight', (t) => {
  const newer = { voters: [...VOTERS], learners: ['r6', 'r7'] };
  const answers = summarise([status('r1', newer), status('r2', newer), ...['r3', 'r4', 'r5', 'r6'].map((id) => status(id))]);
  const view = cluster();
  view.members.push({ id: 'r7', voter: false, role: 'learner', reachable: false, lastContactMs: null, matchIndex: 0 });
  t.true(buildMembersReport(view, answers, 0, DEFAULT_MONITOR_SETTINGS).changeInFlight);
  const settled = summarise([...['r1', 'r2', 'r3'].map((id) => status(id, newer)), ...['r4', 'r5', 'r6'].map((id) => status(id))]);
  t.false(buildMembersReport(view, settled, 0, DEFAULT_MONITOR_SETTINGS).changeInFlight);
});

test('no leader: members as the newest answer names them, nothing judged; a former leader still running keeps its decisions', (t) => {
  const formerLeader = { monitor: { enabled: true, intents: {}, decisions: [record(Date.parse('2026-12-04T16:00:00'), { kind: 'removeDead', id: 'r4', reason: 'r4 dead for 31 s' }, 'done')] } };
  const answers = summarise([status('r1', { role: 'follower', leader: null, ...formerLeader }), { id: 'r2', error: 'no answer (timeout)' }]);
  const report = buildMembersReport(null, answers, 0, DEFAULT_MONITOR_SETTINGS);
  t.is(report.leader, null);
  t.is(report.view, null);
  t.deepEqual(report.members.map((m) => [m.id, m.health, m.verdict]), [...VOTERS.map((id) => [id, id === 'r1' ? 'ok' : 'no answer', null]), ['r6', 'no answer', null]]);
  const table = formatMembers(report);
  t.regex(table, /^no leader/);
  t.regex(table, /^monitor policy \(advisory: no leader to ask; [^\n]*\n {2}wait noLeader/m);
  t.regex(table, /^decisions taken earlier by replicas that led, newest first:\n {2}16:00:00 r1 removeDead r4 \(r4 dead for 31 s\) → done$/m);
});
