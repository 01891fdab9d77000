/**
 * One NATS connection for a replica or a client: reconnects forever with a
 * short wait, exposes its status (connected / reconnecting / disconnected /
 * closed) for the runtime and the UI, and closes cleanly.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';

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

export interface NatsLinkOptions {
  readonly servers: string | readonly string[];
  /** Shown on the server's monitoring pages, e.g. "quorumchat-r1". */
  readonly name?: string;
  /**
   * Keep trying when no server answers at first (a replica started before its
   * nats-server). When false, the first connect fails with the NATS error.
   */
  readonly waitOnFirstConnect?: boolean;
}

export class NatsLink {
  readonly nc: NatsConnection;
  #status: LinkStatus = 'connected';
  readonly #listeners = new Set<(status: LinkStatus) => void>();
  readonly #watching: Promise<void>;

  private constructor(nc: NatsConnection) {
    this.nc = nc;
    this.#watching = this.#watch();
  }

  /** Connects (waiting for a server if `waitOnFirstConnect`), then keeps the connection alive until `close()`. */
  static async connect(options: NatsLinkOptions): Promise<NatsLink> {
    const nc = await connect({
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
      ...(options.name === undefined ? {} : { name: options.name }),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      timeout: CONNECT_TIMEOUT_MS,
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
    });
    return new NatsLink(nc);
  }

  get status(): LinkStatus {
    return this.#status;
  }

  /** Called on every status change; returns an unsubscribe function. */
  onStatus(listener: (status: LinkStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
    }
    await ended;
  }

  #set(status: LinkStatus): void {
    if (this.#status === status || this.#status === 'closed') return;
    this.#status = status;
    for (const listener of this.#listeners) {
      try {
        listener(status);
      } catch {
        // A listener's bug must not stop status tracking.
      }
    }
  }
}
