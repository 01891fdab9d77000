/**
 * Logs a recurring problem at most once per interval per key, with how many
 * occurrences were suppressed in between: a peer spraying garbage must not
 * turn the log into the bottleneck.
 */
import type { TransportLogger } from './types.ts';

/** One line per kind of problem per 10 s: enough to notice, too few to flood. */
export const DROP_LOG_INTERVAL_MS = 10_000;

export class RateLimitedLog {
  readonly #logger: TransportLogger;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #lastAt = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();

  constructor(logger: TransportLogger, intervalMs = DROP_LOG_INTERVAL_MS, now: () => number = Date.now) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Logs `msg` as a warning unless `key` was logged within the interval; returns whether it logged. */
  warn(key: string, fields: object, msg: string): boolean {
    const now = this.#now();
    const last = this.#lastAt.get(key);
    if (last !== undefined && now - last < this.#intervalMs) {
      this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
      return false;
    }
    const suppressed = this.#suppressed.get(key) ?? 0;
    this.#lastAt.set(key, now);
    this.#suppressed.delete(key);
    this.#logger.warn({ ...fields, ...(suppressed > 0 ? { suppressedSinceLast: suppressed } : {}) }, msg);
    return true;
  }
}
