/**
 * The typed client of the quorumchat protocol (PROTOCOL.md, docs/protocol.md):
 * one method per op, typed requests and replies, typed errors, `send` with
 * retries under one requestId, and live delivery.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { NatsLink, type LinkStatus } from '../transport/nats-connection.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';
import {
  AnsweredBySchema,
  apiSubject,
  errorFromCode,
  ErrorReplySchema,
  isChatOp,
  isProtocolError,
  OPS,
  Opener,
  parseRequest,
  replicaApiSubject,
  REPLY_KEY_FIELD,
  SealError,
  sealKeyPairFrom,
  SEAL_KEY_BYTES,
  statusSubject,
  StatusReply,
  type Op,
  type ReplyOf,
  type RequestOf,
} from '../protocol/index.ts';
import { InternalError, NotSealedError, UnavailableError } from './errors.ts';
import { LiveSession, type LiveHandler, type LiveOptions } from './live.ts';
import { SendRetryPolicy, type SendPolicyMode, type SendTiming } from './send-policy.ts';

/** Longer than the replicas' default request deadline (5 s), so a held request returns `unavailable` with a reason, not a NATS timeout. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** How long `send` keeps retrying one requestId through `unavailable`: several elections' worth. */
const DEFAULT_SEND_DEADLINE_MS = 30_000;
/** Tokens whose username (and live key) this client remembers from `login` (for `live`); the oldest are forgotten first. */
const REMEMBERED_LOGINS = 10_000;
/**
 * docs/protocol.md §2.5: the refusals a sealing replica sends in the clear, because it sends
 * them before it has read (or when it cannot use) the request's `replyKey`. None carries
 * anything but the refusal; any other clear reply to a sealed request is refused.
 */
const CLEAR_REFUSALS: ReadonlySet<string> = new Set(['bad_request', 'too_large', 'unavailable']);
/** Replicas remembered as having answered (for aiming a retry): far more than a cluster has. */
const REMEMBERED_RESPONDERS = 64;
/**
 * A reply from a replica this client does not know as a member makes it ask
 * `cluster` for the members, at most this often: a client that only ever
 * heard from the leader (it holds most of the queue group) still has
 * followers to aim a retry at when that leader stops answering.
 */
const MEMBERS_REFRESH_MIN_MS = 10_000;

export interface ChatClientOptions {
  readonly servers: string | readonly string[];
  /** The cluster's subject prefix (PROTOCOL.md), default `quorumchat`. */
  readonly prefix?: string;
  /** Per-request NATS timeout; for `send`, the cap of each attempt's adaptive timeout (send-policy.ts). */
  readonly timeoutMs?: number;
  /** Default deadline of `send`'s retries. */
  readonly sendDeadlineMs?: number;
  /** How long each attempt of `send` waits (send-policy.ts): a few times the recent p99 (default), or all of `timeoutMs` as before issue 9. */
  readonly sendAttempts?: SendPolicyMode;
  /** Shown on the NATS server's monitoring pages. */
  readonly name?: string;
  /** Keep trying when no NATS server answers yet (e.g. a UI started before the cluster); default: fail at once. */
  readonly waitOnFirstConnect?: boolean;
  /** `nats.auth` / `nats.tls` (config/nats-security.ts); unset parts come from QUORUMCHAT_NATS_*, else none. */
  readonly security?: NatsSecuritySettings | undefined;
}

export type SendInput = Omit<RequestOf<'send'>, 'requestId'> & { readonly requestId?: string };

export interface SendOptions {
  /** How long to keep retrying; default the client's `sendDeadlineMs`. */
  readonly deadlineMs?: number;
  /**
   * Told each time `send` decides to retry, before its back-off pause:
   * `attempt` counts retries from 1 (the request itself is attempt 0) and
   * `cause` is the `unavailable` that made it retry. Every retry carries the
   * same requestId, so the message still commits once. A throwing callback
   * does not stop the send.
   */
  readonly onRetry?: (attempt: number, cause: UnavailableError) => void;
}

