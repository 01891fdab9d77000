/**
 * SIGSTOP the leader for longer than an election timeout, then SIGCONT: the
 * others elect a new leader, the old one steps down, and nothing it accepted
 * while it was paused is acknowledged unless a majority committed it.
 */
import test from 'ava';
import { account, ReplicaCluster, TEST_TIMING } from './support/replica-cluster.ts';
import { SendStream, wholeHistory } from './support/sends.ts';
import { LIVENESS_SETTINGS } from '../../cli/supervisor/cluster-credentials.ts';

test('a paused leader steps down on resume and acknowledges nothing it took while paused; a paused follower catches up', async (t) => {
  t.timeout(180_000);
  const began = Date.now();
  const mark = (what: string) => t.log(`${((Date.now() - began) / 1000).toFixed(1)}s ${what}`);
  // The ping settings `up` and `nats-config` give nats-server: the paused leader's subscriptions (32 of them in the
  // client queue group) leave within seconds, instead of swallowing most requests for the default 2+ minutes.
  const cluster = await ReplicaCluster.start(t, { serverConfig: LIVENESS_SETTINGS });
  const old = await cluster.waitForLeader();
  const oldTerm = (await cluster.status(old))?.term ?? 0;
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'pause');
  stream.start();
  await stream.ackedAtLeast(5);

  mark('leader elected, sends flowing');
  cluster.pause(old);
  // Requests addressed to the paused leader itself: it reads them only after it resumes, still believing it leads.
  const forward = (body: object) =>
    cluster.nc
      .request(`${cluster.prefix}.replica.${old}.forward`, JSON.stringify(body), { timeout: 15_000 })
      .then((msg) => JSON.parse(msg.string()) as { ok: boolean })
      .catch((error: Error) => ({ ok: false, nats: error.message }));
  const pausedWrite = forward({ kind: 'write', op: 'send', body: { token: ada, to: 'bob', text: 'taken while paused', requestId: 'paused-1' }, deadlineMs: 3_000 });
  const pausedRead = forward({ kind: 'readIndex', deadlineMs: 3_000 });

  const others = cluster.ids.filter((id) => id !== old);
  const next = await cluster.waitForLeader(others);
  t.not(next, old);
  mark(`new leader ${next}`);
  const ackedDuringPause = stream.acked.length;
  await stream.ackedAtLeast(ackedDuringPause + 5);
  // Longer than an election timeout in any case.
  await new Promise((resolve) => setTimeout(resolve, TEST_TIMING.electionMaxMs * 2));

  mark('resuming');
  cluster.resume(old);
  const oldStatus = await cluster.waitFor(`${old} to step down`, async () => {
    const status = await cluster.status(old);
    return status && status.role !== 'leader' && status.term > oldTerm ? status : null;
  });
  t.is(oldStatus.leader, next);
  mark('stepped down');
  const [write, read] = await Promise.all([pausedWrite, pausedRead]);
  t.false(write.ok, `the deposed leader must not acknowledge a write: ${JSON.stringify(write)}`);
  t.false(read.ok, `the deposed leader must not confirm a read index: ${JSON.stringify(read)}`);

  await stream.ackedAtLeast(stream.acked.length + 5);

  // A slow follower (paused, then resumed) holds nobody up and catches up afterwards.
  const slow = cluster.ids.find((id) => id !== next && id !== old) ?? '';
  cluster.pause(slow);
  await stream.ackedAtLeast(stream.acked.length + 10);
  cluster.resume(slow);
  mark(`follower ${slow} paused and resumed while 10 sends committed`);
  await stream.ackedAtLeast(stream.acked.length + 5);
  await stream.stop();
  mark('sends flowing again');
  const statuses = await cluster.waitForConvergence(cluster.ids, stream.acked.at(-1)?.id ?? 1);
  t.is(new Set(statuses.map((s) => s.digest)).size, 1);
  const history = await wholeHistory(cluster, ada, 'bob');
  const texts = new Set(history.map((m) => m.text));
  for (const message of stream.acked) t.true(texts.has(message.text), `acknowledged ${message.text} survives`);
  t.false(texts.has('taken while paused'), 'the paused leader’s own proposal was never committed');
});
