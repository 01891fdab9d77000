/**
 * `quorumchat up` on a machine that is not ready: nats-server missing, the
 * port taken, a bad flag. Each gets a clear message and its own exit code,
 * and leaves nothing running behind.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertPortFree } from '../../cli/supervisor/nats-server.ts';
import { freePort } from './support/nats-server.ts';
import { runCli, tempDir } from './support/cli.ts';

test('nats-server missing: the message says how to install it, exit code 3', async (t) => {
  const data = tempDir(t, 'nonats');
  // An empty PATH and no /usr/sbin fallback: as on a machine without the package.
  const result = await runCli(['up', '--headless', '--no-nats-fallback', '--data', data, '--port', String(await freePort())], {
    env: { PATH: '' },
  });
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, /nats-server was not found/);
  t.true(result.stderr.includes('sudo apt-get install -y nats-server'), result.stderr);
  t.false(existsSync(join(data, 'up.pid')), 'no lock left behind');
});

test('an explicit --nats-server that does not exist is named in the message', async (t) => {
  const data = tempDir(t, 'badnats');
  const result = await runCli(['up', '--headless', '--nats-server', '/nonexistent/nats-server', '--data', data]);
  t.is(result.code, 3);
  t.regex(result.stderr, /\/nonexistent\/nats-server is not an executable file/);
  t.regex(result.stderr, /sudo apt-get install -y nats-server/);
});

test('the port is taken: says so and names --port, exit code 3', async (t) => {
  const data = tempDir(t, 'busy');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const address = blocker.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const result = await runCli(['up', '--headless', '--data', data, '--port', String(port)]);
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  t.regex(result.stderr, /--port/);
});

test('bad flag values: a clear message naming the setting, exit code 2', async (t) => {
  const data = tempDir(t, 'flags');
  const replicas = await runCli(['up', '--headless', '--data', data, '--replicas', 'ten']);
  t.is(replicas.code, 2);
  t.regex(replicas.stderr, /--replicas "ten"/);
  const prefix = await runCli(['up', '--headless', '--data', data, '--prefix', 'a b*']);
  t.is(prefix.code, 2);
  t.regex(prefix.stderr, /prefix: must be/);
  const unknown = await runCli(['up', '--frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option '--frobnicate'/);
});

test('--help describes every flag of up and status', async (t) => {
  const up = await runCli(['up', '--help']);
  t.is(up.code, 0);
  for (const flag of ['--data', '--replicas', '--port', '--prefix', '--config', '--headless', '--leader-timeout', '--nats-server']) {
    t.true(up.stdout.includes(flag), `up --help mentions ${flag}`);
  }
  const status = await runCli(['status', '--help']);
  t.is(status.code, 0);
  for (const flag of ['--nats', '--prefix', '--replicas', '--json']) t.true(status.stdout.includes(flag), `status --help mentions ${flag}`);
});

test('no leader in time: exit code 4, the last answers and where the logs are; nothing left running', async (t) => {
  const data = tempDir(t, 'noleader');
  const port = await freePort();
  // 1 ms: the replicas (started through tsx) cannot have answered yet.
  const result = await runCli(['up', '--headless', '--data', data, '--port', String(port), '--leader-timeout', '1ms']);
  t.is(result.code, 4, result.stderr);
  t.regex(result.stderr, /no leader was elected within 1 ms/);
  t.regex(result.stderr, /the replicas' last answers:\nno leader/);
  t.true(result.stderr.includes(`see the replica logs: ${data}/<id>/replica.log`), result.stderr);
  const left = await promisify(execFile)('pgrep', ['-f', data]).then((r) => r.stdout.trim(), () => '');
  t.is(left, '', 'no replica of this data directory is running');
  await t.notThrowsAsync(() => assertPortFree('127.0.0.1', port), 'nats-server released the port');
  t.false(existsSync(join(data, 'up.pid')));
});

test('a data directory of another shape, or in use by a live process, is refused', async (t) => {
  const data = tempDir(t, 'shape');
  writeFileSync(join(data, 'cluster.json'), JSON.stringify({ replicaIds: ['r1', 'r2', 'r3', 'r4', 'r5'], prefix: 'quorumchat' }));
  const fewer = await runCli(['up', '--headless', '--data', data, '--replicas', '3', '--port', String(await freePort())]);
  t.is(fewer.code, 3, fewer.stderr);
  t.regex(fewer.stderr, /holds a cluster of 5 replicas \(r1, r2, r3, r4, r5\), not 3; pass --replicas 5 to resume it/);
  const prefix = await runCli(['up', '--headless', '--data', data, '--prefix', 'other', '--port', String(await freePort())]);
  t.is(prefix.code, 3);
  t.regex(prefix.stderr, /holds a cluster with prefix 'quorumchat'; pass --prefix quorumchat/);

  // This test process is alive: as if another `up` ran the directory.
  writeFileSync(join(data, 'up.pid'), `${process.pid}\n`);
  const busy = await runCli(['up', '--headless', '--data', data, '--port', String(await freePort())]);
  t.is(busy.code, 3);
  t.regex(busy.stderr, new RegExp(`is in use by another quorumchat process \\(pid ${process.pid}\\)`));
});
