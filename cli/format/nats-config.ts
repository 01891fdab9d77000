/**
 * The nats-server configuration of one quorumchat host: a client port for the
 * host's replica and clients, a cluster port routed to every other host's
 * server (a full mesh, because nats-server 2.9 forwards a message across one
 * route only), and ping settings that notice a dead route in seconds rather
 * than the default minutes. `quorumchat nats-config` prints it; the
 * network-namespace tests (test/hosts/) start their servers from it, so what
 * the deployment guide recommends is what the partition tests run.
 *
 * The input is validated with zod here, at the edge, so every value that
 * reaches the template is one nats-server accepts.
 */
import { z } from 'zod';
import { DEFAULT_NATS_PORT, DEFAULT_PREFIX } from '../../config/defaults.ts';

/** NATS's customary route port; docker/nats/cluster.conf uses it too. */
export const DEFAULT_CLUSTER_PORT = 6222;
/** NATS's customary monitoring port (/varz, /routez); 0 turns monitoring off. */
export const DEFAULT_HTTP_PORT = 8222;
/** Every interface: a real host's address is not known to the generator. */
export const DEFAULT_LISTEN = '0.0.0.0';
/** The NATS cluster's name; servers refuse routes from a cluster of another name. */
export const DEFAULT_CLUSTER_NAME = DEFAULT_PREFIX;
/**
 * nats-server pings every client and route this often and closes a connection
 * with more than `ping_max` pings unanswered. The default (2 minutes, 2 pings)
 * leaves a cut route looking alive for up to 6 minutes, and meanwhile the
 * queue group keeps handing requests to replicas behind it, which vanish.
 * 1 s × 3 notices a dead route within about 4 s, yet tolerates a TCP
 * retransmission or two on a lossy link (an RTO is 200 ms to 1 s).
 * nats-server 2.9 has no separate route setting; these apply to clients too,
 * which costs a few bytes a second per connection.
 */
export const DEFAULT_PING_INTERVAL = '1s';
export const DEFAULT_PING_MAX = 3;
/**
 * A write blocked this long (a peer that stopped reading, or a route whose
 * packets vanish) closes the connection instead of stalling the server's
 * other writes; nats-server's default is 10 s.
 */
export const DEFAULT_WRITE_DEADLINE = '2s';
/** Raft appends are at most 512 KiB and snapshot chunks 256 KiB (config/defaults.ts); 1 MiB leaves room. */
export const DEFAULT_MAX_PAYLOAD = '1MB';

/** A DNS name or IPv4 address: what goes into a route URL and a listen address. */
const HostSchema = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name or IPv4 address such as h3 or 198.18.0.13');
/** A port; 0 only where the option says it turns something off. */
const PortSchema = z.coerce.number().int().min(1).max(65_535);
/** A file path as it goes into the configuration: no quote, backslash or line break to escape. */
const ConfigPathSchema = z.string().regex(/^[^"\\\n\r]{1,1024}$/, 'must be a file path without quotes, backslashes or line breaks');
/**
 * Route credentials (`quorumchat credentials` writes routes.json): URL-safe,
 * because they also go into every route URL.
 */
export const RouteAuthSchema = z.object({
  user: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -'),
  password: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'must be 16 to 128 letters, digits, _ or -'),
});
export type RouteAuth = z.infer<typeof RouteAuthSchema>;
/** How long a route has to present its credentials (nats-server's authorization timeout, seconds). */
const ROUTE_AUTH_TIMEOUT_S = 2;

/** nats-server's duration syntax, limited to what quorumchat needs. */
const NatsDurationSchema = z.string().regex(/^\d+(ms|s|m)$/, 'must be a duration such as 500ms, 2s or 1m');

export const NatsConfigInputSchema = z
  .object({
    /** This host, as the other hosts reach it; one of `hosts`. */
    host: HostSchema,
    /** Every host of the cluster, this one included, in any order. */
    hosts: z.array(HostSchema).min(1, 'must name at least one host'),
    /** The server's name on its monitoring pages and in its logs; default the host. */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, _, . or -').optional(),
    /** Address the client, cluster and monitoring ports bind to. */
    listen: HostSchema.default(DEFAULT_LISTEN),
    port: PortSchema.default(DEFAULT_NATS_PORT),
    clusterPort: PortSchema.default(DEFAULT_CLUSTER_PORT),
    httpPort: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_HTTP_PORT),
    clusterName: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1 to 64 letters, digits, _ or -').default(DEFAULT_CLUSTER_NAME),
    pingInterval: NatsDurationSchema.default(DEFAULT_PING_INTERVAL),
    pingMax: z.coerce.number().int().min(1).max(100).default(DEFAULT_PING_MAX),
    writeDeadline: NatsDurationSchema.default(DEFAULT_WRITE_DEADLINE),
    maxPayload: z.string().regex(/^\d+(KB|MB)?$/, 'must be a size such as 1MB').default(DEFAULT_MAX_PAYLOAD),
    /**
     * Route URLs to dial instead of `nats-route://<host>:<clusterPort>` for
     * every other host: for a relay in front of each route (the tests' delay
     * stand-in, test/hosts/delay-relay.ts) or a NAT. One per other host.
     */
    routes: z.array(z.string().regex(/^nats-route:\/\/[A-Za-z0-9.-]+:\d{1,5}$/, 'must be a URL such as nats-route://h2:6222')).optional(),
    /** A file of client users and permissions to include (`quorumchat credentials` writes authorization.conf). */
    authorization: ConfigPathSchema.optional(),
    /**
     * The user and password every server presents on its routes and requires
     * on the routes it accepts: without them anyone who reaches the route port
     * joins the cluster, and a route is not subject to client permissions.
     */
    routeAuth: RouteAuthSchema.optional(),
    /** Mutual TLS on the routes: this host's certificate and key, and the CA that signed every host's. */
    routeTls: z.object({ cert: ConfigPathSchema, key: ConfigPathSchema, ca: ConfigPathSchema }).optional(),
  })
  .superRefine((input, ctx) => {
    if (!input.hosts.includes(input.host)) ctx.addIssue({ code: 'custom', path: ['host'], message: `must be one of --hosts (${input.hosts.join(',')})` });
    const seen = new Set<string>();
    for (const h of input.hosts) {
      if (seen.has(h)) ctx.addIssue({ code: 'custom', path: ['hosts'], message: `names ${h} twice` });
      seen.add(h);
    }
    const ports = [input.port, input.clusterPort, ...(input.httpPort === 0 ? [] : [input.httpPort])];
    if (new Set(ports).size !== ports.length) ctx.addIssue({ code: 'custom', path: ['port'], message: 'the client, cluster and monitoring ports must differ' });
    if (input.routes !== undefined && input.routes.length !== input.hosts.length - 1) {
      ctx.addIssue({ code: 'custom', path: ['routes'], message: `must name one route per other host (${input.hosts.length - 1})` });
    }
  });

