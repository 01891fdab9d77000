/**
 * `quorumchat members` without a cluster: the report built from a leader's
 * `cluster` answer and the replicas' statuses, its table, and the
 * in-flight rule (a majority of voters must report the leader's configuration).
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

test('a healthy cluster with a learner: every member with the leader view and the monitor verdict', (t) => {
  const answers = summarise([...VOTERS, 'r6'].map((id) => status(id)));
  const report = buildMembersReport(cluster(), answers, 1_000_000, DEFAULT_MONITOR_SETTINGS);
  t.is(report.leader, 'r1');
  t.false(report.changeInFlight);
  t.deepEqual(
    report.members.map((m) => [m.id, m.kind, m.role, m.reachable, m.lag, m.verdict]),
    [
      ['r1', 'voter', 'leader', true, 0, 'leader'],
      ['r2', 'voter', 'follower', true, 0, 'healthy'],
      ['r3', 'voter', 'follower', true, 0, 'healthy'],
      ['r4', 'voter', 'follower', true, 0, 'healthy'],
      ['r5', 'voter', 'follower', true, 0, 'healthy'],
      // One look has no memory: a caught-up learner cannot have been steady for the stability period yet.
      ['r6', 'learner', 'learner', true, 0, 'steadying'],
    ],
  );
  t.deepEqual(report.monitor.map((d) => d.kind), ['wait']);
  const table = formatMembers(report);
  t.regex(table, /^leader r1, term 3, commitIndex 500$/m);
  t.regex(table, /member\s+kind\s+role\s+term\s+reachable\s+last contact\s+match\s+lag\s+health\s+monitor/);
  t.regex(table, /^r6\s+learner\s+learner\s+3\s+yes\s+40 ms ago\s+500\s+0\s+ok\s+steadying$/m);
  t.regex(table, /^monitor policy: wait steady \(5 healthy voters\)$/m);
});

test('a dead voter, a silent one and a lagging learner; the learner on its way counts as the replacement', (t) => {
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
  t.regex(formatMembers(report), /^monitor policy: wait grace \(silent: r5 \(5 s\); dead after 30 s\)$/m);
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

test('no leader: members as the newest answer names them, nothing judged', (t) => {
  const answers = summarise([status('r1', { role: 'follower', leader: null }), { id: 'r2', error: 'no answer (timeout)' }]);
  const report = buildMembersReport(null, answers, 0, DEFAULT_MONITOR_SETTINGS);
  t.is(report.leader, null);
  t.is(report.view, null);
  t.deepEqual(report.members.map((m) => [m.id, m.health, m.verdict]), [...VOTERS.map((id) => [id, id === 'r1' ? 'ok' : 'no answer', null]), ['r6', 'no answer', null]]);
  t.regex(formatMembers(report), /^no leader/);
  t.regex(formatMembers(report), /monitor policy: wait noLeader/);
});
