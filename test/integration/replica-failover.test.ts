/**
 * Five real replica processes: SIGKILL the leader during a stream of sends,
 * then a second replica, then a third; bring all back and check that they
 * converge and that nothing acknowledged was lost.
 */
import test from 'ava';
import { account, ReplicaCluster } from './support/replica-cluster.ts';
import { SendStream, wholeHistory } from './support/sends.ts';

test('failover: the leader dies, then two are down, then three; acknowledged sends survive and all five converge', async (t) => {
  t.timeout(240_000);
  const cluster = await ReplicaCluster.start(t);
  const first = await cluster.waitForLeader();
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');

  const stream = new SendStream(cluster, ada, 'bob', 'failover');
  stream.start();
  await stream.ackedAtLeast(10);

  // 1. The leader dies mid-stream: a new one takes over and sends continue.
  await cluster.kill(first);
  const ackedAtKill = stream.acked.length;
  const second = await cluster.waitForLeader();
  t.not(second, first);
  await stream.ackedAtLeast(ackedAtKill + 10);

  // 2. A second replica dies: three of five still make a quorum.
  const follower = cluster.running().find((id) => id !== second) ?? '';
  await cluster.kill(follower);
  const ackedAtSecondKill = stream.acked.length;
  await stream.ackedAtLeast(ackedAtSecondKill + 10);
  await stream.stop();
  // Every send got through, retried with its requestId where a failover swallowed an attempt.
  t.deepEqual(stream.failures, []);

  // 3. A third replica dies: no quorum. A write is held, then fails `unavailable` before the client gives up.
  const third = cluster.running().find((id) => id !== second) ?? '';
  await cluster.kill(third);
  const held = await cluster.request('send', { token: ada, to: 'bob', text: 'during the outage', requestId: 'outage-1' });
  t.false(held.ok);
  t.is(held.ok ? 'ok' : held.error.code, 'unavailable');
  const read = await cluster.request('history', { token: ada, with: 'bob', limit: 1 });
  t.is(read.ok ? 'ok' : read.error.code, 'unavailable', 'a linearizable read needs a quorum too');

  // 4. All back: they converge to one appliedIndex and digest.
  for (const id of cluster.ids) if (!cluster.running().includes(id)) void cluster.startReplica(id);
  await cluster.waitForLeader(cluster.ids);
  // One more write commits an entry of the current term, so every replica learns the final commitIndex.
  const after = await stream.sendOne();
  t.true(after.ok, JSON.stringify(after));
  const statuses = await cluster.waitForConvergence(cluster.ids, stream.acked.at(-1)?.id ?? 1);
  t.is(new Set(statuses.map((s) => s.digest)).size, 1);

  // Nothing acknowledged was lost; ids increase in acknowledgement order; no send applied twice.
  const history = await wholeHistory(cluster, ada, 'bob');
  const byId = new Map(history.map((m) => [m.id, m.text]));
  for (const message of stream.acked) t.is(byId.get(message.id), message.text, `acknowledged message ${message.id} is in the history`);
  const ids = stream.acked.map((m) => m.id);
  t.deepEqual(ids, [...ids].sort((a, b) => a - b));
  const texts = history.map((m) => m.text).filter((text) => text.startsWith('failover'));
  t.is(new Set(texts).size, texts.length, 'no send was applied twice');
  t.log(`acknowledged ${stream.acked.length} sends, ${stream.retries} attempts retried during failover; final appliedIndex ${statuses[0]?.appliedIndex}`);
});