/** docs/protocol.md §1.1: who answered one reply. */
export interface Answer {
  /** The subject's last token: the op (`send`, `history`, ...), or `status`. */
  readonly op: string;
  /** Whether the reply was `ok: true`. */
  readonly ok: boolean;
  /** The replica that answered (for a forwarded request, the one that received it). */
  readonly replica: string;
  /** The leader that replica knew of when it answered; null when it knew none or did not say. */
  readonly leader: string | null;
}

export class ChatClient {
  readonly prefix: string;
  readonly #link: NatsLink;
  readonly #ownsLink: boolean;
  readonly #timeoutMs: number;
  readonly #sendDeadlineMs: number;
  readonly #usernames = new Map<string, string>();
  /** Per token from this client's `login`: the key its session's live frames are sealed to. */
  readonly #liveKeys = new Map<string, Opener>();
  /** This connection's reply key (docs/protocol.md §2.5): every request carries its public half as `replyKey`. */
  readonly #replyKey = new Opener(sealKeyPairFrom(randomBytes(SEAL_KEY_BYTES)));
  readonly #lives = new Set<LiveSession>();
  /** Replicas that answered this client, the most recent last (`send` aims retries at them, docs/protocol.md §1.2). */
  readonly #responders = new Set<string>();
  readonly #answerListeners = new Set<(answer: Answer) => void>();
  #lastAnswer: Answer | null = null;
  /** The cluster's members as the latest `cluster` reply listed them (more replicas for `send` to aim a retry at). */
  #members: ReadonlySet<string> = new Set();
  #membersAskedAt = Number.NEGATIVE_INFINITY;
  /** `send`'s attempt timeouts and pauses, learnt from this client's own reply times. */
  readonly #sendPolicy: SendRetryPolicy;

  private constructor(link: NatsLink, ownsLink: boolean, options: Omit<ChatClientOptions, 'servers'>) {
    this.#link = link;
    this.#ownsLink = ownsLink;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#sendDeadlineMs = options.sendDeadlineMs ?? DEFAULT_SEND_DEADLINE_MS;
    this.#sendPolicy = new SendRetryPolicy(options.sendAttempts ?? 'adaptive');
  }

  /** Connects to NATS (failing if no server answers, unless `waitOnFirstConnect`) and returns a client that reconnects forever. */
  static async connect(options: ChatClientOptions): Promise<ChatClient> {
    const link = await NatsLink.connect({
      servers: options.servers,
      name: options.name ?? 'quorumchat-client',
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
      security: options.security,
    });
    return new ChatClient(link, true, options);
  }

  /** A client over an existing link (shared with other users of the connection; `close` leaves it open). */
  static over(link: NatsLink, options: Omit<ChatClientOptions, 'servers'> = {}): ChatClient {
    return new ChatClient(link, false, options);
  }

  /** The NATS connection's state, for the UI. */
  get status(): LinkStatus {
    return this.#link.status;
  }

  onStatus(listener: (status: LinkStatus) => void): () => void {
    return this.#link.onStatus(listener);
  }

  /** Who answered the latest reply that said so (docs/protocol.md §1.1); null before any. */
  get lastAnswer(): Answer | null {
    return this.#lastAnswer;
  }

  /**
   * Told who answered each reply that names its replica, success or error,
   * before the call returns or throws. Returns an unsubscribe function; a
   * throwing listener does not affect the call.
   */
  onAnswer(listener: (answer: Answer) => void): () => void {
    this.#answerListeners.add(listener);
    return () => this.#answerListeners.delete(listener);
  }

  /** The underlying connection (e.g. for the benchmark's own measurements). */
  get nc(): NatsConnection {
    return this.#link.nc;
  }

  register(request: RequestOf<'register'>): Promise<ReplyOf<'register'>> {
    return this.request('register', request);
  }

