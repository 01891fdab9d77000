/**
 * `quorumchat members` against real replica processes on a real nats-server:
 * list (table and JSON) on five replicas; add a learner r6 started with
 * `quorumchat replica --peers ...`, promote it once caught up, remove a
 * voter, transfer leadership; and every refusal by exit code and message:
 * unknown id, wrong kind, a learner not caught up,
 * too few live voters (two killed), fewer than three voters, no leader.
 */
import test from 'ava';
import { account, ReplicaCluster } from './support/replica-cluster.ts';
import { runCli, type CliResult } from './support/cli.ts';

interface ListedMember {
  readonly id: string;
  readonly kind: string;
  readonly role: string | null;
  readonly reachable: boolean | null;
  readonly lag: number | null;
  readonly verdict: string | null;
}

interface Listed {
  readonly leader: string | null;
  readonly members: readonly ListedMember[];
  readonly monitor: { readonly source: string; readonly decisions: readonly { readonly by: string; readonly decision: { readonly kind: string } }[] };
}

test('members: list, add, promote, remove, transfer, and every refusal', async (t) => {
  t.timeout(300_000);
  const cluster = await ReplicaCluster.start(t, { size: 5 });
  const members = (...args: string[]): Promise<CliResult> => runCli(['members', ...args, '--nats', cluster.nats.url, '--prefix', cluster.prefix]);
  const list = async (): Promise<Listed> => JSON.parse((await members('list', '--json')).stdout) as Listed;
  const refused = async (args: string[], code: number, message: RegExp): Promise<void> => {
    const result = await members(...args);
    t.is(result.code, code, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    t.regex(result.stderr, message, args.join(' '));
  };
  await cluster.waitForLeader();
  /** A running voter that does not lead, as the leader reports now. */
  const follower = async (): Promise<string> => {
    const listed = await list();
    // Running, not only reachable: a replica killed a moment ago still looks reachable to the leader for up to an election timeout.
    const running = cluster.running();
    const id = listed.members.find((m) => m.kind === 'voter' && m.reachable === true && running.includes(m.id) && m.id !== listed.leader && m.id !== 'r6')?.id;
    if (id === undefined) throw new Error(`no live follower in ${JSON.stringify(listed)}`);
    return id;
  };
  await account(cluster, 'ada');
  await cluster.waitForConvergence();

  // The table: every voter, the leader named, the monitor content.
  const table = await members();
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^leader r\d, term \d+, commitIndex \d+$/m);
  t.regex(table.stdout, /member\s+kind\s+role\s+term\s+reachable\s+last contact\s+match\s+lag\s+health\s+monitor/);
  for (const id of cluster.ids) t.regex(table.stdout, new RegExp(`^${id}\\s+voter\\s+(leader|follower)\\s+\\d+\\s+yes\\s`, 'm'));
  // The leader's own monitor decisions, not an advisory computation.
  t.regex(table.stdout, /^monitor: decisions of the leader r\d's monitor \(and of former leaders still running\), newest first:$/m);
  t.regex(table.stdout, /^ {2}\d\d:\d\d:\d\d r\d wait steady \(5 healthy voters\)$/m);
  t.notRegex(table.stdout, /advisory/);
  // The machine is shared and small: an election may move leadership between two looks.
  const json = await list();
  t.not(json.leader, null);
  t.is(json.monitor.source, 'leader');
  t.true(json.monitor.decisions.some((d) => d.decision.kind === 'wait'), JSON.stringify(json.monitor));
  t.deepEqual(json.members.map((m) => [m.id, m.kind, m.reachable, m.verdict === 'leader' || m.verdict === 'healthy']), cluster.ids.map((id) => [id, 'voter', true, true]));

  await refused(['promote', 'r9'], 10, /refused: r9 is not a member \(voters: r1, r2, r3, r4, r5; learners: none\)/);
  await refused(['add', 'r2'], 11, /refused: r2 is already a voter/);
  // Removing the leader moves leadership first (replica-join.test.ts); its refusal (16, no voter caught up) is in members-leader.test.ts.

  // r6 joins as a learner and catches up; r7 is added but never started: it cannot be promoted.
  const added = await members('add', 'r6');
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /r6 added as a learner \(voters r1, r2, r3, r4, r5; learners r6\); start it with quorumchat replica --id r6 --peers r1,r2,r3,r4,r5,r6/);
  void cluster.startReplica('r6', { peers: [...cluster.ids, 'r6'] });
  t.is((await members('add', 'r7')).code, 0);
  await refused(['promote', 'r7'], 14, /refused: r7 has not caught up: never heard from in this term; wait, or use --force/);
  t.is((await members('remove', 'r7')).code, 0);
  await cluster.waitFor('r6 to catch up', async () => {
    const r6 = (await list()).members.find((m) => m.id === 'r6');
    return r6?.reachable === true && r6.lag === 0 ? r6 : null;
  });
  t.like((await list()).members.find((m) => m.id === 'r6'), { kind: 'learner', role: 'learner' });
  const promoted = await members('promote', 'r6');
  t.is(promoted.code, 0, promoted.stderr);
  t.regex(promoted.stdout, /r6 promoted to voter \(voters r1, r2, r3, r4, r5, r6; learners none\)/);

  // Leadership moves to r6; then a follower is removed and stopped.
  const moved = await members('transfer', 'r6');
  t.is(moved.code, 0, moved.stderr);
  t.regex(moved.stdout, /r6 leads now/);
  t.is(await cluster.waitForLeader([...cluster.ids, 'r6']), 'r6');
  const gone = await follower();
  // A removed replica notices and exits 0 by itself (actors/replica/membership.ts), maybe before this test could kill it.
  const goneExit = cluster.expectExit(gone);
  const removed = await members('remove', gone);
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, new RegExp(`${gone} removed \\(voters .*\\); stop its process`));
  t.is(await goneExit, 0);

  // Two of the five voters die: removing a live one would leave 2 live of 4.
  const a = await follower();
  await cluster.kill(a);
  const b = await follower();
  await cluster.kill(b);
  await cluster.waitFor(`the leader to see ${a} and ${b} unreachable`, async () => {
    const listed = await list();
    return listed.members.filter((m) => m.reachable === false).length === 2 ? listed : null;
  });
  const c = await follower();
  await refused(['remove', c], 13, new RegExp(`refused: without ${c}, 2 of 4 voters would be reachable, fewer than a quorum`));
  // The dead ones may go; then three voters remain, and none of them may.
  t.is((await members('remove', a)).code, 0);
  t.is((await members('remove', b)).code, 0);
  await refused(['remove', c], 12, new RegExp(`refused: removing ${c} would leave 2 voters; at least 3 are needed`));

  // Two of the last three die: no leader.
  const survivors = cluster.running();
  await cluster.kill(c);
  await cluster.kill(survivors.find((id) => id !== c) ?? '');
  await cluster.waitFor('the last replica to step down', async () => {
    const last = await cluster.statuses(cluster.running());
    return last.every((s) => s !== null && s.role !== 'leader') ? true : null;
  });
  const leaderless = await members('list');
  t.is(leaderless.code, 4, leaderless.stdout + leaderless.stderr);
  t.regex(leaderless.stdout, /^no leader/);
  t.regex(leaderless.stdout, /^monitor policy \(advisory: no leader to ask; [^\n]*\n {2}wait noLeader/m);
  await refused(['add', 'r8', '--timeout', '2s'], 4, /refused: no leader answered/);
});
