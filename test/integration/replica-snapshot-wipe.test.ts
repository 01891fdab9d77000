/**
 * A follower far behind catches up by snapshot; a replica restarted on a
 * wiped data directory under its old id is refused.
 */
import test from 'ava';
import { account, ReplicaCluster } from './support/replica-cluster.ts';
import { SendStream } from './support/sends.ts';

/** Small, so the leader compacts its log a few times while the follower is away. */
const SNAPSHOT_EVERY = 20;

test('a follower far behind catches up via snapshot; a wiped data directory with an old id is refused', async (t) => {
  t.timeout(180_000);
  const cluster = await ReplicaCluster.start(t, { size: 3, snapshotEvery: SNAPSHOT_EVERY });
  const leader = await cluster.waitForLeader();
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const lagging = cluster.ids.find((id) => id !== leader) ?? '';
  await cluster.waitForConvergence();

  // The follower goes away while the others commit and compact past everything it has.
  await cluster.kill(lagging);
  const stream = new SendStream(cluster, ada, 'bob', 'behind');
  for (let i = 0; i < SNAPSHOT_EVERY * 3; i++) {
    const reply = await stream.sendOne();
    t.true(reply.ok, JSON.stringify(reply));
  }
  const leaderStatus = await cluster.waitFor('the leader to compact', async () => {
    const status = await cluster.status(leader);
    return status && status.snapshotIndex >= SNAPSHOT_EVERY * 2 ? status : null;
  });
  t.true(leaderStatus.snapshotIndex > 0);

  void cluster.startReplica(lagging);
  const converged = await cluster.waitForConvergence(cluster.ids, stream.acked.at(-1)?.id ?? 1);
  t.is(new Set(converged.map((s) => s.digest)).size, 1);
  const caughtUp = converged.find((s) => s.id === lagging);
  t.true((caughtUp?.snapshotIndex ?? 0) > 0, 'the lagging follower holds a snapshot');
  t.regex(cluster.log(lagging), /installed snapshot from leader/);

  // Its disk is lost; restarting it under the same id must be refused, not vote with an empty log.
  await cluster.kill(lagging);
  cluster.wipe(lagging);
  const code = await cluster.startReplica(lagging, { expectExit: true });
  t.is(code, 3);
  t.regex(cluster.log(lagging), /refusing to run replica .* its data directory has identity/);
  // The rest of the cluster did not notice.
  t.true((await stream.sendOne()).ok);
});
