import test from 'ava';
import fc from 'fast-check';
import {
  acceptedAppend,
  becomeProbe,
  becomeSnapshot,
  canSendEntries,
  heartbeatAnswered,
  heartbeatTick,
  newProgress,
  rejectedAppend,
  sentAppend,
} from '../../actors/raft/progress.ts';
import type { Progress } from '../../actors/raft/progress.ts';

const WINDOW = 3;

test('probe sends one append at a time until answered or a heartbeat', (t) => {
  let p = newProgress(5);
  t.true(canSendEntries(p, WINDOW));
  p = sentAppend(p, 6, 0);
  t.false(canSendEntries(p, WINDOW));
  t.is(p.nextIndex, 5, 'probe does not advance nextIndex optimistically');
  t.true(canSendEntries(heartbeatTick(p), WINDOW));
});

test('an accepted probe switches to replicate; replicate pipelines up to the window', (t) => {
  let p = acceptedAppend(sentAppend(newProgress(5), 6, 0), 6).progress;
  t.is(p.state, 'replicate');
  t.is(p.matchIndex, 6);
  t.is(p.nextIndex, 7);
  for (let last = 8; last <= 12; last += 2) {
    if (canSendEntries(p, WINDOW)) p = sentAppend(p, last, 0);
  }
  t.is(p.inflight.length, WINDOW);
  t.false(canSendEntries(p, WINDOW));
  t.is(p.nextIndex, 13);
  const { progress, advanced } = acceptedAppend(p, 10);
  t.true(advanced);
  t.deepEqual(progress.inflight.map((f) => f.lastIndex), [12]);
  t.true(canSendEntries(progress, WINDOW));
});

test('stale rejections are ignored; a real one falls back to probing within [matchIndex+1, rejectedPrev]', (t) => {
  let p: Progress = { ...newProgress(1), state: 'replicate', matchIndex: 10, nextIndex: 20 };
  t.is(rejectedAppend(p, 9, 3), null, 'rejects an append older than what already matched');
  p = rejectedAppend(p, 15, 3)!;
  t.is(p.state, 'probe');
  t.is(p.nextIndex, 11, 'never below matchIndex + 1');
  t.is(rejectedAppend(p, 14, 12), null, 'probe: only the rejection of the current probe counts');
  t.is(rejectedAppend(p, 10, 99)!.nextIndex, 11);
});

test('nextIndex never drops to or below matchIndex, and matchIndex never decreases', (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('sent' as const), last: fc.nat(50) }),
    fc.record({ kind: fc.constant('ok' as const), match: fc.nat(50) }),
    fc.record({ kind: fc.constant('reject' as const), prev: fc.nat(50), hint: fc.nat(50) }),
    fc.record({ kind: fc.constant('tick' as const) }),
    fc.record({ kind: fc.constant('hb' as const), round: fc.nat(5) }),
    fc.record({ kind: fc.constant('probe' as const) }),
    fc.record({ kind: fc.constant('snapshot' as const), index: fc.nat(50) }),
  );
  t.notThrows(() => fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      let p = newProgress(1);
      for (const o of ops) {
        const before = p.matchIndex;
        switch (o.kind) {
          case 'sent':
            if (canSendEntries(p, WINDOW)) p = sentAppend(p, Math.max(o.last, p.nextIndex - 1), 0);
            break;
          case 'ok':
            p = acceptedAppend(p, o.match).progress;
            break;
          case 'reject':
            p = rejectedAppend(p, o.prev, Math.max(1, o.hint)) ?? p;
            break;
          case 'tick':
            p = heartbeatTick(p);
            break;
          case 'hb':
            p = heartbeatAnswered(p, o.round);
            break;
          case 'probe':
            p = becomeProbe(p);
            break;
          case 'snapshot':
            p = becomeSnapshot(p, o.index);
            break;
        }
        if (p.matchIndex < before || p.nextIndex <= p.matchIndex) return false;
        if (p.inflight.length > WINDOW) return false;
      }
      return true;
    }),
  ));
});

test('a heartbeat answered while an older append is still unanswered means it was lost: probe again', (t) => {
  let p: Progress = { ...newProgress(1), state: 'replicate', matchIndex: 4, nextIndex: 5 };
  p = sentAppend(p, 6, 2);
  t.is(heartbeatAnswered(p, 2).state, 'replicate', 'sent in the same round: may still be on its way');
  const lost = heartbeatAnswered(p, 3);
  t.is(lost.state, 'probe');
  t.is(lost.nextIndex, 5);
});

test('snapshot state sends nothing until the snapshot is acknowledged', (t) => {
  let p = becomeSnapshot({ ...newProgress(1), state: 'replicate', matchIndex: 2, nextIndex: 3 }, 10);
  t.false(canSendEntries(p, WINDOW));
  p = acceptedAppend(p, 5).progress;
  t.is(p.state, 'snapshot');
  p = acceptedAppend(p, 10).progress;
  t.is(p.state, 'probe');
  t.is(p.nextIndex, 11);
});