export type NatsConfigInput = z.input<typeof NatsConfigInputSchema>;
export type NatsConfig = z.output<typeof NatsConfigInputSchema>;

/** The route URLs of every other host, in the order given, with the route credentials when there are any. */
export function routesOf(config: Pick<NatsConfig, 'host' | 'hosts' | 'clusterPort' | 'routes' | 'routeAuth'>): string[] {
  const plain = config.routes ?? config.hosts.filter((h) => h !== config.host).map((h) => `nats-route://${h}:${config.clusterPort}`);
  const auth = config.routeAuth;
  return auth === undefined ? plain : plain.map((url) => url.replace('nats-route://', `nats-route://${auth.user}:${auth.password}@`));
}

/** The cluster block's authorization and TLS lines, indented for it. */
function routeSecurity(c: NatsConfig): string[] {
  const auth = c.routeAuth;
  const tls = c.routeTls;
  return [
    ...(auth === undefined
      ? ['  # No route credentials (--route-auth-file): firewall the route port to the cluster\'s hosts.']
      : ['  # Routes must present these (they are in every route URL below too).', '  authorization {', `    user: ${quote(auth.user)}`, `    password: ${quote(auth.password)}`, `    timeout: ${ROUTE_AUTH_TIMEOUT_S}`, '  }']),
    ...(tls === undefined
      ? []
      : ['  # Mutual TLS: each side shows a certificate signed by the cluster\'s CA.', '  tls {', `    cert_file: ${quote(tls.cert)}`, `    key_file: ${quote(tls.key)}`, `    ca_file: ${quote(tls.ca)}`, '    verify: true', '  }']),
  ];
}

/** Validates `input` (throws a ZodError naming the field) and renders the configuration file. */
export function renderNatsConfig(input: NatsConfigInput): string {
  const c = NatsConfigInputSchema.parse(input);
  const routes = routesOf(c);
  const lines = [
    `# nats-server configuration of quorumchat host ${c.host}, one of ${c.hosts.join(', ')}.`,
    '# Generated by `quorumchat nats-config`; regenerate rather than edit.',
    '# Plain NATS core: no JetStream. Check it with: nats-server -c <this file> -t',
    '',
    `server_name: ${quote(c.name ?? c.host)}`,
    `listen: ${quote(`${c.listen}:${c.port}`)}`,
    ...(c.httpPort === 0 ? [] : [`# Monitoring (/varz, /routez) for operators; keep it off the public network.`, `http: ${quote(`${c.listen}:${c.httpPort}`)}`]),
    `max_payload: ${c.maxPayload}`,
    ...(c.authorization === undefined ? [] : ['# Client users and their permissions (quorumchat credentials; docs/security.md).', `include ${quote(c.authorization)}`]),
    '',
    `# Notice a dead client or route within about ${c.pingMax + 1} pings instead of minutes (nats-server 2.9 applies these to routes too).`,
    `ping_interval: ${quote(c.pingInterval)}`,
    `ping_max: ${c.pingMax}`,
    `write_deadline: ${quote(c.writeDeadline)}`,
    '# A server cut off from the others keeps writing to its dead routes, so it never pings them:',
    '# only TCP closes them: see docs/deploy.md, section 1, on net.ipv4.tcp_retries2, which brought',
    '# the routes back within 0.5 s of a heal instead of 4-5 s in our tests.',
    '',
    'cluster {',
    `  name: ${quote(c.clusterName)}`,
    `  listen: ${quote(`${c.listen}:${c.clusterPort}`)}`,
    '  # Every route is listed explicitly (a full mesh): gossiping this',
    "  # server's own addresses could hand the others ones they cannot reach.",
    '  no_advertise: true',
    ...routeSecurity(c),
    '  routes: [',
    ...routes.map((r) => `    ${quote(r)}`),
    '  ]',
    '}',
    '',
  ];
  return lines.join('\n');
}

/** Every value is quoted: host names like `h1` or sizes would otherwise be read as other types by the NATS parser. */
function quote(value: string): string {
  return JSON.stringify(value);
}
