/**
 * Live delivery, client side (docs/protocol.md §2.4): subscribe first, then
 * take a baseline; show each message once (de-duplicated by id per
 * conversation); repair gaps from `conversations` + `history` after every
 * reconnect, after an unavailable period, periodically, and on demand.
 */
import type { Subscription } from '@nats-io/transport-node';
import type { ChatClient } from './chat-client.ts';
import { UnauthorizedError } from './errors.ts';
import { decodeLiveFrame, HISTORY_MAX_LIMIT, liveSubject, sessionKeyOf, type ChatMessage, type DeletedFrame, type LiveFrame, type Opener, type ReadFrame } from '../protocol/index.ts';
import type { NatsLink } from '../transport/nats-connection.ts';

/** Repair this often even when nothing seems wrong: NATS core can drop frames silently (slow consumer). */
export const DEFAULT_REPAIR_EVERY_MS = 60_000;
/** Frames kept while the baseline is being read (a slow or unavailable cluster); beyond this they are dropped and repaired. */
const MAX_EARLY_FRAMES = 10_000;
/** First wait before retrying a failed repair or baseline; doubles up to REPAIR_RETRY_MAX_MS. */
const REPAIR_RETRY_MIN_MS = 500;
const REPAIR_RETRY_MAX_MS = 10_000;

export type LiveEvent =
  | { readonly type: 'message'; readonly message: ChatMessage }
  | ReadFrame
  | DeletedFrame
  /** The session ended (logout, account deleted, or the token was refused); the subscription is closed. */
  | { readonly type: 'revoked' }
  /** A gap repair finished; `delivered` messages came from history rather than frames. */
  | { readonly type: 'repaired'; readonly delivered: number }
  /** A repair failed; it is retried with back-off. */
  | { readonly type: 'error'; readonly error: Error };

export type LiveHandler = (event: LiveEvent) => void;

export interface LiveOptions {
  /** Resume: last message id already shown per conversation partner. Without it, the baseline is "now". */
  readonly since?: Readonly<Record<string, number>>;
  /** Periodic repair interval; 0 turns it off. */
  readonly repairEveryMs?: number;
}

interface LiveSessionInit {
  readonly client: ChatClient;
  readonly link: NatsLink;
  readonly prefix: string;
  readonly token: string;
  readonly username: string;
  readonly handler: LiveHandler;
  readonly options: LiveOptions;
  /** The session's `liveKey` (docs/protocol.md §2.5) when it logged in with one: frames are opened with it, clear ones refused. */
  readonly liveKey: Opener | null;
}

export class LiveSession {
  /** Resolves when the subscription and the baseline are in place (rejects if the baseline could not be read). */
  readonly ready: Promise<void>;
  /** Resolves when the session is closed. */
  readonly closed: Promise<void>;
  readonly #init: LiveSessionInit;
  readonly #subscription: Subscription;
  /** Per conversation partner: every message id ≤ this was shown (or was history at the baseline). */
  readonly #confirmed = new Map<string, number>();
  /** Per conversation partner: ids above `confirmed` already shown. */
  readonly #seen = new Map<string, Set<number>>();
  /** Frames that arrived before the baseline, processed once it is known. */
  #early: LiveFrame[] | null = [];
  #earlyOverflowed = false;
  #repairing: Promise<void> | null = null;
  #repairAgain = false;
  #retryWait = REPAIR_RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | null = null;
  readonly #periodic: NodeJS.Timeout | null;
  readonly #stopStatus: () => void;
  #closed = false;
  #resolveClosed: () => void = () => undefined;

