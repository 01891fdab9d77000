/**
 * The systemd units of docs/deploy.md (docker/systemd/) cannot run here, so
 * this checks what can be checked: systemd accepts them, the replica unit's
 * command line uses only flags `quorumchat replica` accepts and talks to its
 * own host's server, and the nats unit starts from the file the guide
 * generates with `quorumchat nats-config`.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCli } from '../integration/support/cli.ts';
import { REPLICA_MALLOC_ARENAS, REPLICA_SEMI_SPACE_MIB } from '../../cli/supervisor/cluster-supervisor.ts';

const unit = (name: string): string => fileURLToPath(new URL(`../../docker/systemd/${name}`, import.meta.url));
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

/** The ExecStart= line of a unit, split into words. */
function execStart(name: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(unit(name), 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).filter((w) => w.length > 0);
}

test('the replica unit runs `quorumchat replica` with flags it accepts, on its own host\'s server', async (t) => {
  const words = execStart('quorumchat-replica.service');
  t.is(words[2], 'replica');
  const help = await runCli(['replica', '--help']);
  t.is(help.code, 0, help.stderr);
  const accepted = new Set([...help.stdout.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
  for (const flag of words.filter((w) => w.startsWith('--'))) t.true(accepted.has(flag), `quorumchat replica accepts ${flag}`);
  t.is(words[words.indexOf('--nats') + 1], 'nats://127.0.0.1:4222');
  // The memory settings `up` gives its replicas (cluster-supervisor.ts).
  const text = readFileSync(unit('quorumchat-replica.service'), 'utf8');
  t.regex(text, new RegExp(`^Environment=MALLOC_ARENA_MAX=${REPLICA_MALLOC_ARENAS}$`, 'm'));
  t.regex(text, new RegExp(`^Environment=NODE_OPTIONS=--max-semi-space-size=${REPLICA_SEMI_SPACE_MIB}$`, 'm'));
});

test('the nats unit checks and runs the generated configuration', (t) => {
  const text = readFileSync(unit('quorumchat-nats.service'), 'utf8');
  t.regex(text, /^ExecStartPre=\/usr\/sbin\/nats-server -c \/etc\/quorumchat\/nats\.conf -t$/m);
  t.deepEqual(execStart('quorumchat-nats.service'), ['/usr/sbin/nats-server', '-c', '/etc/quorumchat/nats.conf']);
});

(existsSync(SYSTEMD_ANALYZE) ? test : test.skip)('systemd accepts both units (systemd-analyze verify)', async (t) => {
  const { stdout, stderr } = await promisify(execFile)(SYSTEMD_ANALYZE, ['verify', '--man=no', unit('quorumchat-nats.service'), unit('quorumchat-replica.service')]);
  t.is((stdout + stderr).trim(), '');
});
