/**
 * `quorumchat nats-config`: the generated configuration routes to every other
 * host and nowhere else, carries the fast dead-route settings, refuses bad
 * input with the flag's name, and is accepted by the real nats-server.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ZodError } from 'zod';
import { renderNatsConfig, routesOf, NatsConfigInputSchema } from '../../cli/format/nats-config.ts';
import { NATS_SERVER_BIN } from '../integration/support/nats-server.ts';
import { runCli, tempDir } from '../integration/support/cli.ts';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];

test('routes go to every other host, in order, never to itself', (t) => {
  const config = NatsConfigInputSchema.parse({ host: 'h3', hosts: HOSTS });
  t.deepEqual(routesOf(config), ['nats-route://h1:6222', 'nats-route://h2:6222', 'nats-route://h4:6222', 'nats-route://h5:6222']);
  const text = renderNatsConfig({ host: 'h3', hosts: HOSTS, clusterPort: 7244 });
  t.regex(text, /"nats-route:\/\/h5:7244"/);
  t.notRegex(text, /nats-route:\/\/h3:/);
});

test('explicit route URLs (a relay in front of each route) replace the generated ones, one per other host', (t) => {
  const routes = ['nats-route://127.0.0.1:7001', 'nats-route://127.0.0.1:7002', 'nats-route://127.0.0.1:7004', 'nats-route://127.0.0.1:7005'];
  t.deepEqual(routesOf(NatsConfigInputSchema.parse({ host: 'h3', hosts: HOSTS, routes })), routes);
  t.throws(() => renderNatsConfig({ host: 'h3', hosts: HOSTS, routes: routes.slice(1) }), { instanceOf: ZodError, message: /one route per other host/ });
  t.throws(() => renderNatsConfig({ host: 'h3', hosts: HOSTS, routes: [...routes.slice(1), 'http://x:1'] }), { instanceOf: ZodError });
});

test('defaults: client 4222, cluster 6222, monitoring 8222, pings that notice a dead route in seconds', (t) => {
  const text = renderNatsConfig({ host: 'h1', hosts: HOSTS });
  t.regex(text, /^listen: "0\.0\.0\.0:4222"$/m);
  t.regex(text, /^http: "0\.0\.0\.0:8222"$/m);
  t.regex(text, /^ {2}listen: "0\.0\.0\.0:6222"$/m);
  t.regex(text, /^server_name: "h1"$/m);
  t.regex(text, /^ping_interval: "1s"$/m);
  t.regex(text, /^ping_max: 3$/m);
  t.regex(text, /^write_deadline: "2s"$/m);
  t.regex(text, /^ {2}name: "quorumchat"$/m);
});

test('--http-port 0 leaves monitoring off', (t) => {
  t.notRegex(renderNatsConfig({ host: 'h1', hosts: HOSTS, httpPort: 0 }), /^http:/m);
});

test('bad input is refused, naming the field', (t) => {
  const fieldOf = (input: Parameters<typeof renderNatsConfig>[0]): unknown => {
    const error = t.throws(() => renderNatsConfig(input), { instanceOf: ZodError });
    return error?.issues[0]?.path[0];
  };
  t.is(fieldOf({ host: 'h6', hosts: HOSTS }), 'host');
  t.is(fieldOf({ host: 'h1', hosts: ['h1', 'h1'] }), 'hosts');
  t.is(fieldOf({ host: 'h1', hosts: ['h1', 'h2 evil'] }), 'hosts');
  t.is(fieldOf({ host: 'h1', hosts: HOSTS, port: 6222 }), 'port');
  t.is(fieldOf({ host: 'h1', hosts: HOSTS, pingInterval: 'soon' }), 'pingInterval');
  t.is(fieldOf({ host: 'h1', hosts: HOSTS, clusterName: 'a b' }), 'clusterName');
});

test('nats-server accepts the output of the command (nats-server -t)', async (t) => {
  const dir = tempDir(t, 'nats-config');
  for (const host of ['h1', 'h5']) {
    const printed = await runCli(['nats-config', '--host', host, '--hosts', HOSTS.join(','), '--listen', '127.0.0.1', '--http-port', '0']);
    t.is(printed.code, 0, printed.stderr);
    const file = join(dir, `${host}.conf`);
    writeFileSync(file, printed.stdout);
    const { stdout, stderr } = await promisify(execFile)(NATS_SERVER_BIN, ['-c', file, '-t']);
    t.regex(stdout + stderr, /configuration file .* is valid/);
  }
});

test('the command reports a bad flag with exit code 2 and the flag name', async (t) => {
  const result = await runCli(['nats-config', '--host', 'h9', '--hosts', HOSTS.join(',')]);
  t.is(result.code, 2);
  t.regex(result.stderr, /--host: must be one of --hosts/);
  const ping = await runCli(['nats-config', '--host', 'h1', '--hosts', HOSTS.join(','), '--ping-interval', 'often']);
  t.is(ping.code, 2);
  t.regex(ping.stderr, /--ping-interval: must be a duration/);
});

test('route credentials go into the cluster block and every route URL; a bad credentials file or half the TLS flags are refused', async (t) => {
  const routeAuth = { user: 'quorumchat-routes', password: 'a'.repeat(32) };
  const text = renderNatsConfig({ host: 'h1', hosts: HOSTS, routeAuth, authorization: 'authorization.conf' });
  t.regex(text, /^ {2}authorization \{\n {4}user: "quorumchat-routes"\n {4}password: "a{32}"/m);
  t.regex(text, /"nats-route:\/\/quorumchat-routes:a{32}@h2:6222"/);
  t.regex(text, /^include "authorization\.conf"$/m);
  t.regex(renderNatsConfig({ host: 'h1', hosts: HOSTS }), /No route credentials/);
  t.throws(() => renderNatsConfig({ host: 'h1', hosts: HOSTS, routeAuth: { user: 'u', password: 'short' } }), { instanceOf: ZodError });

  const dir = tempDir(t, 'route-auth');
  const bad = join(dir, 'routes.json');
  writeFileSync(bad, '{"user": "x"}');
  const refused = await runCli(['nats-config', '--host', 'h1', '--hosts', HOSTS.join(','), '--route-auth-file', bad]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--route-auth-file: .*routes\.json: password/);
  const half = await runCli(['nats-config', '--host', 'h1', '--hosts', HOSTS.join(','), '--route-tls-cert', 'c.pem']);
  t.is(half.code, 2);
  t.regex(half.stderr, /--route-tls-cert, --route-tls-key and --route-tls-ca go together/);
});
