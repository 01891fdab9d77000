/**
 * The figure math of `quorumchat bench` (cli/bench/figures.ts): latency
 * percentiles, CPU time from two /proc samples, peak RSS, and medians of
 * values and of runs. Pure functions, so exact answers.
 */
import test from 'ava';
import { build } from 'hdr-histogram-js';
import { cpuMsBetween, cpuMsPerSend, latencySummary, median, medianOfRuns, medianOrNull, rssPeak, type PercentileSource } from '../../cli/bench/figures.ts';

test('latencySummary reads p50, p99, p99.9 and max in ms from a microsecond histogram', (t) => {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  t.teardown(() => histogram.destroy());
  // 1..1000 ms, one sample each: the p-th percentile is p * 10 ms, within HDR's 0.1%.
  for (let ms = 1; ms <= 1_000; ms++) histogram.recordValue(ms * 1_000);
  const summary = latencySummary(histogram);
  const near = (actual: number, expected: number): boolean => Math.abs(actual - expected) <= expected * 0.001 + 0.001;
  t.true(near(summary.p50Ms, 500), String(summary.p50Ms));
  t.true(near(summary.p99Ms, 990), String(summary.p99Ms));
  t.true(near(summary.p999Ms, 999), String(summary.p999Ms));
  t.true(near(summary.maxMs, 1_000), String(summary.maxMs));
  t.true(summary.p50Ms <= summary.p99Ms && summary.p99Ms <= summary.p999Ms && summary.p999Ms <= summary.maxMs);
});

test('latencySummary caps a percentile at the maximum, and is all zero for an empty histogram', (t) => {
  // HDR answers with the top of a bucket, which can lie above the largest value recorded.
  const bucketTop: PercentileSource = { totalCount: 3, maxValue: 10_000, getValueAtPercentile: () => 10_007 };
  t.deepEqual(latencySummary(bucketTop), { p50Ms: 10, p99Ms: 10, p999Ms: 10, maxMs: 10 });
  const empty: PercentileSource = { totalCount: 0, maxValue: 0, getValueAtPercentile: () => 0 };
  t.deepEqual(latencySummary(empty), { p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });
});

test('median of odd and even lists, and of lists with missing values', (t) => {
  t.is(median([5, 1, 3]), 3);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
  t.throws(() => median([]), { instanceOf: RangeError });
  t.is(medianOrNull([null, 4, null, 2]), 3);
  t.is(medianOrNull([null, null]), null);
  t.is(medianOrNull([]), null);
});

test('cpuMsBetween sums each process\'s ticks between the samples, at 100 ticks per second', (t) => {
  const before = [
    { pid: 10, startTicks: 500, cpuTicks: 1_000 },
    { pid: 11, startTicks: 501, cpuTicks: 2_000 },
  ];
  const after = [
    { pid: 10, startTicks: 500, cpuTicks: 1_150 }, // 150 ticks = 1.5 s
    { pid: 11, startTicks: 501, cpuTicks: 2_050 }, // 50 ticks = 0.5 s
  ];
  t.is(cpuMsBetween(before, after, 100), 2_000);
  t.is(cpuMsBetween(after, after, 100), 0);
});

test('cpuMsBetween counts a process started inside the window whole, and tells a reused pid apart', (t) => {
  const before = [{ pid: 10, startTicks: 500, cpuTicks: 1_000 }];
  // pid 10 was killed and the number given to a new process (another start time); pid 12 is new.
  const after = [
    { pid: 10, startTicks: 900, cpuTicks: 30 },
    { pid: 12, startTicks: 901, cpuTicks: 20 },
  ];
  t.is(cpuMsBetween(before, after, 100), 500);
});

test('cpuMsBetween leaves out a process that ended, and refuses counters going back', (t) => {
  const before = [
    { pid: 10, startTicks: 500, cpuTicks: 1_000 },
    { pid: 11, startTicks: 501, cpuTicks: 2_000 },
  ];
  t.is(cpuMsBetween(before, [{ pid: 10, startTicks: 500, cpuTicks: 1_010 }], 100), 100);
  t.throws(() => cpuMsBetween(before, [{ pid: 10, startTicks: 500, cpuTicks: 999 }], 100), { instanceOf: RangeError });
  t.throws(() => cpuMsBetween(before, before, 0), { instanceOf: RangeError });
});

test('cpuMsPerSend divides by acknowledged sends; nothing sent or not measured is null', (t) => {
  t.is(cpuMsPerSend(1_500, 300), 5);
  t.is(cpuMsPerSend(1_500, 0), null);
  t.is(cpuMsPerSend(null, 300), null);
});

test('rssPeak takes the largest sum within one sample, and each process\'s own peak', (t) => {
  const samples = [
    new Map([['r1', 100 * 1_024], ['nats-server', 10 * 1_024]]),
    new Map([['r1', 90 * 1_024], ['nats-server', 30 * 1_024]]), // nats peaks here, r1 did earlier
    new Map([['r1', 95 * 1_024]]), // nats-server gone from this sample
  ];
  const peak = rssPeak(samples);
  // 120 MiB was really held at once; 100 + 30 = 130 never was.
  t.is(peak?.peakSumMiB, 120);
  t.deepEqual(peak?.peakByProcessMiB, { r1: 100, 'nats-server': 30 });
  t.is(rssPeak([]), null);
});

test('medianOfRuns takes the median of each numeric figure over the runs, row by row', (t) => {
  const run = (rate: number, cpu: number | null, error: string | null) => [
    { senders: 1, perSecond: rate, cpuMsPerSend: cpu, firstError: error },
    { senders: 16, perSecond: rate * 10, cpuMsPerSend: cpu, firstError: null },
  ];
  const merged = medianOfRuns([run(10, 2, 'first'), run(30, null, null), run(20, 4, null)]);
  t.deepEqual(merged, [
    { senders: 1, perSecond: 20, cpuMsPerSend: 3, firstError: 'first' },
    { senders: 16, perSecond: 200, cpuMsPerSend: 3, firstError: null },
  ]);
  t.deepEqual(medianOfRuns([run(10, null, null)]), run(10, null, null));
  t.throws(() => medianOfRuns([]), { instanceOf: RangeError });
  t.throws(() => medianOfRuns([run(1, 1, null), run(1, 1, null).slice(1)]), { instanceOf: RangeError });
});
