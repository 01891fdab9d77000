/**
 * Replacing a replica while the cluster serves: add a new id as a learner,
 * let it catch up, promote it, remove the old one, move leadership; all
 * through the operator subjects `<prefix>.admin.members` and `.transfer`.
 */
import test from 'ava';
import { account, ReplicaCluster, type Reply } from './support/replica-cluster.ts';
import { SendStream } from './support/sends.ts';

async function admin(cluster: ReplicaCluster, op: string, body: unknown): Promise<Reply> {
  const msg = await cluster.nc.request(`${cluster.prefix}.admin.${op}`, JSON.stringify(body), { timeout: 15_000 });
  return JSON.parse(msg.string()) as Reply;
}

test('a replica is replaced by a new id: learner, catch-up, promotion, removal, leadership transfer', async (t) => {
  t.timeout(180_000);
  const cluster = await ReplicaCluster.start(t, { size: 3 });
  const leader = await cluster.waitForLeader();
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'members');
  for (let i = 0; i < 10; i++) t.true((await stream.sendOne()).ok);

  // Bad operator requests get clear errors and change nothing.
  t.is(errorCode(await admin(cluster, 'members', { action: 'promote', id: 'r9' })), 'conflict');
  t.is(errorCode(await admin(cluster, 'members', { action: 'explode', id: 'r1' })), 'bad_request');
  t.is(errorCode(await admin(cluster, 'members', { action: 'addLearner', id: 'not a valid id!' })), 'bad_request');
  t.is(errorCode(await admin(cluster, 'nosuch', {})), 'bad_request');

  // r4 joins as a learner and catches up while sends go on.
  const added = await admin(cluster, 'members', { action: 'addLearner', id: 'r4' });
  t.true(added.ok, JSON.stringify(added));
  t.deepEqual(added.ok ? added['learners'] : null, ['r4']);
  void cluster.startReplica('r4', { peers: ['r1', 'r2', 'r3', 'r4'] });
  stream.start();
  await stream.ackedAtLeast(20);
  await cluster.waitFor('r4 to catch up as a learner', async () => {
    const [r4, lead] = await cluster.statuses(['r4', leader]);
    return r4 && lead && r4.role === 'learner' && r4.appliedIndex >= lead.commitIndex - 5 ? r4 : null;
  });

  // Promote r4, then remove a follower that is not the leader: still three voters.
  const promoted = await admin(cluster, 'members', { action: 'promote', id: 'r4' });
  t.true(promoted.ok, JSON.stringify(promoted));
  const old = ['r1', 'r2', 'r3'].find((id) => id !== leader) ?? '';
  const removed = await admin(cluster, 'members', { action: 'remove', id: old });
  t.true(removed.ok, JSON.stringify(removed));
  t.deepEqual(removed.ok ? [...(removed['voters'] as string[])].sort() : null, ['r1', 'r2', 'r3', 'r4'].filter((id) => id !== old).sort());
  await cluster.kill(old);

  // Leadership moves to the new replica; the cluster keeps serving.
  const moved = await admin(cluster, 'transfer', { to: 'r4' });
  t.true(moved.ok, JSON.stringify(moved));
  const acked = stream.acked.length;
  await stream.ackedAtLeast(acked + 10);
  await stream.stop();
  t.deepEqual(stream.failures, []);
  const voters = ['r1', 'r2', 'r3', 'r4'].filter((id) => id !== old);
  const statuses = await cluster.waitForConvergence(voters, stream.acked.at(-1)?.id ?? 1);
  t.true(statuses.every((s) => s.voters.length === 3 && !s.voters.includes(old)));
  const described = await cluster.request('cluster', {});
  t.true(described.ok);
  t.is(described.ok ? described['leader'] : null, (await cluster.status('r4'))?.leader);

  // With one voter down, removing the other follower would leave one of two voters holding the log: refused,
  // since losing the leader then would stop the cluster for good. Removing the dead one is fine.
  const [down, up] = voters.filter((id) => id !== 'r4');
  await cluster.kill(down ?? '');
  await cluster.waitFor(`the leader to find ${down} unreachable`, async () => {
    const view = await cluster.request('cluster', {});
    const member = view.ok ? (view['members'] as { id: string; reachable: boolean }[]).find((m) => m.id === down) : undefined;
    return member && !member.reachable ? member : null;
  });
  const refused = await admin(cluster, 'members', { action: 'remove', id: up });
  t.is(errorCode(refused), 'conflict');
  t.regex(refused.ok ? '' : refused.error.message, new RegExp(`1 of 2 voters .*wait until ${down} catches up`));
  const dropped = await admin(cluster, 'members', { action: 'remove', id: down });
  t.true(dropped.ok, JSON.stringify(dropped));
});

function errorCode(reply: Reply): string {
  return reply.ok ? 'ok' : reply.error.code;
}
