/**
 * The runtime's parts, each alone over fakes (docs/replica.md, "The parts"):
 * the snapshot scheduler and installer, and the API router.
 */
import test from 'ava';
import type { RaftEvent, SnapshotMeta } from '../../actors/raft/types.ts';
import { createSnapshotInstaller, createSnapshotScheduler } from '../../actors/replica/snapshots.ts';
import { createLeaderShare, LEADER_API_SUBSCRIPTIONS } from '../../actors/replica/leader-share.ts';
import { serveRequests, type RouterHandlers } from '../../actors/replica/router.ts';
import { applyCommitted, publishesLiveFrames, type ApplyStageDeps } from '../../actors/replica/apply.ts';
import type { Waiters } from '../../actors/replica/waiters.ts';
import { silentRuntimeLogger, type BusRequest, type ClientBus, type RuntimeStore } from '../../actors/replica/ports.ts';
import type { ReceivedSnapshot } from '../../actors/transport/types.ts';

const config = { voters: ['r1', 'r2', 'r3'], learners: [] };
const settle = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve));

function fakeStore(applied: { index: number }) {
  const calls: string[] = [];
  const store = {
    status: () => ({ appliedIndex: applied.index, snapshotIndex: 0 }),
    createSnapshot: async () => {
      calls.push(`snapshot@${applied.index}`);
      return { meta: { index: applied.index, term: 1, config }, bytes: 10 };
    },
    compact: async (index: number) => void calls.push(`compact@${index}`),
    installSnapshot: async (meta: SnapshotMeta) => {
      calls.push(`install@${meta.index}`);
      applied.index = meta.index;
    },
  } as unknown as RuntimeStore<unknown>;
  return { store, calls };
}

test('snapshot scheduler: every snapshotEvery applied entries, one at a time: snapshot, tell the core, then compact', async (t) => {
  const applied = { index: 0 };
  const { store, calls } = fakeStore(applied);
  const events: RaftEvent[] = [];
  const scheduler = createSnapshotScheduler({ store, send: (event) => events.push(event), log: silentRuntimeLogger, stopping: () => false, snapshotEvery: 5 });
  applied.index = 4;
  scheduler.afterApply(4);
  applied.index = 5;
  scheduler.afterApply(5);
  scheduler.afterApply(5); // already running: not a second one
  await scheduler.idle();
  t.deepEqual(calls, ['snapshot@5', 'compact@5']);
  t.deepEqual(events.map((e) => e.type), ['compacted']);
  scheduler.installed(12);
  scheduler.afterApply(14);
  t.is(calls.length, 2, 'counted from the installed snapshot');
});

test('snapshot installer: installs in the store, releases the file, then hands the core InstallSnapshot; skips what is already applied', async (t) => {
  const applied = { index: 3 };
  const { store, calls } = fakeStore(applied);
  const events: RaftEvent[] = [];
  const installed: number[] = [];
  let released = 0;
  const installer = createSnapshotInstaller({
    store,
    send: (event) => events.push(event),
    log: silentRuntimeLogger,
    stopping: () => false,
    id: 'r2',
    installed: (index) => installed.push(index),
    exclusive: async (run) => await run(),
  });
  const received = (index: number): ReceivedSnapshot => ({
    from: 'r1',
    term: 4,
    meta: { index, term: 2, config },
    filePath: '',
    content: new Uint8Array([1]),
    bytes: 1,
    sha256: '',
    release: async () => void (released += 1),
  });
  installer.receive(received(9));
  installer.receive(received(7)); // older than what the first installed
  await installer.idle();
  t.deepEqual(calls, ['install@9']);
  t.deepEqual(installed, [9]);
  t.is(released, 2, 'every received snapshot is released');
  t.deepEqual(
    events.map((e) => (e.type === 'message' ? `${e.message.type}@${e.message.type === 'InstallSnapshot' ? e.message.snapshot.index : ''}` : e.type)),
    ['InstallSnapshot@9', 'InstallSnapshot@7'],
    'the core hears of both (it answers the leader), after the store has what it says',
  );
});

