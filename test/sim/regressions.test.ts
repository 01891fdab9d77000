// Runtime bugs the real-runtime simulation found, each pinned at the point of
// its fix (a seed replays one build of the harness, so these are unit tests of
// the fixed behaviour; docs/simulation.md lists the seeds that found them).
import test from 'ava';
import type { Knex } from 'knex';
import type { SnapshotMeta } from '../../actors/raft/types.ts';
import { trimBelowInstalled } from '../../actors/replica/pipeline.ts';
import { createSnapshotSender, SNAPSHOT_RETRY_PAUSE_MS } from '../../actors/replica/snapshots.ts';
import { RequestHandler, type RequestContext } from '../../actors/replica/requests.ts';
import { Waiters } from '../../actors/replica/waiters.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { silentRuntimeLogger, type RuntimeStore } from '../../actors/replica/ports.ts';
import type { CommandReply } from '../../actors/replica/apply.ts';
import type { PeerTransport } from '../../actors/transport/types.ts';
import { hardStateCovering } from '../../storage/replica-store.ts';

const config = { voters: ['r1', 'r2', 'r3'], learners: [] };
const noop = (index: number, term: number) => ({ index, term, kind: 'noop' as const });

test('a persist queued before the core learned of an installed snapshot is trimmed to it, not refused', (t) => {
  // Installed snapshot at 11, the store's log ends there; a stale batch appends 9..13.
  t.deepEqual(trimBelowInstalled({ entries: [noop(9, 2), noop(10, 2), noop(11, 2), noop(12, 2), noop(13, 2)] }, 11, 11), { entries: [noop(12, 2), noop(13, 2)] });
  // The store kept its log after the snapshot (through 15): the rest is rewritten from its first index.
  t.deepEqual(trimBelowInstalled({ truncateFrom: 10, entries: [noop(10, 3), noop(12, 3)] }, 11, 15), { truncateFrom: 12, entries: [noop(12, 3)] });
  t.is(trimBelowInstalled({ entries: [noop(9, 2)] }, 11, 11), null);
  t.deepEqual(trimBelowInstalled({ hardState: { term: 3, votedFor: null }, entries: [noop(9, 2)] }, 11, 11), { hardState: { term: 3, votedFor: null }, entries: [] });
  const untouched = { entries: [noop(1, 1)] };
  t.is(trimBelowInstalled(untouched, 0, 0), untouched, 'nothing installed: the batch as it is');
});

test('a replica that crashed between installing a snapshot and persisting its term starts in the snapshot term', (t) => {
  const meta: SnapshotMeta = { index: 5, term: 2, config };
  t.deepEqual(hardStateCovering({ term: 0, votedFor: null }, meta), { term: 2, votedFor: null });
  t.deepEqual(hardStateCovering({ term: 3, votedFor: 'r1' }, meta), { term: 3, votedFor: 'r1' });
});

test('after a failed snapshot stream the core hears `unreachable` only once the peer is free, after a pause', async (t) => {
  const meta: SnapshotMeta = { index: 8, term: 1, config };
  const events: string[] = [];
  let streams = 0;
  let sleeps = 0;
  const store = {
    status: () => ({ snapshotIndex: 8 }),
    openSnapshot: async () => ({ meta, digest: '', file: '', sha256: '', bytes: 0, chunks: async function* () {}, close: async () => undefined }),
  } as unknown as RuntimeStore<unknown>;
  const transport = {
    streamSnapshot: async () => {
      streams += 1;
      throw new Error('no responders');
    },
  } as unknown as PeerTransport;
  const sender = createSnapshotSender({
    store,
    transport,
    term: () => 1,
    log: silentRuntimeLogger,
    stopping: () => false,
    sleep: async (ms) => {
      t.is(ms, SNAPSHOT_RETRY_PAUSE_MS);
      sleeps += 1;
    },
    // The core answers `unreachable` by asking for the snapshot again at once: that request must not be dropped.
    send: (event) => {
      events.push(event.type);
      if (streams < 3) sender.send('r2', meta);
    },
  });
  sender.send('r2', meta);
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  t.is(streams, 3);
  t.is(sleeps, 3);
  t.deepEqual(events, ['unreachable', 'unreachable', 'unreachable']);
});

test('a forwarded request carries a whole number of milliseconds even when the clock tells fractions', async (t) => {
  const bodies: { deadlineMs?: number }[] = [];
  let now = 1000.25;
  const handler = new RequestHandler(
    requestContext({
      bus: {
        request: async (_subject, data) => {
          bodies.push(JSON.parse(data) as { deadlineMs?: number });
          return JSON.stringify({ ok: true, message: { id: 1 } });
        },
      },
      clock: { now: () => (now += 0.37), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout), sleep: async () => undefined },
    }),
  );
  const reply = await handler.handleClient('send', new TextEncoder().encode(JSON.stringify({ token: 't', to: 'bob', text: 'x', requestId: 'q' })));
  t.true('ok' in reply && reply.ok);
  t.true(Number.isInteger(bodies[0]?.deadlineMs), String(bodies[0]?.deadlineMs));
});

test('a leader refuses a removal that leaves fewer than a quorum of voters holding the log (seed 1134)', async (t) => {
  const seven = { voters: ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'], learners: [] };
  const proposed: unknown[] = [];
  const handler = new RequestHandler(
    requestContext({
      waiters: new Waiters<CommandReply>(3),
      role: () => ({ leader: true, leaderId: 'r2', ready: true, term: 1, applyBarrier: 3 }),
      proposeConfig: (_id, next) => proposed.push(next),
      configuration: () => seven,
      // A partition from the start left r1, r5 and r6 with empty logs.
      votersInStep: () => new Set(['r2', 'r3', 'r4', 'r7']),
    }),
  );
  const reply = await handler.handleAdmin('members', new TextEncoder().encode(JSON.stringify({ action: 'remove', id: 'r7' })));
  t.false(reply.ok);
  t.like(reply, { error: { code: 'conflict' } });
  t.deepEqual(proposed, [], 'nothing was proposed');
});

/** A follower r2's request context in a three-voter cluster, with `overrides`. */
function requestContext(overrides: Partial<RequestContext>): RequestContext {
  return {
    id: 'r2',
    prefix: 'p',
    bus: { request: async () => JSON.stringify({ ok: false, error: { code: 'unavailable', message: 'not asked' } }) },
    clock: { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout), sleep: async () => undefined },
    random: { uuid: () => 'u', bytes: (n) => new Uint8Array(n) },
    application: chatApplication({ prefix: 'p', reader: {} as Knex, log: silentRuntimeLogger }),
    waiters: new Waiters<CommandReply>(0),
    requestDeadlineMs: 500,
    maxRequestBytes: 65_536,
    role: () => ({ leader: false, leaderId: 'r1', ready: false, term: 2, applyBarrier: 0 }),
    propose: () => undefined,
    readIndex: () => undefined,
    proposeConfig: () => undefined,
    transferLeadership: () => undefined,
    configuration: () => config,
    clusterBody: () => ({}),
    votersInStep: () => new Set(config.voters),
    log: silentRuntimeLogger,
    stopping: () => false,
    ...overrides,
  };
}
