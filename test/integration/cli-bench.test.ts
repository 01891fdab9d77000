/**
 * `quorumchat bench` with tiny parameters against the cluster it starts
 * itself: the report has the expected columns and rows (throughput, latency
 * percentiles, CPU per send, peak RSS), a measured failover and catch-up,
 * and nothing is left running or on disk afterwards. Figures are checked for
 * presence and shape only: the machine is shared and noisy.
 */
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, printedPids, runCli, spawnCli, stopClusterCommandInTeardown, tempDir } from './support/cli.ts';

test('bench --senders 1,4 --warmup 1s --duration 2s --kills 1 prints the throughput, CPU, RSS, failover and catch-up figures', async (t) => {
  const config = join(tempDir(t, 'bench-config'), 'cluster.json');
  // Short elections keep the failover part quick; the figures are not asserted (shared, noisy machine).
  writeFileSync(config, JSON.stringify({ timing: { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 } }));
  const result = await runCli(['bench', '--senders', '1,4', '--warmup', '1s', '--duration', '2s', '--kills', '1', '--users', '2', '--config', config], {
    timeoutMs: 240_000,
  });
  const pids = printedPids(result.stderr);
  t.teardown(() => pids.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));
  t.is(result.code, 0, result.stderr);

  t.regex(result.stdout, /^load: closed loop, 1 s warm-up \+ 2 s measured per level, sends of 200 characters$/m);
  t.regex(result.stdout, /^senders\s+sends\s+errors\s+seconds\s+sends\/s\s+p50 ms\s+p99 ms\s+p99\.9 ms\s+max ms\s+CPU ms\/send\s+bench CPU ms\/send\s+peak RSS MiB$/m);
  const rows = [...result.stdout.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$/gm)];
  t.deepEqual(rows.map((r) => Number(r[1])), [1, 4], result.stdout);
  for (const row of rows) {
    t.true(Number(row[2]) > 0, `level ${row[1]} completed sends`);
    t.true(Number(row[4]) > 0, `level ${row[1]} has a rate`);
    const [p50, p99, p999, max] = [row[5], row[6], row[7], row[8]].map(Number);
    t.true(p50! <= p99! && p99! <= p999! && p999! <= max!, `level ${row[1]} percentiles in order`);
    t.true(Number(row[9]) > 0, `level ${row[1]} has a CPU time per send`);
    t.true(Number(row[11]) > 0, `level ${row[1]} has a peak RSS`);
  }
  t.regex(result.stdout, /^CPU ms\/send: utime\+stime of the 5 replicas and nats-server/m);
  t.regex(result.stdout, /^peak RSS of the servers: \d+ MiB \(the largest sum at one instant\); each process's own peak: r1 \d+, r2 \d+, r3 \d+, r4 \d+, r5 \d+, nats-server \d+$/m);
  t.regex(result.stdout, /^kill\s+killed leader\s+new leader\s+failover ms\s+failed sends\s+first status ms\s+catch-up ms$/m);
  t.regex(result.stdout, /^failover \(SIGKILL of the leader under 16 senders → first acknowledged send issued after it\): median \d+ ms, max \d+ ms over 1 kill$/m);
  t.regex(result.stdout, /^catch-up \(restart of the killed replica → its appliedIndex reaches the leader's commitIndex\): median \d+ ms, max \d+ ms; its first status answer after the restart: median \d+ ms$/m);

  t.is(pids.length, 6, result.stderr);
  t.deepEqual(pids.filter(isAlive), [], 'bench stopped its nats-server and replicas');
  const dir = /starting a 5-replica cluster in (\S+)/.exec(result.stderr)?.[1] ?? '';
  t.true(dir.length > 0);
  t.false(existsSync(dir), 'bench removed its temp directory');
});

test('bench refuses --config with --nats, a non-loopback --nats, a bad --senders list, --runs 0 and a bad --warmup', async (t) => {
  const both = await runCli(['bench', '--nats', 'nats://127.0.0.1:4222', '--config', 'x.json']);
  t.is(both.code, 2);
  t.regex(both.stderr, /--config applies only to the cluster bench starts itself/);
  const remote = await runCli(['bench', '--nats', 'nats://10.1.2.3:4222']);
  t.is(remote.code, 2);
  t.regex(remote.stderr, /bench only runs against loopback/);
  const senders = await runCli(['bench', '--senders', '1,zero']);
  t.is(senders.code, 2);
  t.regex(senders.stderr, /--senders "1,zero"/);
  const runs = await runCli(['bench', '--runs', '0']);
  t.is(runs.code, 2);
  t.regex(runs.stderr, /--runs "0"/);
  const warmup = await runCli(['bench', '--warmup', 'soon']);
  t.is(warmup.code, 2);
  t.regex(warmup.stderr, /--warmup "soon"/);
});

test('Ctrl-C during bench stops its cluster and removes its temp directory', async (t) => {
  const bench = spawnCli(['bench', '--senders', '1', '--duration', '60s', '--kills', '0', '--users', '2']);
  stopClusterCommandInTeardown(t, bench);
  await bench.waitFor(/bench: 1 sender: 2 s warm-up \+ 60 s measured/, 240_000);
  const pids = printedPids(bench.stderr());
  t.is(pids.length, 6);
  bench.process.kill('SIGINT');
  const result = await bench.done;
  t.is(result.code, 130, result.stderr);
  t.regex(result.stderr, /bench: SIGINT: stopping/);
  t.deepEqual(pids.filter(isAlive), []);
  const dir = /starting a 5-replica cluster in (\S+)/.exec(result.stderr)?.[1] ?? '';
  t.true(dir.length > 0);
  t.false(existsSync(dir));
});
