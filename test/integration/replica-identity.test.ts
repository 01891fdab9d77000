/**
 * A replica's identity (issue 11; actors/raft/identity.ts): every data
 * directory has one, the leader records each member's in the configuration,
 * and a voter restarted under its old id on a wiped directory is refused,
 * also a former leader after a change of leader. With --join it comes back
 * as a new learner, catches up, and the monitor promotes it.
 */
import test from 'ava';
import { account, ReplicaCluster, type Status } from './support/replica-cluster.ts';
import { SendStream } from './support/sends.ts';

/** Short monitor periods: a learner steady 1.5 s may vote; dead voters are not replaced within the test. */
const FAST_MONITOR = { monitor: { intervalMs: 200, deadAfterMs: 60_000, stableAfterMs: 1_500, announceEveryMs: 500 } } as const;
const DATA_ID = /^[0-9a-f]{16}$/;
const REFUSED = /refusing to run replica r\d: its data directory has identity [0-9a-f]{16}, but the cluster recorded [0-9a-f]{16} for r\d/;

type IdentityStatus = Status & { dataId?: string | null; dataIds?: Record<string, string> };

async function identities(cluster: ReplicaCluster, among: readonly string[]): Promise<IdentityStatus> {
  return await cluster.waitFor('every member recorded with its identity', async () => {
    const statuses = (await cluster.statuses(among)) as (IdentityStatus | null)[];
    const leader = statuses.find((s) => s?.role === 'leader');
    if (!leader?.dataIds || statuses.some((s) => s === null)) return null;
    const recorded = leader.dataIds;
    return statuses.every((s) => s !== null && typeof s.dataId === 'string' && recorded[s.id] === s.dataId) ? leader : null;
  });
}

test('a wiped voter and a wiped former leader are refused under their old ids; with --join the former leader comes back as a learner and is promoted', async (t) => {
  t.timeout(150_000);
  const cluster = await ReplicaCluster.start(t, { size: 5, replicaConfig: FAST_MONITOR });
  const voters = [...cluster.ids];
  const firstLeader = await cluster.waitForLeader(voters);
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'identity');
  for (let i = 0; i < 20; i++) t.true((await stream.sendOne()).ok);
  const recorded = await identities(cluster, voters);
  t.true(Object.values(recorded.dataIds ?? {}).every((d) => DATA_ID.test(d)));
  t.is(new Set(Object.values(recorded.dataIds ?? {})).size, 5, 'each directory has its own identity');

  // A follower's disk is lost: restarted under its old id, it is refused (exit 3) and the cluster goes on.
  const follower = voters.find((id) => id !== firstLeader) ?? '';
  await cluster.kill(follower);
  cluster.wipe(follower);
  t.is(await cluster.startReplica(follower, { expectExit: true }), 3);
  t.regex(cluster.log(follower), REFUSED);
  t.true((await stream.sendOne()).ok);

  // The leader's disk is lost: a new leader is elected, and the former leader is refused too.
  await cluster.kill(firstLeader);
  cluster.wipe(firstLeader);
  const survivors = voters.filter((id) => id !== follower && id !== firstLeader);
  const secondLeader = await cluster.waitForLeader(survivors);
  t.not(secondLeader, firstLeader);
  t.true((await stream.sendOne()).ok);
  t.is(await cluster.startReplica(firstLeader, { expectExit: true }), 3);
  t.regex(cluster.log(firstLeader), REFUSED);

  // With --join, the former leader's new directory comes back as a learner, catches up and is promoted.
  const before = ((await cluster.status(secondLeader)) as IdentityStatus | null)?.dataIds?.[firstLeader];
  void cluster.startReplica(firstLeader, { join: true });
  stream.start();
  await cluster.waitFor(`${firstLeader} to be promoted again`, async () => {
    const lead = (await cluster.status(await cluster.waitForLeader(survivors))) as IdentityStatus | null;
    return lead?.voters.includes(firstLeader) === true && lead.dataIds?.[firstLeader] !== before ? lead : null;
  });
  t.regex(cluster.log(firstLeader), /a member rejoins with another data directory|joined the cluster as a learner/);
  await stream.ackedAtLeast(stream.acked.length + 5);
  await stream.stop();
  t.deepEqual(stream.failures, []);
  const live = [...survivors, firstLeader];
  const converged = await cluster.waitForConvergence(live, stream.acked.at(-1)?.id ?? 1);
  t.is(new Set(converged.map((s) => s.digest)).size, 1);
  const after = await identities(cluster, live);
  t.not(after.dataIds?.[firstLeader], before, 'the new directory is recorded under the old id');
  t.true(after.voters.includes(firstLeader));
});
