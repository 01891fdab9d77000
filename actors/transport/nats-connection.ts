/**
 * One NATS connection for a replica or a client: reconnects forever with a
 * short wait, exposes its status (connected / reconnecting / disconnected /
 * closed) for the runtime and the UI, and closes cleanly. It authenticates
 * and uses TLS as `nats.auth` / `nats.tls` say (config/nats-security.ts),
 * and says when it is talking to an open server.
 */
import { connect, errors, nkeyAuthenticator, nkeys, tokenAuthenticator, usernamePasswordAuthenticator } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import {
  describeCredentials,
  NatsCredentialsError,
  resolveNatsSecurity,
  type NatsCredentials,
  type NatsSecurity,
  type NatsSecuritySettings,
} from '../../config/nats-security.ts';

/** Wait between reconnect attempts: short, because Raft wants its peers back fast and a local server restarts in well under a second. */
export const RECONNECT_WAIT_MS = 250;
/** Random extra wait per attempt, so many clients do not reconnect in lock step. */
export const RECONNECT_JITTER_MS = 100;
/** Ping the server this often; with MAX_PINGS_OUT a silently dead server is noticed within ~10 s instead of nats.js's default 4 minutes. */
export const PING_INTERVAL_MS = 5_000;
export const MAX_PINGS_OUT = 2;
/** How long one TCP connect attempt may take before the next server or attempt. */
export const CONNECT_TIMEOUT_MS = 2_000;

export type LinkStatus = 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/**
 * The server refused a publish or subscription: this credential's role does
 * not allow the subject (docs/security.md). For a replica that means it was
 * given the wrong credential, and it must say so rather than run deaf.
 */
export interface PermissionRefusal {
  readonly operation: 'publish' | 'subscription';
  readonly subject: string;
}

export interface NatsLinkOptions {
  readonly servers: string | readonly string[];
  /** Shown on the server's monitoring pages, e.g. "quorumchat-r1". */
  readonly name?: string;
  /**
   * Keep trying when no server answers at first (a replica started before its
   * nats-server). When false, the first connect fails with the NATS error.
   */
  readonly waitOnFirstConnect?: boolean;
  /**
   * `nats.auth` and `nats.tls` (config/nats-security.ts): what the settings
   * leave unset comes from the environment (QUORUMCHAT_NATS_*); nothing at
   * all means no credentials, which only an open server accepts.
   */
  readonly security?: NatsSecuritySettings | undefined;
  /** Where QUORUMCHAT_NATS_* are read; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * What a replica logs when `link.open` (DESIGN.md: `up` is secure by
 * default; an open server is for tests and demos).
 */
export const OPEN_CLUSTER_WARNING =
  'the cluster is open: its NATS server requires no credentials, so anyone who can reach this NATS server can forge Raft messages, change the membership and read every request (docs/security.md)';

/** NATS refused these credentials, or wanted credentials and got none. */
export class NatsAuthError extends Error {
  override readonly name = 'NatsAuthError';
  constructor(
    message: string,
    readonly servers: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The one translation of resolved security settings into nats.js connect
 * options: an authenticator for the credentials, TLS files for the transport.
 * Throws NatsCredentialsError for an nkey seed that is not one.
 */
export function natsConnectOptions(security: NatsSecurity): Pick<ConnectionOptions, 'authenticator' | 'tls'> {
  const out: Pick<ConnectionOptions, 'authenticator' | 'tls'> = {};
  const c = security.credentials;
  if (c?.kind === 'user') out.authenticator = usernamePasswordAuthenticator(c.user, c.password);
  else if (c?.kind === 'token') out.authenticator = tokenAuthenticator(c.token);
  else if (c?.kind === 'nkey') out.authenticator = nkeyAuthenticator(nkeySeedBytes(c));
  if (security.tls !== null) out.tls = { ...security.tls };
  return out;
}

export class NatsLink {
  readonly nc: NatsConnection;
  /** Who this link authenticated as, for logs ("user 'replica' (credentials file …)", or "no credentials"). */
  readonly identity: string;
  /**
   * The server asked for no credentials (whether or not we sent some; an open
   * server accepts any): anyone who reaches it can speak for the cluster.
   * A replica logs OPEN_CLUSTER_WARNING.
   */
  readonly open: boolean;
  #status: LinkStatus = 'connected';
  readonly #listeners = new Set<(status: LinkStatus) => void>();
  readonly #refusalListeners = new Set<(refusal: PermissionRefusal) => void>();
  readonly #watching: Promise<void>;

  private constructor(nc: NatsConnection, identity: string, open: boolean) {
    this.nc = nc;
    this.identity = identity;
    this.open = open;
    this.#watching = this.#watch();
  }

  /**
   * Connects (waiting for a server if `waitOnFirstConnect`), then keeps the
   * connection alive until `close()`. Refused credentials fail fast with
   * NatsAuthError even with `waitOnFirstConnect`: nats.js gives up after the
   * second consecutive authorization error, so waiting cannot hang on them.
   */
  static async connect(options: NatsLinkOptions): Promise<NatsLink> {
    const security = resolveNatsSecurity(options.security, options.env);
    const servers = typeof options.servers === 'string' ? options.servers : [...options.servers];
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...natsConnectOptions(security),
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        reconnectJitter: RECONNECT_JITTER_MS,
        pingInterval: PING_INTERVAL_MS,
        maxPingOut: MAX_PINGS_OUT,
        timeout: CONNECT_TIMEOUT_MS,
        waitOnFirstConnect: options.waitOnFirstConnect ?? false,
      });
    } catch (err) {
      throw explainConnectError(err, String(servers), security.credentials);
    }
    const open = nc.info?.auth_required !== true;
    return new NatsLink(nc, describeCredentials(security.credentials), open);
  }

