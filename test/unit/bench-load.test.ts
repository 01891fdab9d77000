/**
 * The closed loop of `quorumchat bench` (cli/bench/load.ts): only what ends
 * inside the measured window counts, the window's hooks run once each, and
 * the count bound holds. Timing is loose on purpose (a shared machine).
 */
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { runLoadLevel } from '../../cli/bench/load.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('warm-up operations are not counted; the window opens and closes once, around the counted ones', async (t) => {
  const ended: number[] = [];
  let opened: number | null = null;
  let closed: number | null = null;
  let opens = 0;
  let closes = 0;
  const result = await runLoadLevel({
    senders: 2,
    warmupMs: 150,
    durationMs: 300,
    maxOperations: 1_000_000,
    operation: async () => {
      await pause(10);
      ended.push(performance.now());
    },
    window: {
      onOpen: () => ((opened = performance.now()), (opens += 1)),
      onClose: () => ((closed = performance.now()), (closes += 1)),
    },
  });
  t.is(opens, 1);
  t.is(closes, 1);
  t.truthy(opened !== null && closed !== null);
  const inside = ended.filter((at) => at >= (opened ?? 0) && at <= (closed ?? 0)).length;
  t.true(ended.length > result.completed, 'warm-up operations happened and were left out');
  // An operation ending in the same millisecond as a hook may fall either side of it.
  t.true(Math.abs(result.completed - inside) <= 2, `${result.completed} counted, ${inside} inside the window`);
  t.true(result.elapsedMs >= 250, String(result.elapsedMs));
  t.true(result.perSecond > 0 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.p999Ms && result.p999Ms <= result.maxMs);
});

test('the count bound ends the window early, and errors inside it are counted, not timed', async (t) => {
  let closes = 0;
  const result = await runLoadLevel({
    senders: 4,
    durationMs: 60_000,
    maxOperations: 40,
    operation: async (_sender, seq) => {
      await pause(1);
      if (seq % 10 === 0) throw new Error(`refused ${seq}`);
    },
    window: { onOpen: () => {}, onClose: () => (closes += 1) },
  });
  t.is(result.completed + result.errors, 40);
  t.is(result.errors, 4);
  t.is(result.firstError, 'Error: refused 0');
  t.is(closes, 1);
  t.true(result.elapsedMs < 60_000);
});
