/**
 * `quorumchat up` end to end, as an operator runs it: start it headless in a
 * temp directory, wait for a leader, check `status --json`, register, log in
 * and send through ChatClient, benchmark it briefly with `bench --nats`,
 * Ctrl-C (SIGINT) → every process stops; a second
 * `up` on the same data resumes, and the message is still in the history.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChatClient } from '../../actors/client/index.ts';
import { assertPortFree, logTail } from '../../cli/supervisor/nats-server.ts';
import { REPLICA_MALLOC_ARENAS, REPLICA_SEMI_SPACE_MIB } from '../../cli/supervisor/cluster-supervisor.ts';
import { freePort } from './support/nats-server.ts';
import { credentialsFileOf } from '../../cli/nats-access.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';
import { NatsAuthError } from '../../actors/transport/nats-connection.ts';
import { isAlive, printedPids, runCli, spawnCli, stopClusterCommandInTeardown, tempDir, type CliChild } from './support/cli.ts';

/** Replicas start through tsx on a shared 2-core machine: allow minutes, not seconds. */
const UP_TIMEOUT_MS = 150_000;
/** Short elections so the test does not wait on the 1-2 s production timeouts. */
const FAST_TIMING = { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 };

/** The client credentials `up` generated under its data root. */
function clientSecurity(data: string): NatsSecuritySettings {
  return { auth: { file: credentialsFileOf(data, 'client') } };
}

/** Starts `up --headless`, waits until it reports the cluster up, and returns its child and printed pids. */
async function startUp(t: ExecutionContext, data: string, port: number, config: string): Promise<{ up: CliChild; pids: number[] }> {
  // A leader timeout near the test's own: the whole suite shares 2 cores, and replicas boot through tsx.
  const up = spawnCli(['up', '--headless', '--data', data, '--port', String(port), '--config', config, '--leader-timeout', '140s']);
  // Whatever happens, leave nothing running: up stops its children on SIGTERM, else everything it printed is killed.
  stopClusterCommandInTeardown(t, up);
  try {
    await up.waitFor(/Press Ctrl-C to stop\./, UP_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`${String(err)}\n${replicaLogTails(data)}`, { cause: err });
  }
  t.regex(up.stdout(), /quorumchat is up: 5 replicas, leader r\d/);
  const pids = printedPids(up.stdout());
  t.is(pids.length, 6, `nats-server and five replica pids in:\n${up.stdout()}\n${up.stderr()}\n${replicaLogTails(data)}`);
  return { up, pids };
}

/** The end of every replica's log, for a failure message. */
function replicaLogTails(data: string): string {
  return ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => `--- ${id}:\n${logTail(join(data, id, 'replica.log'), 8)}`).join('\n');
}

async function stopWithCtrlC(t: ExecutionContext, up: CliChild, pids: readonly number[], data: string): Promise<void> {
  up.process.kill('SIGINT');
  const result = await up.done;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /stopped: every replica and nats-server have exited/);
  t.deepEqual(pids.filter(isAlive), [], 'no nats-server or replica process is left');
  t.false(existsSync(join(data, 'up.pid')));
}

