/**
 * `quorumchat nats-config`: prints the nats-server configuration of one host
 * of a multi-host cluster (cli/format/nats-config.ts), so nobody writes routes
 * and ping settings by hand. docs/deploy.md shows it in use.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { CliError, ExitCode, UsageError } from '../errors.ts';
import {
  DEFAULT_CLUSTER_NAME,
  DEFAULT_CLUSTER_PORT,
  DEFAULT_HTTP_PORT,
  DEFAULT_LISTEN,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_PING_INTERVAL,
  DEFAULT_PING_MAX,
  DEFAULT_WRITE_DEADLINE,
  renderNatsConfig,
  RouteAuthSchema,
  type RouteAuth,
} from '../format/nats-config.ts';
import { DEFAULT_NATS_PORT } from '../../config/defaults.ts';

interface NatsConfigFlags {
  readonly host?: string;
  readonly hosts?: string;
  readonly name?: string;
  readonly listen: string;
  readonly port: string;
  readonly clusterPort: string;
  readonly httpPort: string;
  readonly clusterName: string;
  readonly pingInterval: string;
  readonly pingMax: string;
  readonly writeDeadline: string;
  readonly maxPayload: string;
  readonly authorization?: string;
  readonly routeAuthFile?: string;
  readonly routeTlsCert?: string;
  readonly routeTlsKey?: string;
  readonly routeTlsCa?: string;
}

/** Flag names as the operator typed them, for error messages about the generator's fields. */
const FLAG_OF: Readonly<Record<string, string>> = {
  clusterPort: 'cluster-port',
  httpPort: 'http-port',
  clusterName: 'cluster-name',
  pingInterval: 'ping-interval',
  pingMax: 'ping-max',
  writeDeadline: 'write-deadline',
  maxPayload: 'max-payload',
  authorization: 'authorization',
  routeAuth: 'route-auth-file',
  routeTls: 'route-tls-cert, --route-tls-key, --route-tls-ca',
};

export function registerNatsConfigCommand(program: Command): void {
  program
    .command('nats-config')
    .description("print one host's nats-server configuration: routes to every other host, fast dead-route detection")
    .requiredOption('--host <host>', 'this host, as the others reach it (one of --hosts)')
    .requiredOption('--hosts <hosts>', 'every host of the cluster, comma-separated, e.g. h1,h2,h3,h4,h5')
    .option('--name <name>', 'server name on monitoring pages and in logs (default: --host)')
    .option('--listen <address>', 'address the ports bind to', DEFAULT_LISTEN)
    .option('--port <port>', 'client port (replicas and chat clients)', String(DEFAULT_NATS_PORT))
    .option('--cluster-port <port>', 'route port, the same on every host', String(DEFAULT_CLUSTER_PORT))
    .option('--http-port <port>', 'monitoring port, 0 for none', String(DEFAULT_HTTP_PORT))
    .option('--cluster-name <name>', 'NATS cluster name, the same on every host', DEFAULT_CLUSTER_NAME)
    .option('--ping-interval <duration>', 'how often connections and routes are pinged', DEFAULT_PING_INTERVAL)
    .option('--ping-max <count>', 'unanswered pings before a connection or route is closed', String(DEFAULT_PING_MAX))
    .option('--write-deadline <duration>', 'a write blocked this long closes the connection', DEFAULT_WRITE_DEADLINE)
    .option('--max-payload <size>', 'largest message', DEFAULT_MAX_PAYLOAD)
    .option('--authorization <file>', 'include this file of client users and permissions (authorization.conf from quorumchat credentials)')
    .option('--route-auth-file <file>', 'route user and password, JSON {"user","password"} (routes.json from quorumchat credentials): required on every route')
    .option('--route-tls-cert <file>', "this host's route certificate (with --route-tls-key and --route-tls-ca: mutual TLS between servers)")
    .option('--route-tls-key <file>', "this host's route certificate key")
    .option('--route-tls-ca <file>', 'the CA that signed every host\'s route certificate')
    .addHelpText(
      'after',
      '\nExit code 0, or 2 for a bad flag.\n\nExample (on host h3 of five):\n' +
        '  quorumchat nats-config --host h3 --hosts h1,h2,h3,h4,h5 \\\n' +
        '    --authorization authorization.conf --route-auth-file /etc/quorumchat/routes.json > /etc/nats/quorumchat.conf\n' +
        '  nats-server -c /etc/nats/quorumchat.conf -t',
    )
    .action((flags: NatsConfigFlags) => {
      const { routeAuthFile, routeTlsCert, routeTlsKey, routeTlsCa, ...rest } = flags;
      const tls = [routeTlsCert, routeTlsKey, routeTlsCa];
      if (tls.some((f) => f !== undefined) && tls.some((f) => f === undefined)) throw new UsageError('--route-tls-cert, --route-tls-key and --route-tls-ca go together');
      try {
        process.stdout.write(
          renderNatsConfig({
            ...rest,
            host: flags.host ?? '',
            hosts: (flags.hosts ?? '').split(',').map((h) => h.trim()).filter((h) => h.length > 0),
            ...(routeAuthFile === undefined ? {} : { routeAuth: readRouteAuth(routeAuthFile) }),
            ...(routeTlsCert === undefined || routeTlsKey === undefined || routeTlsCa === undefined ? {} : { routeTls: { cert: routeTlsCert, key: routeTlsKey, ca: routeTlsCa } }),
          }),
        );
      } catch (err) {
        if (!(err instanceof z.ZodError)) throw err;
        const issue = err.issues[0];
        const field = String(issue?.path[0] ?? 'host');
        throw new UsageError(`--${FLAG_OF[field] ?? field}: ${issue?.message ?? 'invalid'}`);
      }
    });
}

/** The route credentials file: JSON `{user, password}`, checked here so a bad file names itself. */
function readRouteAuth(file: string): RouteAuth {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`--route-auth-file: cannot read ${file}: ${(err as Error).message}`, ExitCode.environment);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--route-auth-file: ${file} is not JSON`);
  }
  const parsed = RouteAuthSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`--route-auth-file: ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'} ${i.message}`).join('; ')}`);
  return parsed.data;
}