  /**
   * Logs in with a fresh `liveKey` (docs/protocol.md §2.5): one key pair per session, made
   * here; a `liveKey` in `request` is replaced, since only the key this client holds can open
   * the session's frames. `live(token)` then opens them.
   */
  async login(request: RequestOf<'login'>): Promise<ReplyOf<'login'>> {
    const liveKey = new Opener(sealKeyPairFrom(randomBytes(SEAL_KEY_BYTES)));
    const reply = await this.request('login', { ...request, liveKey: liveKey.publicKey });
    this.#usernames.set(reply.token, reply.username);
    this.#liveKeys.set(reply.token, liveKey);
    if (this.#usernames.size > REMEMBERED_LOGINS) this.#usernames.delete(this.#usernames.keys().next().value ?? '');
    if (this.#liveKeys.size > REMEMBERED_LOGINS) this.#liveKeys.delete(this.#liveKeys.keys().next().value ?? '');
    return reply;
  }

  async logout(request: RequestOf<'logout'>): Promise<ReplyOf<'logout'>> {
    const reply = await this.request('logout', request);
    this.#usernames.delete(request.token);
    this.#liveKeys.delete(request.token);
    return reply;
  }

  accounts(request: RequestOf<'accounts'>): Promise<ReplyOf<'accounts'>> {
    return this.request('accounts', request);
  }

  /**
   * Sends a message exactly once: on `unavailable` (including NATS timeouts and
   * disconnections) it retries with the same requestId until the deadline;
   * then the last `UnavailableError` is thrown. Any other error is thrown at
   * once. `options.onRetry` is told of each retry.
   *
   * Each attempt waits only a few times the recent p99 reply time (at most
   * the client's `timeoutMs`), and a timed-out attempt is retried at once:
   * a request the queue group handed to a replica behind a dead route is
   * lost, and the next one likely reaches a replica that answers. An
   * `unavailable` answer is retried after a doubling pause instead
   * (send-policy.ts says why, with the numbers).
   */
  async send(input: SendInput, options: SendOptions = {}): Promise<ReplyOf<'send'>> {
    const request: RequestOf<'send'> = { ...input, requestId: input.requestId ?? randomUUID() };
    const deadline = Date.now() + (options.deadlineMs ?? this.#sendDeadlineMs);
    let timeouts = 0;
    let refusals = 0;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let pause: number;
      try {
        const aim = timeouts === 0 ? undefined : this.#aimAt(attempt);
        const reply = await this.request('send', request, this.#sendPolicy.attemptTimeout(timeouts, this.#timeoutMs, deadline - Date.now()), aim);
        this.#sendPolicy.recordReply(performance.now() - started);
        return reply;
      } catch (err) {
        if (!(err instanceof UnavailableError)) throw err;
        const failure = err.cause instanceof TimeoutError ? 'timeout' : 'unavailable';
        pause = this.#sendPolicy.pauseAfter(failure, refusals, timeouts + refusals);
        if (failure === 'timeout') timeouts += 1;
        else refusals += 1;
        if (deadline - Date.now() <= pause) throw err;
        tell(options.onRetry, attempt, err);
      }
      if (pause > 0) await sleep(pause);
    }
  }

  /**
   * Where a retry after a timeout goes (docs/protocol.md §1.2): a replica that
   * answered this client lately, other than the leader it last heard of, in
   * turn, then the other members `cluster` listed; or the queue group when
   * there is none. Why: the queue group hands most requests to the leader
   * (its share, actors/replica/leader-share.ts), so while the leader is paused
   * or behind a dead route most retries through the group vanish too, and
   * each lengthens the next attempt; a follower forwards to whichever leader
   * there is now.
   */
  #aimAt(attempt: number): string | undefined {
    const leader = this.#lastAnswer?.leader ?? null;
    const responders = [...this.#responders].reverse();
    const others = [...this.#members].filter((id) => !this.#responders.has(id));
    const candidates = [...responders, ...others].filter((id) => id !== leader);
    return candidates.length === 0 ? undefined : candidates[attempt % candidates.length];
  }

  /** What `send`'s retry policy currently thinks: the recent p99 reply time and the next first attempt's timeout. */
  get sendTiming(): SendTiming {
    return this.#sendPolicy.timing();
  }

  history(request: RequestOf<'history'>): Promise<ReplyOf<'history'>> {
    return this.request('history', request);
  }

  conversations(request: RequestOf<'conversations'>): Promise<ReplyOf<'conversations'>> {
    return this.request('conversations', request);
  }

  markRead(request: RequestOf<'markRead'>): Promise<ReplyOf<'markRead'>> {
    return this.request('markRead', request);
  }

  deleteMessages(request: RequestOf<'deleteMessages'>): Promise<ReplyOf<'deleteMessages'>> {
    return this.request('deleteMessages', request);
  }

  async deleteAccount(request: RequestOf<'deleteAccount'>): Promise<ReplyOf<'deleteAccount'>> {
    const reply = await this.request('deleteAccount', request);
    this.#usernames.delete(request.token);
    this.#liveKeys.delete(request.token);
    return reply;
  }

  async cluster(): Promise<ReplyOf<'cluster'>> {
    const reply = await this.request('cluster', {});
    this.#members = new Set(reply.members.map((m) => m.id));
    return reply;
  }

  /** One replica's status (`<prefix>.replica.<id>.status`); `UnavailableError` if it does not answer. */
  replicaStatus(replicaId: string): Promise<StatusReply> {
    return this.#call(statusSubject(this.prefix, replicaId), '{}', StatusReply, this.#timeoutMs);
  }

  /**
   * Live delivery for a logged-in session (docs/protocol.md §2): each new
   * message once, read marks, deletions, and `repaired` after each gap repair.
   * `username` defaults to the one this client's `login` returned for `token`.
   * A session this client logged in is sealed (§2.5): its frames are opened with
   * the session's key and clear frames are refused; a token from elsewhere has no
   * key here and takes clear frames, as before.
   */
  live(token: string, handler: LiveHandler, options: LiveOptions & { readonly username?: string } = {}): LiveSession {
    const username = options.username ?? this.#usernames.get(token);
    if (username === undefined) throw new TypeError('live: unknown token; log in with this client first or pass options.username');
    const liveKey = this.#liveKeys.get(token) ?? null;
    const session = new LiveSession({ client: this, link: this.#link, prefix: this.prefix, token, username, handler, options, liveKey });
    this.#lives.add(session);
    void session.closed.then(() => this.#lives.delete(session));
    return session;
  }

  /**
   * A raw typed request for any op, with the reply checked against the protocol.
   * The body is first validated with the replica's own schemas
   * (actors/protocol/requests.ts): one that a replica would refuse rejects at
   * once with the same `BadRequestError` or `TooLargeError`, without a round
   * trip. The body is sent as given (defaults are the replica's to fill in),
   * with this connection's `replyKey`: the reply comes back sealed to it
   * (docs/protocol.md §2.5) and a clear one is refused (`NotSealedError`),
   * except the refusals a replica sends before it can read the key.
   */
  async request<O extends Op>(op: O, body: RequestOf<O>, timeoutMs = this.#timeoutMs, replica?: string): Promise<ReplyOf<O>> {
    // Validate the JSON that is sent, not the object: JSON.stringify turns a Date into a string
    // and NaN into null, and the replica sees only what arrives.
    const payload = JSON.stringify({ ...body, [REPLY_KEY_FIELD]: this.#replyKey.publicKey });
    if (isChatOp(op)) {
      const refused = parseRequest(op, JSON.parse(payload));
      if (isProtocolError(refused)) throw refused;
    }
    const subject = replica === undefined ? apiSubject(this.prefix, op) : replicaApiSubject(this.prefix, replica, op);
    return this.#call(subject, payload, OPS[op].reply as unknown as z.ZodType<ReplyOf<O>>, timeoutMs, true);
  }

  /** Stops every live session, then closes the connection if this client opened it. */
  async close(): Promise<void> {
    await Promise.all([...this.#lives].map((l) => l.close()));
    if (this.#ownsLink) await this.#link.close();
  }

  /**
   * A reply to a request that carried `replyKey`, opened (docs/protocol.md §2.5): the sealed
   * envelope's content, bound to the inbox subject it arrived on; a clear refusal a sealing
   * replica may send; or NotSealedError / InternalError. Never a silent downgrade.
   */
  #unseal(subject: string, replySubject: string, reply: unknown): unknown {
    if (typeof reply !== 'object' || reply === null) return reply; // the checks in #call name the problem
    const parsed = reply as ParsedReply;
    if (!Object.hasOwn(parsed, 'sealed')) {
      const code = ErrorReplySchema.safeParse(reply).data?.error.code;
      if (parsed['ok'] === false && code !== undefined && CLEAR_REFUSALS.has(code)) return reply;
      throw new NotSealedError(`${subject}: the reply came in the clear though this client asked for it sealed (a replica older than sealing?); refused`);
    }
    const opened = this.#replyKey.open(parsed['sealed'], 'reply', replySubject);
    if (opened instanceof SealError) throw new InternalError(`${subject}: the sealed reply does not open: ${opened.message}`, { cause: opened });
    try {
      return JSON.parse(opened.toString('utf8')) as unknown;
    } catch (err) {
      throw new InternalError(`${subject}: the sealed reply holds no JSON`, { cause: err });
    }
  }

  #noteAnswer(subject: string, reply: unknown): void {
    const named = AnsweredBySchema.safeParse(reply);
    if (!named.success) return;
    const answer: Answer = {
      op: subject.slice(subject.lastIndexOf('.') + 1),
      ok: (reply as { ok?: unknown }).ok === true,
      replica: named.data.replica,
      leader: named.data.leader ?? null,
    };
    this.#lastAnswer = answer;
    // A Set keeps insertion order: deleting first moves the replica to the end, the most recent.
    this.#responders.delete(answer.replica);
    this.#responders.add(answer.replica);
    if (this.#responders.size > REMEMBERED_RESPONDERS) this.#responders.delete(this.#responders.values().next().value ?? '');
    for (const listener of this.#answerListeners) tell(listener, answer);
    this.#learnMembersAfter(answer);
  }

  /** Asks `cluster` in the background when `answer` came from a replica not yet known as a member (MEMBERS_REFRESH_MIN_MS). */
  #learnMembersAfter(answer: Answer): void {
    if (answer.op === 'cluster' || this.#members.has(answer.replica)) return;
    const now = performance.now();
    if (now - this.#membersAskedAt < MEMBERS_REFRESH_MIN_MS) return;
    this.#membersAskedAt = now;
    // Best effort: without the list, retries aim only at replicas that answered.
    this.cluster().catch(() => undefined);
  }

  async #call<T>(subject: string, payload: string, schema: z.ZodType<T>, timeoutMs: number, sealed = false): Promise<T> {
    let data: Uint8Array;
    let replySubject: string;
    try {
      const msg = await this.#link.nc.request(subject, payload, { timeout: timeoutMs });
      data = msg.data;
      replySubject = msg.subject;
    } catch (err) {
      throw new UnavailableError(`${subject}: ${(err as Error).message}`, { cause: err });
    }
    let reply: unknown;
    try {
      reply = JSON.parse(new TextDecoder().decode(data));
    } catch (err) {
      throw new InternalError(`${subject}: the reply is not JSON`, { cause: err });
    }
    if (sealed) reply = this.#unseal(subject, replySubject, reply);
    this.#noteAnswer(subject, reply);
    if (typeof reply === 'object' && reply !== null && (reply as { ok?: unknown }).ok === false) {
      const parsed = ErrorReplySchema.safeParse(reply);
      if (!parsed.success) throw new InternalError(`${subject}: an error reply that does not follow the protocol: ${z.prettifyError(parsed.error)}`);
      throw errorFromCode(parsed.data.error.code, parsed.data.error.message);
    }
    if (typeof reply !== 'object' || reply === null || (reply as { ok?: unknown }).ok !== true) {
      throw new InternalError(`${subject}: the reply has no "ok": true or false`);
    }
    const parsed = schema.safeParse(reply);
    if (!parsed.success) throw new InternalError(`${subject}: the reply does not follow the protocol: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }
}

/** A reply parsed as JSON with this helper's input: an object, possibly with a `sealed` envelope. */
type ParsedReply = Record<string, unknown>;

/** Calls a caller's callback; its bug must not change the outcome of the call that reports to it. */
function tell<A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void {
  if (callback === undefined) return;
  try {
    callback(...args);
  } catch {
    // Deliberately ignored: see SendOptions.onRetry and onAnswer.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
