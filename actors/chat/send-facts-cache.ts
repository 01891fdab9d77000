/**
 * What the leader's prepare of a `send` needs to know (the sender's session
 * and that the recipient exists), kept in memory from earlier prepares, so a
 * steady stream of sends from known sessions skips the read before proposing.
 *
 * Why: that read was the one round trip to SQLite's thread per send on the
 * leader (everything else on its path is per batch): 0.71 ms of a send at
 * one writer, and at 64 writers one of the hand-offs to SQLite's thread that
 * held 8.6% of the leader's profile (docs/notebook.md, "The leader's read
 * before each send").
 *
 * Never the authority: the apply re-checks the session, the recipient and
 * the requestId in the send's own statement (apply.ts SEND_SQL) and answers
 * exactly what prepare would have. A stale entry can only let a send into
 * the log that the apply then refuses with the same error; it can never
 * make the apply accept what it should refuse. `forget`, which the
 * application calls whenever it applies a command that can remove a session
 * or an account, keeps the memory to the committed state; FACTS_TTL_MS bounds
 * what it cannot see (a snapshot installed behind it).
 *
 * A hit does not look up earlier sends of the same requestId: a repeated
 * send then enters the log and the apply answers it with the original
 * message (apply.ts `whyNotSent`), the reply prepare would have given.
 */
import type { SessionRow } from './sessions.ts';

/** How long a remembered fact is used: bounds how long a stale one can send doomed entries to the log. */
export const FACTS_TTL_MS = 2_000;
/** Sessions remembered at most; beyond it the oldest is forgotten first. */
export const MAX_REMEMBERED_SESSIONS = 4_096;
/** Recipients remembered at most; beyond it the oldest is forgotten first. */
export const MAX_REMEMBERED_RECIPIENTS = 4_096;

/** What `readToken` hands out: the generation a read began in, or NOT_REMEMBERED. */
export type ReadToken = number;
/** A read begun while a forget was not committed yet: never remembered (generations count from 0). */
const NOT_REMEMBERED: ReadToken = -1;

interface Remembered<T> {
  readonly value: T;
  readonly until: number;
}

export class SendFactsCache {
  #generation = 0;
  /** A forget whose apply transaction has not committed yet: a read begun now could see the state before it. */
  #unsettled = false;
  readonly #sessions = new Map<string, Remembered<SessionRow>>();
  readonly #recipients = new Map<string, Remembered<true>>();

  /**
   * Taken before a read whose result may be remembered: `remember` drops it if `forget` ran
   * since, or if it was taken between a `forget` and the commit of that apply (`committed`).
   */
  readToken(): ReadToken {
    return this.#unsettled ? NOT_REMEMBERED : this.#generation;
  }

  /**
   * The sender's session row, if it and the recipient are both remembered and
   * fresh at `now`; else null (read them). The caller still applies the
   * session's own rules (`sessionFrom`: expiry).
   */
  lookup(tokenHash: string, to: string, now: number): SessionRow | null {
    const session = fresh(this.#sessions, tokenHash, now);
    if (session === null || fresh(this.#recipients, to, now) === null) return null;
    return session;
  }

  /**
   * Remembers what a read found: the session of `tokenHash`, and `to` when it
   * exists. Dropped when `forget` ran after `generation` was taken, since the
   * read may have seen the state before that change.
   */
  remember(token: ReadToken, tokenHash: string, session: SessionRow | null, to: string | null, now: number): void {
    if (token !== this.#generation) return;
    const until = now + FACTS_TTL_MS;
    if (session !== null) put(this.#sessions, tokenHash, { value: { username: session.username, expires_ts: session.expires_ts }, until }, MAX_REMEMBERED_SESSIONS);
    if (to !== null) put(this.#recipients, to, { value: true, until }, MAX_REMEMBERED_RECIPIENTS);
  }

  /**
   * A session or an account may go (called while the apply runs): forget everything, and what
   * any read begun before the apply's transaction commits finds.
   */
  forget(): void {
    this.#generation += 1;
    this.#unsettled = true;
    this.#sessions.clear();
    this.#recipients.clear();
  }

  /** The apply transaction that called `forget` has committed: reads begun from now see its changes. */
  committed(): void {
    this.#unsettled = false;
  }

  get size(): { readonly sessions: number; readonly recipients: number } {
    return { sessions: this.#sessions.size, recipients: this.#recipients.size };
  }
}

function fresh<T>(map: Map<string, Remembered<T>>, key: string, now: number): T | null {
  const entry = map.get(key);
  if (entry === undefined) return null;
  if (now < entry.until) return entry.value;
  map.delete(key);
  return null;
}

function put<T>(map: Map<string, Remembered<T>>, key: string, entry: Remembered<T>, max: number): void {
  map.delete(key);
  map.set(key, entry);
  if (map.size > max) map.delete(map.keys().next().value as string);
}
