/** The CLI's pure parts: tables, status summaries, the load generator's accounting, flag parsing. */
import test from 'ava';
import { formatTable } from '../../cli/format/table.ts';
import { isSettled, summarise } from '../../cli/supervisor/cluster-status.ts';
import type { StatusReply } from '../../actors/protocol/index.ts';
import { median, runLoadLevel } from '../../cli/bench/load.ts';
import { DurationSchema, parseFlag } from '../../cli/options.ts';
import { UsageError } from '../../cli/errors.ts';
import { isLoopbackUrl } from '../../cli/commands/bench.ts';

test('formatTable aligns columns: numbers right, text left, empty as -', (t) => {
  const text = formatTable(
    [
      { header: 'id', value: (r: { id: string; n: number | null }) => r.id },
      { header: 'count', value: (r) => r.n },
    ],
    [{ id: 'r1', n: 5 }, { id: 'r10', n: 12345 }, { id: 'r2', n: null }],
  );
  t.is(text, ['id   count', '---  -----', 'r1       5', 'r10  12345', 'r2       -'].join('\n'));
});

const status = (id: string, role: StatusReply['role'], term: number, commitIndex: number, appliedIndex: number): StatusReply => ({
  id,
  role,
  term,
  leader: role === 'leader' ? id : null,
  commitIndex,
  appliedIndex,
  digest: 'ab'.repeat(32),
  voters: ['r1', 'r2', 'r3'],
  learners: [],
});

test('summarise: the leader of the highest term wins, lag is against the highest commitIndex', (t) => {
  const summary = summarise([
    { id: 'r3', status: status('r3', 'leader', 2, 7, 7) },
    { id: 'r1', status: status('r1', 'leader', 3, 10, 9) },
    { id: 'r2', error: 'no answer (timeout)' },
    { id: 'r10', status: status('r10', 'follower', 3, 10, 4) },
  ]);
  t.is(summary.leader, 'r1');
  t.is(summary.term, 3);
  t.is(summary.commitIndex, 10);
  t.deepEqual(summary.replicas.map((r) => r.id), ['r1', 'r2', 'r3', 'r10']);
  t.deepEqual(summary.replicas.map((r) => (r.answered ? r.lag : null)), [1, null, 3, 6]);
});

test('summarise: nobody answered means no leader and no commitIndex', (t) => {
  const summary = summarise([{ id: 'r1', error: 'not running (no responders)' }]);
  t.is(summary.leader, null);
  t.is(summary.commitIndex, null);
});

test('runLoadLevel counts successes and failures and bounds the count', async (t) => {
  const seen: number[] = [];
  const result = await runLoadLevel({
    senders: 4,
    durationMs: 60_000,
    maxOperations: 40,
    operation: async (_sender, seq) => {
      seen.push(seq);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (seq % 10 === 0) throw new Error(`refused ${seq}`);
    },
  });
  t.is(result.completed + result.errors, 40);
  t.is(result.errors, 4);
  t.is(result.firstError, 'Error: refused 0');
  t.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
  t.true(result.p50Ms > 0 && result.p50Ms <= result.p99Ms && result.p99Ms <= result.maxMs);
});

test('median of odd and even lists', (t) => {
  t.is(median([5, 1, 3]), 3);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.throws(() => median([]));
});

test('durations parse with units; bad ones name the flag', (t) => {
  t.is(parseFlag('duration', DurationSchema, '2s'), 2_000);
  t.is(parseFlag('duration', DurationSchema, '250ms'), 250);
  t.is(parseFlag('duration', DurationSchema, '1.5m'), 90_000);
  t.is(parseFlag('duration', DurationSchema, '40'), 40);
  t.throws(() => parseFlag('duration', DurationSchema, 'soon'), { instanceOf: UsageError, message: /^--duration "soon": must be a duration/ });
});

test('isLoopbackUrl accepts only loopback hosts', (t) => {
  for (const url of ['nats://127.0.0.1:4222', 'nats://127.1.2.3:1', 'nats://localhost:4222', 'nats://[::1]:4222', '127.0.0.1:4222']) t.true(isLoopbackUrl(url), url);
  for (const url of ['nats://10.0.0.1:4222', 'nats://example.com:4222', 'nats://127.0.0.1.evil.com:4222', 'tls://[::2]:4222']) t.false(isLoopbackUrl(url), url);
});

test('isSettled: everyone answered, names the leader, and an entry is committed', (t) => {
  const follower = (id: string, leader: string | null, commitIndex: number): { id: string; status: StatusReply } => ({
    id,
    status: { ...status(id, 'follower', 1, commitIndex, commitIndex), leader },
  });
  const leader = { id: 'r1', status: status('r1', 'leader', 1, 1, 1) };
  t.true(isSettled(summarise([leader, follower('r2', 'r1', 1), follower('r3', 'r1', 1)])));
  t.false(isSettled(summarise([leader, follower('r2', 'r1', 1), follower('r3', null, 0)])), 'r3 has not heard from the leader');
  t.false(isSettled(summarise([leader, follower('r2', 'r1', 1), { id: 'r3', error: 'no answer (timeout)' }])), 'r3 did not answer');
  t.false(isSettled(summarise([{ id: 'r1', status: status('r1', 'leader', 1, 0, 0) }])), 'nothing committed yet');
});
