/**
 * Docker cannot run on the development machine, so this checks what can be
 * checked without it: the NATS cluster config parses (nats-server -t), every
 * container command line uses only flags the CLI accepts, and the Dockerfile
 * copies directories that exist and runs the real bin.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NATS_SERVER_BIN } from './support/nats-server.ts';
import { runCli } from './support/cli.ts';
import { REPLICA_MALLOC_ARENAS, REPLICA_SEMI_SPACE_MIB } from '../../cli/supervisor/cluster-supervisor.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docker = (name: string): string => `${root}docker/${name}`;

test('the NATS cluster config parses (nats-server -t)', async (t) => {
  const { stdout, stderr } = await promisify(execFile)(NATS_SERVER_BIN, ['-c', docker('nats/cluster.conf'), '-t']);
  t.regex(stdout + stderr, /configuration file .* is valid/);
});

/** Sample values for host.compose.yml's ${VAR...} substitutions. */
const SAMPLE_ENV: Record<string, string> = {
  REPLICA_ID: 'r3',
  PEERS: 'r1,r2,r3,r4,r5',
  NATS_ROUTES: 'nats-route://host1:6222,nats-route://host2:6222',
  PREFIX: 'quorumchat',
};

/** Every `command: [...]` of a compose file (written as one-line JSON arrays), with ${VAR...} substituted. */
function commandsOf(file: string): string[][] {
  const text = readFileSync(docker(file), 'utf8');
  const lines = [...text.matchAll(/^\s+command: (\[.*\])\s*$/gm)].map((m) => m[1] ?? '');
  return lines.map((line) => {
    const substituted = line.replace(/\$\{([A-Z_]+)[^}]*\}/g, (_, name: string) => SAMPLE_ENV[name] ?? `missing-${name}`);
    return JSON.parse(substituted) as string[];
  });
}

async function flagsOf(subcommand: string): Promise<Set<string>> {
  const help = await runCli([subcommand, '--help']);
  if (help.code !== 0) throw new Error(`quorumchat ${subcommand} --help failed: ${help.stderr}`);
  return new Set([...help.stdout.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
}

for (const file of ['compose.yml', 'host.compose.yml']) {
  test(`${file}: every quorumchat command line uses flags the CLI accepts`, async (t) => {
    const commands = commandsOf(file).filter((c) => !(c[0] ?? '').startsWith('-'));
    t.true(commands.length > 0);
    const replicaCommands = commands.filter((c) => c[0] === 'replica');
    t.true(replicaCommands.length > 0, 'runs replicas');
    const known = new Map<string, Set<string>>();
    for (const command of commands) {
      const sub = command[0] ?? '';
      if (!known.has(sub)) known.set(sub, await flagsOf(sub));
      for (const arg of command.filter((a) => a.startsWith('--'))) t.true(known.get(sub)?.has(arg), `quorumchat ${sub} accepts ${arg}`);
    }
    for (const command of replicaCommands) {
      const flag = (name: string): string | undefined => command[command.indexOf(name) + 1];
      t.true(flag('--peers')?.split(',').includes(flag('--id') ?? ''), 'a replica is among its peers');
      t.regex(flag('--nats') ?? '', /^nats:\/\/nats[0-9]*:4222$/, 'a replica talks to its own host\'s nats-server');
    }
  });

  test(`${file}: nats-server command lines use flags nats-server accepts`, async (t) => {
    const natsCommands = commandsOf(file).filter((c) => (c[0] ?? '').startsWith('-'));
    t.true(natsCommands.length > 0);
    const { stdout, stderr } = await promisify(execFile)(NATS_SERVER_BIN, ['--help']).catch((err: { stdout: string; stderr: string }) => err);
    const help = stdout + stderr;
    for (const command of natsCommands) {
      for (const arg of command.filter((a) => a.startsWith('-'))) {
        t.regex(help, new RegExp(`(^|[\\s,])${arg}([\\s,]|$)`, 'm'), `nats-server accepts ${arg}`);
      }
    }
  });
}

test('compose.yml: five hosts, each a nats-server routed to the others and one replica', (t) => {
  const commands = commandsOf('compose.yml');
  const replicas = commands.filter((c) => c[0] === 'replica').map((c) => c[c.indexOf('--id') + 1]);
  t.deepEqual(replicas, ['r1', 'r2', 'r3', 'r4', 'r5']);
  const conf = readFileSync(docker('nats/cluster.conf'), 'utf8');
  for (const i of [1, 2, 3, 4, 5]) t.true(conf.includes(`nats-route://nats${i}:6222`), `routes include nats${i}`);
});

test('the Dockerfile copies directories that exist and runs the quorumchat bin', (t) => {
  const dockerfile = readFileSync(docker('Dockerfile'), 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \.\/\S*$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
  t.true(copies.length > 0);
  for (const path of copies) t.true(existsSync(`${root}${path}`), `${path} exists`);
  t.regex(dockerfile, /ENTRYPOINT \["node", "cli\/quorumchat\.mjs"\]/);
  // The memory settings `up` gives its replicas (cluster-supervisor.ts).
  t.regex(dockerfile, new RegExp(`^ENV MALLOC_ARENA_MAX=${REPLICA_MALLOC_ARENAS}$`, 'm'));
  t.regex(dockerfile, new RegExp(`^ENV NODE_OPTIONS=--max-semi-space-size=${REPLICA_SEMI_SPACE_MIB}$`, 'm'));
  t.true(existsSync(`${root}cli/quorumchat.mjs`));
  t.regex(dockerfile, /FROM node:20/);
});
