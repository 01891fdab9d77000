/**
 * `quorumchat bench`'s text report (formatBenchReport) on fixed reports:
 * against a live cluster (--nats) CPU and RSS are "n/a", never a zero that
 * looks measured; with several runs the report says its figures are medians.
 */
import test from 'ava';
import { formatBenchReport, type BenchLevel, type BenchReport } from '../../cli/commands/bench.ts';

const level = (senders: number, measured: boolean): BenchLevel => ({
  senders,
  completed: 100,
  errors: 0,
  firstError: null,
  elapsedMs: 2_000,
  perSecond: 50,
  p50Ms: 10,
  p99Ms: 20,
  p999Ms: 25,
  maxMs: 30,
  serverCpuMs: measured ? 400 : null,
  cpuMsPerSend: measured ? 4 : null,
  benchCpuMsPerSend: 0.5,
  peakRssMiB: measured ? 600 : null,
});

test('against --nats, CPU and RSS columns say n/a and the report says why', (t) => {
  const report: BenchReport = {
    cluster: { natsUrl: 'nats://127.0.0.1:4222', startedByBench: false, replicas: null },
    machine: { cpus: 2, node: 'v20.20.2' },
    load: { runs: 1, warmupMs: 2_000, durationMs: 5_000, textChars: 200 },
    levels: [level(1, false)],
    servers: { measured: false, reason: 'n/a: CPU and RSS are measured only for the servers of a cluster bench starts itself (run without --nats)' },
    failover: { measured: false, reason: 'not measured: bench can kill the leader only in a cluster it started itself (run without --nats)' },
  };
  const text = formatBenchReport(report);
  t.regex(text, /^\s+1\s+100\s+0\s+2\.0\s+50\.0\s+10\.0\s+20\.0\s+25\.0\s+30\.0\s+n\/a\s+0\.50\s+n\/a$/m);
  t.regex(text, /^CPU ms\/send and peak RSS: n\/a: CPU and RSS are measured only/m);
  t.regex(text, /^failover: not measured/m);
});

test('a measured report of three runs says its figures are medians and lists every kill with its run', (t) => {
  const sample = (run: number) => ({ run, kill: 1, killed: 'r1', killedTerm: 2, newLeader: 'r2', newTerm: 3, failoverMs: 1_100, failedSends: 0, firstStatusMs: 900, catchUpMs: 1_400 });
  const report: BenchReport = {
    cluster: { natsUrl: 'nats://127.0.0.1:4333', startedByBench: true, replicas: 5 },
    machine: { cpus: 2, node: 'v20.20.2' },
    load: { runs: 3, warmupMs: 2_000, durationMs: 5_000, textChars: 200 },
    levels: [level(1, true), level(16, true)],
    servers: {
      measured: true,
      processes: ['r1', 'r2', 'r3', 'r4', 'r5', 'nats-server'],
      peakRssMiB: 600,
      peakRssByProcessMiB: { r1: 110, r2: 120, r3: 115, r4: 118, r5: 112, 'nats-server': 20 },
    },
    failover: { measured: true, senders: 16, samples: [sample(1), sample(2), sample(3)], medianMs: 1_100, maxMs: 1_100, catchUpMedianMs: 1_400, catchUpMaxMs: 1_400, firstStatusMedianMs: 900 },
  };
  const text = formatBenchReport(report);
  t.regex(text, /every figure is the median of 3 runs$/m);
  t.regex(text, /^\s+16\s+100\s+0\s+2\.0\s+50\.0\s+10\.0\s+20\.0\s+25\.0\s+30\.0\s+4\.00\s+0\.50\s+600$/m);
  t.regex(text, /^peak RSS of the servers: 600 MiB \(the largest sum at one instant\); each process's own peak: r1 110, r2 120, r3 115, r4 118, r5 112, nats-server 20$/m);
  t.regex(text, /^run\s+kill\s+killed leader/m);
  t.is([...text.matchAll(/^\s+\d\s+1\s+r1 \(term 2\)\s+r2 \(term 3\)\s+1100\s+0\s+900\s+1400$/gm)].length, 3);
  t.regex(text, /median 1100 ms, max 1100 ms \(medians of 3 runs of 1 kill\)$/m);
});