  get status(): LinkStatus {
    return this.#status;
  }

  /** Called on every status change; returns an unsubscribe function. */
  onStatus(listener: (status: LinkStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called for every publish or subscription the server refuses (a permissions violation); returns an unsubscribe function. */
  onRefused(listener: (refusal: PermissionRefusal) => void): () => void {
    this.#refusalListeners.add(listener);
    return () => this.#refusalListeners.delete(listener);
  }

  /** Drains nothing: pending requests fail, subscriptions end. Safe to call twice. */
  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
    await this.#watching;
  }

  async #watch(): Promise<void> {
    const ended = this.nc.closed().then(() => this.#set('closed'));
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.#set('disconnected');
      else if (s.type === 'reconnecting') this.#set('reconnecting');
      else if (s.type === 'reconnect') this.#set('connected');
      else if (s.type === 'close') break;
      else if (s.type === 'error' && s.error instanceof errors.PermissionViolationError) {
        const refusal: PermissionRefusal = { operation: s.error.operation === 'subscription' ? 'subscription' : 'publish', subject: s.error.subject };
        notify(this.#refusalListeners, refusal);
      }
    }
    await ended;
  }

  #set(status: LinkStatus): void {
    if (this.#status === status || this.#status === 'closed') return;
    this.#status = status;
    notify(this.#listeners, status);
  }
}

function notify<T>(listeners: Iterable<(value: T) => void>, value: T): void {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch {
      // A listener's bug must not stop status tracking.
    }
  }
}

/** An authorization refusal becomes a NatsAuthError naming who was refused; anything else passes through. */
export function explainConnectError(err: unknown, servers: string, credentials: NatsCredentials | null): unknown {
  if (!(err instanceof errors.AuthorizationError)) return err;
  const message =
    credentials === null
      ? `NATS at ${servers} requires credentials (${err.message}) and none were given: set nats.auth, QUORUMCHAT_NATS_AUTH_FILE or a --nats-auth-file flag (docs/security.md)`
      : `NATS at ${servers} refused the credentials (${err.message}) for ${describeCredentials(credentials)}`;
  return new NatsAuthError(message, servers, { cause: err });
}

function nkeySeedBytes(c: NatsCredentials & { kind: 'nkey' }): Uint8Array {
  const seed = new TextEncoder().encode(c.seed.trim());
  try {
    nkeys.fromSeed(seed);
  } catch {
    throw new NatsCredentialsError(`the nkey seed from ${c.source} is not an nkey seed (expected SU…, from \`nk -gen user\`)`);
  }
  return seed;
}
