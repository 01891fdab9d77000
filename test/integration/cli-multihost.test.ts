/**
 * The Docker deployment's topology without Docker: two nats-servers started
 * from docker/nats/cluster.conf (ports and routes overridden on the command
 * line, as host.compose.yml does with --routes), joined by a route; three
 * `quorumchat replica` processes on one, two on the other. The replicas must
 * elect a leader and serve clients on either server through the route.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatClient } from '../../actors/client/index.ts';
import { waitForLeader } from '../../cli/supervisor/cluster-status.ts';
import { NATS_SERVER_BIN, freePort, killAndWait } from './support/nats-server.ts';
import { runCli, spawnCli, tempDir } from './support/cli.ts';

const CLUSTER_CONF = fileURLToPath(new URL('../../docker/nats/cluster.conf', import.meta.url));
const IDS = ['r1', 'r2', 'r3', 'r4', 'r5'];

test('replicas on two routed nats-servers (docker/nats/cluster.conf) form one cluster', async (t) => {
  const dir = tempDir(t, 'multihost');
  const [clientA, clientB, routeA, routeB, httpA, httpB] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const server = (name: string, client: number, http: number, route: number, peerRoute: number): ChildProcess => {
    const child = spawn(NATS_SERVER_BIN, [
      '-c', CLUSTER_CONF, '--name', name, '-a', '127.0.0.1', '-p', String(client), '-m', String(http),
      '--cluster', `nats://127.0.0.1:${route}`, '--routes', `nats-route://127.0.0.1:${peerRoute}`,
    ], { stdio: 'ignore' });
    t.teardown(() => killAndWait(child));
    return child;
  };
  server('hostA', clientA!, httpA!, routeA!, routeB!);
  server('hostB', clientB!, httpB!, routeB!, routeA!);
  await Promise.all([listening(clientA!), listening(clientB!)]);
  const urlA = `nats://127.0.0.1:${clientA}`;
  const urlB = `nats://127.0.0.1:${clientB}`;

  const config = join(dir, 'replica.json');
  writeFileSync(config, JSON.stringify({ timing: { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 } }));
  for (const [i, id] of IDS.entries()) {
    const nats = i < 3 ? urlA : urlB;
    const replica = spawnCli(['replica', '--id', id, '--peers', IDS.join(','), '--nats', nats, '--data', join(dir, id), '--config', config]);
    t.teardown(() => killAndWait(replica.process, 10_000));
  }

  const client = await ChatClient.connect({ servers: urlB, timeoutMs: 15_000 });
  t.teardown(() => client.close());
  const status = await waitForLeader(client.nc, 'quorumchat', IDS, { timeoutMs: 150_000, minAnswered: 5 });
  t.regex(status.leader ?? '', /^r[1-5]$/);

  await client.register({ username: 'carol', password: 'carol-password' });
  await client.register({ username: 'dave', password: 'dave-password' });
  const carol = await client.login({ username: 'carol', password: 'carol-password' });
  await client.send({ token: carol.token, to: 'dave', text: 'across the route' });

  const other = await ChatClient.connect({ servers: urlA, timeoutMs: 15_000 });
  t.teardown(() => other.close());
  const dave = await other.login({ username: 'dave', password: 'dave-password' });
  const history = await other.history({ token: dave.token, with: 'carol' });
  t.deepEqual(history.messages.map((m) => m.text), ['across the route']);

  const table = await runCli(['status', '--nats', urlA]);
  t.is(table.code, 0, table.stderr);
  t.is([...table.stdout.matchAll(/^r[1-5]\s+yes\s/gm)].length, 5, table.stdout);
});

/** Resolves once something accepts TCP connections on the loopback port (the server is up). */
async function listening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
