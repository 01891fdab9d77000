/**
 * What the leader's prepare of a `send` needs to know (the sender's session
 * and that the recipient exists), kept in memory from earlier prepares, so a
 * steady stream of sends from known sessions skips the read before proposing.
 *
 * Why: that read was the one round trip to SQLite's thread per send on the
 * leader (everything else on its path is per batch); on this 2-core machine
 * a round trip that wakes the pool thread costs 0.1–0.7 ms of the leader's
 * main thread (docs/notebook.md, "The leader's read before each send").
 *
 * Never the authority: the apply re-checks the session, the recipient and
 * the requestId in the send's own statement (apply.ts SEND_SQL) and answers
 * exactly what prepare would have. A stale entry can only let a send into
 * the log that the apply then refuses with the same error; it can never
 * make the apply accept what it should refuse. So staleness is bounded, not
 * excluded: by FACTS_TTL_MS, and by `forget`, which the application calls
 * whenever it applies a command that can remove a session or an account.
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

interface Remembered<T> {
  readonly value: T;
  readonly until: number;
}

export class SendFactsCache {
  #generation = 0;
  readonly #sessions = new Map<string, Remembered<SessionRow>>();
  readonly #recipients = new Map<string, Remembered<true>>();

  /** Taken before a read whose result may be remembered: `remember` drops it if `forget` ran since. */
  get generation(): number {
    return this.#generation;
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
  remember(generation: number, tokenHash: string, session: SessionRow | null, to: string | null, now: number): void {
    if (generation !== this.#generation) return;
    const until = now + FACTS_TTL_MS;
    if (session !== null) put(this.#sessions, tokenHash, { value: { username: session.username, expires_ts: session.expires_ts }, until }, MAX_REMEMBERED_SESSIONS);
    if (to !== null) put(this.#recipients, to, { value: true, until }, MAX_REMEMBERED_RECIPIENTS);
  }

  /**
   * A session or an account may go: forget everything, and what any read begun before now finds.
   * Called while the apply runs, before its transaction commits, so a read begun in between may
   * still see the old state; FACTS_TTL_MS bounds that, and the apply is the authority.
   */
  forget(): void {
    this.#generation += 1;
    this.#sessions.clear();
    this.#recipients.clear();
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
