/**
 * Restart the nats-server under load: every replica and the client reconnect
 * by themselves, the cluster serves again, and nothing acknowledged is lost.
 */
import test from 'ava';
import { account, ReplicaCluster } from './support/replica-cluster.ts';
import { SendStream, wholeHistory } from './support/sends.ts';

/** Long enough that every replica notices the server is gone and the followers' election timers fire. */
const OUTAGE_MS = 1_500;

test('the cluster recovers by itself after the nats-server restarts under load', async (t) => {
  t.timeout(180_000);
  const began = Date.now();
  const mark = (what: string) => t.log(`${((Date.now() - began) / 1000).toFixed(1)}s ${what}`);
  const cluster = await ReplicaCluster.start(t, { size: 3 });
  await cluster.waitForLeader();
  mark('leader');
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'natsrestart');
  stream.start();
  await stream.ackedAtLeast(10);
  mark('10 acked');

  await cluster.nats.stop();
  const ackedAtOutage = stream.acked.length;
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
  await cluster.nats.start();
  mark('nats restarted');

  await stream.ackedAtLeast(ackedAtOutage + 20);
  await stream.stop();
  mark('20 more acked');
  const statuses = await cluster.waitForConvergence(cluster.ids, stream.acked.at(-1)?.id ?? 1);
  mark('converged');
  t.true(statuses.every((s) => s.nats === 'connected'));
  t.is(new Set(statuses.map((s) => s.digest)).size, 1);
  const texts = new Set((await wholeHistory(cluster, ada, 'bob')).map((m) => m.text));
  for (const message of stream.acked) t.true(texts.has(message.text), `acknowledged ${message.text} survives`);
  t.deepEqual(stream.failures, []);
  t.log(`acknowledged ${stream.acked.length} sends; ${stream.retries} attempts retried while the server was down`);
});
