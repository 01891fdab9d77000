/**
 * What a replica publishes besides replies: live frames to the recipient's
 * sessions, inspection records of its state machine, the status extras and
 * the `cluster` op; and a clean stop on SIGTERM.
 */
import test from 'ava';
import { sessionKeyOf, liveSubject } from '../../actors/protocol/index.ts';
import { account, ReplicaCluster } from './support/replica-cluster.ts';

test('live frames, inspection records, status, cluster, a duplicate id refused, and a clean SIGTERM stop', async (t) => {
  t.timeout(180_000);
  const cluster = await ReplicaCluster.start(t, { size: 3 });
  const leader = await cluster.waitForLeader();
  const inspection: { replica: string; value: unknown; event: string; term: number | null }[] = [];
  const inspectSub = cluster.nc.subscribe(`${cluster.prefix}.inspect.*`, {
    callback: (error, msg) => {
      if (!error) inspection.push(JSON.parse(msg.string()) as (typeof inspection)[number]);
    },
  });
  t.teardown(() => inspectSub.unsubscribe());

  const ada = await account(cluster, 'ada');
  const bob = await account(cluster, 'bob');
  const frames: { type: string; message?: { id: number; text: string } }[] = [];
  const live = cluster.nc.subscribe(liveSubject(cluster.prefix, sessionKeyOf(bob)), {
    callback: (error, msg) => {
      if (!error) frames.push(JSON.parse(msg.string()) as (typeof frames)[number]);
    },
  });
  t.teardown(() => live.unsubscribe());
  await cluster.nc.flush();

  const sent = await cluster.request('send', { token: ada, to: 'bob', text: 'live hello', requestId: 'live-1' });
  t.true(sent.ok, JSON.stringify(sent));
  const id = sent.ok ? (sent['message'] as { id: number }).id : -1;
  const frame = await cluster.waitFor('a live frame for bob', async () => frames.find((f) => f.type === 'message' && f.message?.id === id) ?? null, 10_000);
  t.is(frame.message?.text, 'live hello');
  // Every replica publishes after applying (docs/protocol.md §2.3): at least one copy, at most one per replica.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const copies = frames.filter((f) => f.type === 'message' && f.message?.id === id).length;
  t.true(copies >= 1 && copies <= cluster.ids.length, `${copies} copies`);

  // Inspection: every replica keeps publishing its machine's state (keep-alive), the leader as leader.
  await cluster.waitFor('inspection records from every replica', async () => (cluster.ids.every((r) => inspection.some((rec) => rec.replica === r)) ? true : null), 10_000);
  const fromLeader = inspection.filter((rec) => rec.replica === leader);
  t.true(fromLeader.some((rec) => JSON.stringify(rec.value).includes('leader')), JSON.stringify(fromLeader.slice(-3)));

  // Status extras and the cluster op agree with each other.
  const status = await cluster.status(leader);
  t.is(status?.role, 'leader');
  t.is(status?.health, 'ok');
  t.is(status?.lag, 0);
  t.is(status?.lastLeaderContactMs, 0);
  const followerStatus = await cluster.status(cluster.ids.find((r) => r !== leader) ?? '');
  t.is(typeof followerStatus?.lastLeaderContactMs, 'number');
  t.deepEqual(Object.keys((status?.progress as object) ?? {}).sort(), cluster.ids.filter((r) => r !== leader).sort());
  const described = await cluster.request('cluster', {});
  t.true(described.ok);
  if (described.ok) {
    t.is(described['leader'], leader);
    const members = described['members'] as { id: string; voter: boolean; role: string; reachable: boolean; matchIndex: number }[];
    t.deepEqual(members.map((m) => m.id).sort(), [...cluster.ids].sort());
    t.true(members.every((m) => m.voter && m.reachable && m.matchIndex >= id));
    t.is(members.find((m) => m.id === leader)?.role, 'leader');
  }

  // The same id started a second time (another data directory, as on another host) is refused.
  const duplicate = await cluster.runDuplicate(leader);
  t.is(duplicate.code, 3, duplicate.output);
  t.regex(duplicate.output, /a replica with this id is already running/);
  t.is((await cluster.status(leader))?.role, 'leader');

  // SIGTERM: a clean stop, exit code 0, and the others carry on.
  const follower = cluster.ids.find((r) => r !== leader) ?? '';
  t.is(await cluster.kill(follower, 'SIGTERM'), 0);
  t.regex(cluster.log(follower), /replica stopped/);
  t.true((await cluster.request('send', { token: ada, to: 'bob', text: 'after a clean stop', requestId: 'live-2' })).ok);
});
