/**
 * Route credentials and route TLS from `quorumchat nats-config`
 * (--route-auth-file, --route-tls-*): two servers with the cluster's route
 * password and certificates form a route and carry messages; a server with
 * the wrong password, or without a certificate, does not. Each server binds
 * its own loopback address (127.0.0.x), like a host of its own.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { renderNatsConfig, RouteAuthSchema, type NatsConfigInput, type RouteAuth } from '../../cli/format/nats-config.ts';
import { writeClusterNkeys, ROUTES_FILE } from '../../cli/commands/credentials.ts';
import { NATS_SERVER_BIN, freePort, killAndWait } from '../integration/support/nats-server.ts';
import { tempDir } from '../integration/support/cli.ts';

/** A message across a route that is up arrives within milliseconds; a route being set up takes about a second. */
const ROUTE_UP_MS = 10_000;
/** How long a refused route is given to (wrongly) carry a message. */
const REFUSED_WAIT_MS = 3_000;
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** A throwaway CA and a certificate per host address (server and client use: routes dial both ways). */
function makeCertificates(dir: string): void {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=quorumchat-test-ca');
  for (const host of HOSTS) {
    writeFileSync(join(dir, `${host}.ext`), `subjectAltName=IP:${host}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${host}.key`, '-out', `${host}.csr`, '-subj', `/CN=${host}`);
    run('x509', '-req', '-in', `${host}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${host}.pem`, '-days', '1', '-extfile', `${host}.ext`);
  }
}

interface Server {
  readonly url: string;
}

async function startServer(t: ExecutionContext, dir: string, host: string, clusterPort: number, extra: Partial<NatsConfigInput>): Promise<Server> {
  const port = await freePort();
  const file = join(dir, `${host}-${port}.conf`);
  writeFileSync(file, renderNatsConfig({ host, hosts: HOSTS, listen: host, port, clusterPort, httpPort: 0, ...extra }));
  const child: ChildProcess = spawn(NATS_SERVER_BIN, ['-c', file], { stdio: 'ignore' });
  t.teardown(() => killAndWait(child));
  const url = `nats://${host}:${port}`;
  for (let tries = 0; ; tries++) {
    try {
      await (await connect({ servers: url, reconnect: false })).close();
      return { url };
    } catch (error) {
      if (tries > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Whether a message published on `from` reaches a subscriber on `to` within `withinMs` (published again every 200 ms). */
async function carries(from: Server, to: Server, withinMs: number): Promise<boolean> {
  const sub: NatsConnection = await connect({ servers: to.url });
  const pub: NatsConnection = await connect({ servers: from.url });
  try {
    const subscription = sub.subscribe('route.probe', { max: 1 });
    await sub.flush();
    const received = (async () => {
      for await (const message of subscription) return message.subject === 'route.probe';
      return false;
    })();
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      pub.publish('route.probe', 'x');
      const got = await Promise.race([received, new Promise<false>((resolve) => setTimeout(() => resolve(false), 200))]);
      if (got) return true;
    }
    return false;
  } finally {
    await Promise.all([sub.close(), pub.close()]);
  }
}

/** Credentials and certificates as an operator makes them (docs/deploy.md, section 2a), and a route port. */
async function setUp(t: ExecutionContext): Promise<{ dir: string; routeAuth: RouteAuth; tls: (host: string) => NatsConfigInput['routeTls']; clusterPort: number }> {
  const dir = tempDir(t, 'routes');
  writeClusterNkeys(dir, 'quorumchat');
  makeCertificates(dir);
  const routeAuth = RouteAuthSchema.parse(JSON.parse(readFileSync(join(dir, ROUTES_FILE), 'utf8')));
  const tls = (host: string): NatsConfigInput['routeTls'] => ({ cert: join(dir, `${host}.pem`), key: join(dir, `${host}.key`), ca: join(dir, 'ca.pem') });
  return { dir, routeAuth, tls, clusterPort: await freePort() };
}

test('routes need the cluster password and a certificate from its CA; with both they carry messages', async (t) => {
  t.timeout(60_000);
  const { dir, routeAuth, tls, clusterPort } = await setUp(t);

  const a = await startServer(t, dir, '127.0.0.1', clusterPort, { routeAuth, routeTls: tls('127.0.0.1') });
  const b = await startServer(t, dir, '127.0.0.2', clusterPort, { routeAuth, routeTls: tls('127.0.0.2') });
  t.true(await carries(b, a, ROUTE_UP_MS), 'the two servers with the password and certificates form a route');

  // A third with the wrong password: its routes are refused, nothing it carries reaches the others.
  const wrong = await startServer(t, dir, '127.0.0.3', clusterPort, { routeAuth: { ...routeAuth, password: 'not-the-cluster-password' }, routeTls: tls('127.0.0.3') });
  t.false(await carries(wrong, a, REFUSED_WAIT_MS), 'a route with the wrong password is refused');
  t.true(await carries(b, a, ROUTE_UP_MS), 'the cluster is unaffected');
});

test('a server without a route certificate cannot join a cluster whose routes require TLS', async (t) => {
  t.timeout(60_000);
  const { dir, routeAuth, tls, clusterPort } = await setUp(t);
  const a = await startServer(t, dir, '127.0.0.1', clusterPort, { routeAuth, routeTls: tls('127.0.0.1') });
  const plain = await startServer(t, dir, '127.0.0.2', clusterPort, { routeAuth });
  t.false(await carries(plain, a, REFUSED_WAIT_MS), 'the password alone does not make a route');
});