test('router: each subject reaches its handler with its op, in the right queue group; stopping unsubscribes all', async (t) => {
  const served = new Map<string, { queue: string | null; handle: (request: BusRequest) => Promise<string | null> }>();
  const bus: ClientBus = {
    serve: (subject, queue, handle) => {
      served.set(subject, { queue, handle });
      return () => served.delete(subject);
    },
    request: async () => '',
    publish: () => undefined,
    status: () => 'connected',
  };
  const seen: string[] = [];
  const handlers = {
    client: async (op: string) => (seen.push(`client ${op}`), { ok: true, replica: 'r1', leader: null }),
    admin: async (op: string) => (seen.push(`admin ${op}`), { ok: true, replica: 'r1', leader: null }),
    forward: async () => (seen.push('forward'), { ok: false, retry: true }),
    status: () => ({ id: 'r1' }),
  } as unknown as RouterHandlers;
  const router = serveRequests({ bus, prefix: 'qc', id: 'r1', handlers, log: silentRuntimeLogger });
  t.deepEqual([...served.keys()].sort(), ['qc.admin.*', 'qc.api.*', 'qc.replica.r1.api.*', 'qc.replica.r1.forward', 'qc.replica.r1.status']);
  t.is(served.get('qc.api.*')?.queue, 'qc.api');
  t.is(served.get('qc.replica.r1.api.*')?.queue, null, 'aimed at this replica: no queue group');
  const data = new Uint8Array();
  t.is(await served.get('qc.api.*')!.handle({ subject: 'qc.api.send', data }), JSON.stringify({ ok: true, replica: 'r1', leader: null }));
  t.is(await served.get('qc.replica.r1.api.*')!.handle({ subject: 'qc.replica.r1.api.history', data }), JSON.stringify({ ok: true, replica: 'r1', leader: null }));
  await served.get('qc.admin.*')!.handle({ subject: 'qc.admin.members', data });
  t.is(await served.get('qc.replica.r1.forward')!.handle({ subject: 'qc.replica.r1.forward', data }), '{"ok":false,"retry":true}');
  t.is(await served.get('qc.replica.r1.status')!.handle({ subject: 'qc.replica.r1.status', data }), '{"ok":true,"id":"r1"}');
  t.deepEqual(seen, ['client send', 'client history', 'admin members', 'forward']);
  router.stop();
  await settle();
  t.is(served.size, 0);
});

test('router: extra client subscriptions join the api queue group and end with the router', (t) => {
  const active: { subject: string; queue: string | null }[] = [];
  const bus: ClientBus = {
    serve: (subject, queue) => {
      const entry = { subject, queue };
      active.push(entry);
      return () => active.splice(active.indexOf(entry), 1);
    },
    request: async () => '',
    publish: () => undefined,
    status: () => 'connected',
  };
  const router = serveRequests({ bus, prefix: 'qc', id: 'r1', handlers: {} as RouterHandlers, log: silentRuntimeLogger });
  const dropOne = router.addClientSubscription();
  router.addClientSubscription();
  t.is(active.filter((s) => s.subject === 'qc.api.*' && s.queue === 'qc.api').length, 3);
  dropOne();
  dropOne(); // idempotent
  t.is(active.filter((s) => s.subject === 'qc.api.*').length, 2);
  router.stop();
  t.is(active.length, 0, 'stopping the router drops the extra subscriptions too');
});

test('leader share: the leader holds LEADER_API_SUBSCRIPTIONS in the client queue group, a follower one', (t) => {
  let held = 1; // the router's own subscription
  const share = createLeaderShare(() => {
    held += 1;
    return () => (held -= 1);
  });
  share.update(false);
  t.is(held, 1);
  share.update(true);
  t.is(held, LEADER_API_SUBSCRIPTIONS);
  share.update(true); // every snapshot of a leader: no more subscriptions
  t.is(held, LEADER_API_SUBSCRIPTIONS);
  share.update(false);
  t.is(held, 1, 'a deposed leader drops back to one, so requests spread over the others');
  share.update(true);
  share.stop();
  t.is(held, 1);
  share.update(true);
  t.is(held, 1, 'nothing after stop');
});

test('live frames: the leader and one backup follower publish; with no leader everyone does', (t) => {
  const voters = ['r3', 'r1', 'r5', 'r2', 'r4'];
  const publishers = (leader: string | null): string[] => voters.filter((self) => publishesLiveFrames(self, leader, voters)).sort();
  t.deepEqual(publishers('r1'), ['r1', 'r2']);
  t.deepEqual(publishers('r5'), ['r1', 'r5'], 'the backup wraps around the sorted ids');
  t.deepEqual(publishers(null), ['r1', 'r2', 'r3', 'r4', 'r5']);
  t.deepEqual(publishers('r9'), ['r1', 'r2', 'r3', 'r4', 'r5'], 'a leader outside the voters (being removed): everyone');
  t.false(publishesLiveFrames('r6', 'r1', voters), 'a learner leaves it to the voters');
  t.true(publishesLiveFrames('r1', 'r1', ['r1']), 'a lone voter publishes');
});

test('apply stage: the application is told its transaction committed after the store committed it and before any caller is answered', async (t) => {
  const events: string[] = [];
  const store = {
    status: () => ({ appliedIndex: 0, snapshotIndex: 0 }),
    apply: async (entries: readonly { index: number }[], applyOne: (tx: unknown, entry: unknown) => Promise<unknown>) => {
      const results = [];
      for (const entry of entries) results.push(await applyOne(null, entry));
      events.push('store committed');
      return results;
    },
  } as unknown as RuntimeStore<unknown>;
  const deps = {
    store,
    application: {
      apply: async () => {
        events.push('applied');
        return { reply: { ok: true }, live: [], ts: null };
      },
      committed: () => events.push('told committed'),
      publications: async () => [],
    },
    waiters: { onApplied: () => events.push('answered') } as unknown as Waiters<never>,
    publish: () => undefined,
    now: () => 0,
    log: silentRuntimeLogger,
    afterApply: () => undefined,
    publishesLive: () => false,
    inOrderLater: () => undefined,
  } as unknown as ApplyStageDeps<unknown, unknown>;
  await applyCommitted(deps, [{ index: 1, term: 1, kind: 'command', data: new Uint8Array([1]) }], 1);
  t.deepEqual(events, ['applied', 'store committed', 'told committed', 'answered']);
});
