/**
 * `quorumchat bench` with tiny parameters against the cluster it starts
 * itself: the report has the expected columns and rows, a measured failover,
 * and nothing is left running or on disk afterwards.
 */
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, printedPids, runCli, spawnCli, stopClusterCommandInTeardown, tempDir } from './support/cli.ts';

test('bench --senders 1,4 --duration 2s --kills 1 prints the throughput and failover tables', async (t) => {
  const config = join(tempDir(t, 'bench-config'), 'cluster.json');
  // Short elections keep the failover part quick; the figures are not asserted (shared, noisy machine).
  writeFileSync(config, JSON.stringify({ timing: { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 } }));
  const result = await runCli(['bench', '--senders', '1,4', '--duration', '2s', '--kills', '1', '--users', '2', '--config', config], {
    timeoutMs: 240_000,
  });
  const pids = printedPids(result.stderr);
  t.teardown(() => pids.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')));
  t.is(result.code, 0, result.stderr);

  t.regex(result.stdout, /^senders\s+sends\s+errors\s+seconds\s+sends\/s\s+p50 ms\s+p99 ms\s+max ms$/m);
  const rows = [...result.stdout.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$/gm)];
  t.deepEqual(rows.map((r) => Number(r[1])), [1, 4], result.stdout);
  for (const row of rows) {
    t.true(Number(row[2]) > 0, `level ${row[1]} completed sends`);
    t.true(Number(row[4]) > 0, `level ${row[1]} has a rate`);
  }
  t.regex(result.stdout, /^kill\s+killed leader\s+new leader\s+failover ms\s+failed sends$/m);
  t.regex(result.stdout, /failover \(SIGKILL of the leader → next acknowledged send\): median \d+ ms, max \d+ ms over 1 kill$/m);

  t.is(pids.length, 6, result.stderr);
  t.deepEqual(pids.filter(isAlive), [], 'bench stopped its nats-server and replicas');
  const dir = /starting a 5-replica cluster in (\S+)/.exec(result.stderr)?.[1] ?? '';
  t.true(dir.length > 0);
  t.false(existsSync(dir), 'bench removed its temp directory');
});

test('bench refuses --config with --nats, a non-loopback --nats, and a bad --senders list', async (t) => {
  const both = await runCli(['bench', '--nats', 'nats://127.0.0.1:4222', '--config', 'x.json']);
  t.is(both.code, 2);
  t.regex(both.stderr, /--config applies only to the cluster bench starts itself/);
  const remote = await runCli(['bench', '--nats', 'nats://10.1.2.3:4222']);
  t.is(remote.code, 2);
  t.regex(remote.stderr, /bench only runs against loopback/);
  const senders = await runCli(['bench', '--senders', '1,zero']);
  t.is(senders.code, 2);
  t.regex(senders.stderr, /--senders "1,zero"/);
});

test('Ctrl-C during bench stops its cluster and removes its temp directory', async (t) => {
  const bench = spawnCli(['bench', '--senders', '1', '--duration', '60s', '--kills', '0', '--users', '2']);
  stopClusterCommandInTeardown(t, bench);
  await bench.waitFor(/bench: 1 sender for 60 s/, 240_000);
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
