/**
 * ClusterSupervisor's process management, with small Node programs in place
 * of replicas (the real replicas are exercised by cli-up.test.ts): start,
 * stop (SIGTERM, escalating to SIGKILL), kill, restart, events, logs.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterSupervisor, UnknownReplicaError, type ReplicaExitEvent } from '../../cli/supervisor/cluster-supervisor.ts';
import { isAlive, tempDir } from './support/cli.ts';

/**
 * Prints its arguments, then runs until signalled; SIGTERM exits 0 unless IGNORE_TERM is set.
 * The handler is installed before the arguments are printed: the tests stop a program as soon as
 * they see that line, and a SIGTERM arriving before the handler would end it by signal instead.
 */
const PROGRAM = `
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
else process.on('SIGTERM', () => process.exit(0));
console.log('args ' + process.argv.slice(1).join(' '));
setInterval(() => {}, 1000);
`;

function supervisorIn(dataRoot: string, env: Record<string, string> = {}, stopTimeoutMs?: number): ClusterSupervisor {
  const supervisor = new ClusterSupervisor({
    replicaIds: ['r1', 'r2', 'r3'],
    dataRoot,
    natsUrl: 'nats://127.0.0.1:4222',
    prefix: 'qc',
    replicaConfigFile: '/etc/qc.json',
    launcher: { command: process.execPath, args: ['-e', PROGRAM] },
    env,
    ...(stopTimeoutMs !== undefined ? { stopTimeoutMs } : {}),
  });
  return supervisor;
}

async function waitForLog(path: string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      if (pattern.test(readFileSync(path, 'utf8'))) return;
    } catch {
      // not created yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${path} never matched ${pattern}`);
}

test('starts every replica with its flags and log file; stops them all cleanly', async (t) => {
  const root = tempDir(t, 'sup');
  const supervisor = supervisorIn(root);
  t.teardown(() => supervisor.killAllNow());
  const exits: ReplicaExitEvent[] = [];
  supervisor.on('exit', (e) => exits.push(e));
  await supervisor.startAll();
  const running = supervisor.list();
  t.deepEqual(running.map((r) => [r.id, r.state]), [['r1', 'running'], ['r2', 'running'], ['r3', 'running']]);
  for (const r of running) {
    t.true(r.pid !== null && isAlive(r.pid));
    t.is(r.logPath, join(root, r.id, 'replica.log'));
    await waitForLog(r.logPath, /^args /m);
  }
  const log = readFileSync(join(root, 'r2', 'replica.log'), 'utf8');
  t.true(log.includes(`replica --id r2 --peers r1,r2,r3 --nats nats://127.0.0.1:4222 --data ${join(root, 'r2')} --prefix qc --config /etc/qc.json`), log);

  const pids = running.map((r) => r.pid ?? 0);
  await supervisor.stopAll();
  t.deepEqual(supervisor.list().map((r) => r.state), ['stopped', 'stopped', 'stopped']);
  for (const pid of pids) t.false(isAlive(pid));
  t.deepEqual(exits.map((e) => [e.id, e.code, e.requested]).sort(), [['r1', 0, true], ['r2', 0, true], ['r3', 0, true]]);
});

test('kill is a crash (state exited, requested false); restart and start bring it back with a new pid', async (t) => {
  const root = tempDir(t, 'sup-kill');
  const supervisor = supervisorIn(root);
  t.teardown(() => supervisor.killAllNow());
  await supervisor.startAll();
  const first = supervisor.get('r1').pid;
  const exit = new Promise<ReplicaExitEvent>((resolve) => supervisor.once('exit', resolve));
  const killed = await supervisor.kill('r1');
  t.is(killed.state, 'exited');
  t.is(killed.lastExit?.signal, 'SIGKILL');
  t.is((await exit).requested, false);

  const started = supervisor.start('r1');
  t.is(started.state, 'running');
  t.not(started.pid, first);
  t.is(started.starts, 2);

  const before = supervisor.get('r2').pid;
  const restarted = await supervisor.restart('r2');
  t.is(restarted.state, 'running');
  t.not(restarted.pid, before);
  t.false(before !== null && isAlive(before));
  await supervisor.stopAll();
  t.throws(() => supervisor.get('r9'), { instanceOf: UnknownReplicaError, message: /no replica 'r9'.*r1, r2, r3/ });
});

test('a replica that ignores SIGTERM is SIGKILLed after the stop timeout', async (t) => {
  const root = tempDir(t, 'sup-term');
  const supervisor = supervisorIn(root, { IGNORE_TERM: '1' }, 500);
  t.teardown(() => supervisor.killAllNow());
  supervisor.start('r3');
  await waitForLog(supervisor.logPathOf('r3'), /^args /m);
  const stopped = await supervisor.stop('r3');
  t.is(stopped.state, 'stopped');
  t.is(stopped.lastExit?.signal, 'SIGKILL');
  t.regex(readFileSync(supervisor.logPathOf('r3'), 'utf8'), /ignoring SIGTERM/);
});

test('a launcher that cannot be spawned is reported, not thrown', async (t) => {
  const root = tempDir(t, 'sup-enoent');
  const supervisor = new ClusterSupervisor({
    replicaIds: ['r1'],
    dataRoot: root,
    natsUrl: 'nats://127.0.0.1:4222',
    prefix: 'qc',
    launcher: { command: join(root, 'no-such-program'), args: [] },
  });
  const failed = new Promise<{ id: string; error: Error }>((resolve) => supervisor.once('spawnError', resolve));
  supervisor.start('r1');
  const { id, error } = await failed;
  t.is(id, 'r1');
  t.regex(error.message, /ENOENT/);
  const info = await supervisor.waitForExit('r1');
  t.is(info.state, 'exited');
});