test('up, status, chat, Ctrl-C, and a second up that resumes', async (t) => {
  const data = tempDir(t, 'up');
  const config = join(tempDir(t, 'up-config'), 'cluster.json');
  writeFileSync(config, JSON.stringify({ timing: FAST_TIMING }));
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;

  const first = await startUp(t, data, port, config);
  t.regex(first.up.stdout(), new RegExp(`quorumchat chat --nats ${url}`));
  for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) t.true(existsSync(join(data, id, 'replica.log')), `${id} logs to its data dir`);
  // Each replica runs with the memory settings the supervisor owns (cluster-supervisor.ts).
  for (const pid of first.pids.slice(1)) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    t.true(argv.includes(`--max-semi-space-size=${REPLICA_SEMI_SPACE_MIB}`), argv.join(' '));
    t.true(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`MALLOC_ARENA_MAX=${REPLICA_MALLOC_ARENAS}`));
  }

  // Secure by default: credentials only its owner can read, and a connection without them is refused at once.
  for (const role of ['replica', 'operator', 'client'] as const) t.is(statSync(credentialsFileOf(data, role)).mode & 0o777, 0o600, `${role} credentials are 0600`);
  t.is(statSync(join(data, 'credentials')).mode & 0o777, 0o700);
  await t.throwsAsync(ChatClient.connect({ servers: url, prefix: 'quorumchat' }), { instanceOf: NatsAuthError, message: /requires credentials \(Authorization Violation\)/ });
  const anonymous = await runCli(['status', '--nats', url, '--data', tempDir(t, 'no-credentials')]);
  t.is(anonymous.code, 3, anonymous.stdout);
  t.regex(anonymous.stderr, /requires credentials/);
  // README quick start: from the directory holding ./data, the tools need no flags at all.
  const beside = tempDir(t, 'beside-up');
  symlinkSync(data, join(beside, 'data'));
  const noFlags = await runCli(['status', '--nats', url], { cwd: beside });
  t.is(noFlags.code, 0, noFlags.stderr);

  // up is secured: the tools find its credentials under --data (./data by default).
  const table = await runCli(['status', '--nats', url, '--data', data]);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^leader r[1-5], term \d+, commitIndex \d+$/m);
  t.is([...table.stdout.matchAll(/^r[1-5]\s+yes\s+(leader|follower)\s/gm)].length, 5, table.stdout);
  const status = await runCli(['status', '--nats', url, '--data', data, '--json']);
  t.is(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as { leader: string | null; replicas: { id: string; answered: boolean }[] };
  t.regex(parsed.leader ?? '', /^r[1-5]$/);
  t.deepEqual(parsed.replicas.map((r) => [r.id, r.answered]), ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => [id, true]));

  const client = await ChatClient.connect({ servers: url, security: clientSecurity(data), prefix: 'quorumchat', timeoutMs: 15_000 });
  try {
    await client.register({ username: 'alice', password: 'alice-password' });
    await client.register({ username: 'bob', password: 'bob-password' });
    const alice = await client.login({ username: 'alice', password: 'alice-password' });
    const sent = await client.send({ token: alice.token, to: 'bob', text: 'hello from the first up' });
    t.true(sent.message.id > 0);
  } finally {
    await client.close();
  }

  // bench against this live cluster (as JSON): it sends, but cannot kill the leader of a cluster it did not start.
  const bench = await runCli(['bench', '--nats', url, '--data', data, '--senders', '2', '--duration', '1s', '--kills', '1', '--users', '2', '--json']);
  t.is(bench.code, 0, bench.stderr);
  const report = JSON.parse(bench.stdout) as {
    cluster: { natsUrl: string; startedByBench: boolean };
    levels: { senders: number; completed: number; errors: number; p50Ms: number; p99Ms: number }[];
    failover: { measured: boolean; reason?: string };
  };
  t.deepEqual(report.cluster, { natsUrl: url, startedByBench: false, replicas: null });
  t.deepEqual(report.levels.map((l) => [l.senders, l.errors]), [[2, 0]]);
  t.true((report.levels[0]?.completed ?? 0) > 0 && (report.levels[0]?.p50Ms ?? 0) > 0);
  t.false(report.failover.measured);
  t.regex(report.failover.reason ?? '', /bench can kill the leader only in a cluster it started itself/);

  await stopWithCtrlC(t, first.up, first.pids, data);

  const second = await startUp(t, data, port, config);
  const again = await ChatClient.connect({ servers: url, security: clientSecurity(data), prefix: 'quorumchat', timeoutMs: 15_000 });
  try {
    const bob = await again.login({ username: 'bob', password: 'bob-password' });
    const history = await again.history({ token: bob.token, with: 'alice' });
    t.deepEqual(history.messages.map((m) => [m.from, m.to, m.text]), [['alice', 'bob', 'hello from the first up']]);
  } finally {
    await again.close();
  }
  await stopWithCtrlC(t, second.up, second.pids, data);
});

test('Ctrl-C while up is still starting stops what it started', async (t) => {
  const data = tempDir(t, 'up-early');
  const port = await freePort();
  const up = spawnCli(['up', '--headless', '--data', data, '--port', String(port)]);
  stopClusterCommandInTeardown(t, up);
  await up.waitFor(/starting 5 replicas under/, UP_TIMEOUT_MS);
  up.process.kill('SIGINT');
  const result = await up.done;
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /SIGINT: stopping the replicas, then nats-server/);
  t.regex(result.stdout, /stopped before the cluster was up/);
  const left = await promisify(execFile)('pgrep', ['-f', data]).then((r) => r.stdout.trim(), () => '');
  t.is(left, '', 'no replica of this data directory is running');
  await t.notThrowsAsync(() => assertPortFree('127.0.0.1', port), 'nats-server released the port');
  t.false(existsSync(join(data, 'up.pid')));
});

test('a second Ctrl-C while up is starting kills everything at once (exit 130)', async (t) => {
  const data = tempDir(t, 'up-twice');
  const port = await freePort();
  const up = spawnCli(['up', '--headless', '--data', data, '--port', String(port)]);
  stopClusterCommandInTeardown(t, up);
  await up.waitFor(/starting 5 replicas under/, UP_TIMEOUT_MS);
  up.process.kill('SIGINT');
  await up.waitFor(/SIGINT: stopping/, 30_000);
  up.process.kill('SIGINT');
  const result = await up.done;
  t.is(result.code, 130, result.stdout + result.stderr);
  t.regex(result.stderr, /SIGINT again: killing everything now/);
  const left = await promisify(execFile)('pgrep', ['-f', data]).then((r) => r.stdout.trim(), () => '');
  t.is(left, '', 'no replica of this data directory is running');
  await t.notThrowsAsync(() => assertPortFree('127.0.0.1', port), 'nats-server released the port');
});

test('replicas stop themselves when up is SIGKILLed (only the NATS server is left to clean up)', async (t) => {
  const data = tempDir(t, 'up-killed');
  const config = join(tempDir(t, 'up-killed-config'), 'cluster.json');
  writeFileSync(config, JSON.stringify({ timing: FAST_TIMING }));
  const { up, pids } = await startUp(t, data, await freePort(), config);
  const [natsPid, ...replicaPids] = pids;
  up.process.kill('SIGKILL');
  await up.done;
  // Each replica notices within a second that it was re-parented, and stops cleanly.
  for (let i = 0; i < 600 && replicaPids.some(isAlive); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  t.deepEqual(replicaPids.filter(isAlive), [], 'no replica outlives a SIGKILLed up');
  t.true(natsPid !== undefined && isAlive(natsPid), 'nats-server cannot notice; the teardown kills it');
  for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) t.regex(logTail(join(data, id, 'replica.log'), 5), /"signal":"SIGTERM"/, `${id} stopped on SIGTERM`);
});
