/**
 * Live delivery end to end (docs/protocol.md §2) on three real replica
 * processes: the runtime's publishing side and the client's de-duplication
 * and repair together. Every replica publishes each frame, so the client sees
 * up to three copies and must show each message once, also across a leader
 * failover.
 */
import test from 'ava';
import { ChatClient, liveSubject, sessionKeyOf, type ChatMessage, type LiveEvent } from '../../actors/client/index.ts';
import { CLIENT_TIMEOUT_MS, ReplicaCluster } from '../integration/support/replica-cluster.ts';
import { eventually } from './nats-server.ts';

const PASSWORD = 'live-e2e-password';

test('each committed message reaches every live session of both parties once, read marks and logout included, across a failover', async (t) => {
  t.timeout(240_000);
  const cluster = await ReplicaCluster.start(t, { size: 3, prefix: 'qlive' });
  await cluster.waitForLeader();
  const client = await ChatClient.connect({ servers: cluster.nats.url, prefix: 'qlive', timeoutMs: CLIENT_TIMEOUT_MS, sendDeadlineMs: 60_000 });
  t.teardown(() => client.close());
  for (const username of ['ada', 'bob']) await client.register({ username, password: PASSWORD });
  const ada = await client.login({ username: 'ada', password: PASSWORD });
  const bob = await client.login({ username: 'bob', password: PASSWORD });
  const adaOther = await client.login({ username: 'ada', password: PASSWORD }); // ada's second terminal

  // Raw frames on bob's subject, to see how many copies the replicas publish.
  let rawFrames = 0;
  const raw = client.nc.subscribe(liveSubject('qlive', sessionKeyOf(bob.token)), { callback: () => void rawFrames++ });
  t.teardown(() => raw.unsubscribe());
  const events = { bob: [] as LiveEvent[], adaOther: [] as LiveEvent[] };
  const liveBob = client.live(bob.token, (e) => events.bob.push(e), { repairEveryMs: 0 });
  const liveAdaOther = client.live(adaOther.token, (e) => events.adaOther.push(e), { repairEveryMs: 0 });
  await Promise.all([liveBob.ready, liveAdaOther.ready]);
  const ids = (list: LiveEvent[]) => list.flatMap((e) => (e.type === 'message' ? [e.message.id] : []));

  const sent: ChatMessage[] = [];
  for (let i = 0; i < 5; i++) sent.push((await client.send({ token: ada.token, to: 'bob', text: `before ${i}` })).message);
  t.true(await eventually(() => ids(events.bob).length >= 5 && ids(events.adaOther).length >= 5, 30_000), `bob ${ids(events.bob)}, ada ${ids(events.adaOther)}`);
  await new Promise((r) => setTimeout(r, 500));
  t.log(`5 messages, 3 replicas: ${rawFrames} frames on bob's subject (${(rawFrames / 5).toFixed(1)} copies per message), shown ${ids(events.bob).length}`);
  t.true(rawFrames >= 5);

  // The leader dies; sends retry under their requestIds; every message still arrives once (frames or repair).
  await cluster.kill(await cluster.waitForLeader());
  for (let i = 0; i < 5; i++) sent.push((await client.send({ token: ada.token, to: 'bob', text: `after ${i}` })).message);
  liveBob.repairNow();
  liveAdaOther.repairNow();
  const want = sent.map((m) => m.id);
  t.true(await eventually(() => ids(events.bob).length >= want.length && ids(events.adaOther).length >= want.length, 60_000));
  await new Promise((r) => setTimeout(r, 500)); // late duplicate copies, if any, would land here
  t.deepEqual([...ids(events.bob)].sort((a, b) => a - b), want, 'bob sees every message exactly once');
  t.deepEqual([...ids(events.adaOther)].sort((a, b) => a - b), want, "ada's other session sees her own sends exactly once");
  const texts = new Map(events.bob.flatMap((e) => (e.type === 'message' ? [[e.message.id, e.message.text] as const] : [])));
  for (const m of sent) t.is(texts.get(m.id), m.text);

  // Read marks reach the sender's sessions; logout revokes the session live.
  const last = sent.at(-1)!;
  await client.markRead({ token: bob.token, with: 'ada', upToId: last.id });
  t.true(await eventually(() => events.adaOther.some((e) => e.type === 'read' && e.by === 'bob' && e.upToId === last.id), 30_000));
  await client.logout({ token: bob.token });
  t.true(await eventually(() => events.bob.some((e) => e.type === 'revoked'), 30_000));
  await liveBob.closed;
});