  constructor(init: LiveSessionInit) {
    this.#init = init;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    // Subscribe before reading the baseline: every message committed after it then arrives by frame, history, or both.
    const subject = liveSubject(init.prefix, sessionKeyOf(init.token));
    const unsealing = init.liveKey === null ? undefined : { opener: init.liveKey, subject };
    this.#subscription = init.link.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null || this.#closed) return;
        const decoded = decodeLiveFrame(msg.data, unsealing);
        // Unknown types are skipped by design; malformed frames (and, on a sealed session, clear or unopenable ones) cannot be trusted: history repairs.
        if (decoded.kind !== 'frame') return;
        if (this.#early === null) this.#onFrame(decoded.frame);
        else if (this.#early.length < MAX_EARLY_FRAMES) this.#early.push(decoded.frame);
        else this.#earlyOverflowed = true; // the repair after the baseline recovers what was not kept
      },
    });
    let wasConnected = init.link.status === 'connected';
    this.#stopStatus = init.link.onStatus((status) => {
      if (status === 'connected' && !wasConnected) this.repairNow();
      wasConnected = status === 'connected';
    });
    const every = init.options.repairEveryMs ?? DEFAULT_REPAIR_EVERY_MS;
    this.#periodic = every > 0 ? setInterval(() => this.repairNow(), every) : null;
    this.#periodic?.unref();
    this.ready = this.#start();
    this.ready.catch(() => undefined);
  }

  /** Runs a gap repair now (coalesced with one already running). */
  repairNow(): void {
    if (this.#closed || this.#early !== null) return;
    if (this.#repairing !== null) {
      this.#repairAgain = true;
      return;
    }
    this.#repairing = this.#repairLoop().finally(() => (this.#repairing = null));
  }

  /**
   * Per conversation partner, the id up to which every message was shown: a
   * safe `since` for a later session (it never skips a message; messages that
   * arrived by frame after the last repair may be shown again).
   */
  positions(): Record<string, number> {
    return Object.fromEntries(this.#confirmed);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#periodic !== null) clearInterval(this.#periodic);
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#stopStatus();
    try {
      this.#subscription.unsubscribe();
    } catch {
      // the connection is already closed
    }
    await this.#repairing?.catch(() => undefined);
    this.#resolveClosed();
  }

  /**
   * Reads the baseline, retrying `unavailable` and other failures with
   * back-off (reported as `error` events) until it succeeds or the session
   * closes. `unauthorized` ends the session: `ready` rejects with it.
   */
  async #start(): Promise<void> {
    const { since } = this.#init.options;
    if (since === undefined) {
      for (let wait = REPAIR_RETRY_MIN_MS; ; wait = Math.min(wait * 2, REPAIR_RETRY_MAX_MS)) {
        try {
          const { conversations } = await this.#init.client.conversations({ token: this.#init.token });
          for (const c of conversations) this.#confirmed.set(c.with, c.lastId);
          break;
        } catch (err) {
          if (this.#closed) return;
          if (err instanceof UnauthorizedError) {
            this.#emit({ type: 'revoked' });
            void this.close();
            throw err;
          }
          this.#emit({ type: 'error', error: err as Error });
          await new Promise((resolve) => setTimeout(resolve, wait).unref());
          if (this.#closed) return;
        }
      }
    } else {
      for (const [partner, id] of Object.entries(since)) this.#confirmed.set(partner, id);
    }
    const early = this.#early ?? [];
    this.#early = null;
    for (const frame of early) this.#onFrame(frame);
    if (since !== undefined || this.#earlyOverflowed) this.repairNow();
  }

  #onFrame(frame: LiveFrame): void {
    if (frame.type === 'message') {
      this.#offer(frame.message);
    } else if (frame.type === 'revoked') {
      this.#emit(frame);
      void this.close();
    } else {
      this.#emit(frame);
    }
  }

  /** Shows a message unless it was shown already or predates what is confirmed. Returns whether it was shown. */
  #offer(message: ChatMessage): boolean {
    const partner = message.from === this.#init.username ? message.to : message.from;
    if (message.id <= (this.#confirmed.get(partner) ?? 0)) return false;
    let seen = this.#seen.get(partner);
    if (seen === undefined) this.#seen.set(partner, (seen = new Set()));
    if (seen.has(message.id)) return false;
    seen.add(message.id);
    this.#emit({ type: 'message', message });
    return true;
  }

  async #repairLoop(): Promise<void> {
    do {
      this.#repairAgain = false;
      try {
        const delivered = await this.#repairOnce();
        this.#retryWait = REPAIR_RETRY_MIN_MS;
        if (!this.#closed) this.#emit({ type: 'repaired', delivered });
      } catch (err) {
        if (this.#closed) return;
        if (err instanceof UnauthorizedError) {
          this.#emit({ type: 'revoked' });
          void this.close();
          return;
        }
        // Unavailable (no quorum, NATS down) or anything else: report it and try again later.
        this.#emit({ type: 'error', error: err as Error });
        this.#scheduleRetry();
        return;
      }
    } while (this.#repairAgain && !this.#closed);
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.repairNow();
    }, this.#retryWait);
    this.#retryTimer.unref();
    this.#retryWait = Math.min(this.#retryWait * 2, REPAIR_RETRY_MAX_MS);
  }

  /** docs/protocol.md §2.4 step 3. Returns how many messages it showed. */
  async #repairOnce(): Promise<number> {
    const { client, token } = this.#init;
    const { conversations } = await client.conversations({ token });
    let delivered = 0;
    for (const c of conversations) {
      let cursor = this.#confirmed.get(c.with) ?? 0;
      if (c.lastId <= cursor) continue;
      for (;;) {
        const page = await client.history({ token, with: c.with, afterId: cursor, limit: HISTORY_MAX_LIMIT });
        if (this.#closed) return delivered;
        for (const m of page.messages) if (m.id > cursor && this.#offer(m)) delivered++;
        const last = page.messages.at(-1)?.id;
        if (last === undefined || last <= cursor) break;
        cursor = last;
        if (!page.hasMore) break;
      }
      this.#confirm(c.with, cursor);
    }
    return delivered;
  }

  #confirm(partner: string, upTo: number): void {
    if (upTo <= (this.#confirmed.get(partner) ?? 0)) return;
    this.#confirmed.set(partner, upTo);
    const seen = this.#seen.get(partner);
    if (seen === undefined) return;
    for (const id of seen) if (id <= upTo) seen.delete(id);
  }

  #emit(event: LiveEvent): void {
    try {
      this.#init.handler(event);
    } catch {
      // A handler's bug must not stop delivery of later events.
    }
  }
}
