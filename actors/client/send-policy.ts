/**
 * How long one attempt of `send` waits for a reply, and how long `send`
 * pauses before the next attempt: the client-side half of issue 9's
 * availability work, kept apart from the NATS code so it can be tested with
 * numbers instead of clocks.
 *
 * Why short attempts: a request the `<prefix>.api` queue group hands to a
 * replica behind a cut NATS route vanishes without an answer, and nats-server
 * keeps handing requests to it until it notices the route is dead (seconds,
 * docs/deploy.md). Waiting the full request timeout for each lost request
 * made majority-side clients idle for most of a partition. Retrying after a
 * few times the recent p99 reply time instead costs, when the request was
 * only slow, one duplicate under the same requestId, which the replicas
 * de-duplicate (exactly-once), so being wrong is cheap and being right saves
 * seconds.
 *
 * The policy holds no clock: callers pass the latencies they measured. It is
 * per client (no module-level state), because clients on different servers
 * see different latencies.
 */

/**
 * Replies remembered for the p99: 200 gives a p99 that rests on two samples
 * and follows a change of load within a few seconds at tens of sends a second.
 */
export const LATENCY_WINDOW = 200;
/** Below this many samples a "p99" is just the maximum of a handful; INITIAL_ATTEMPT_MS is used instead. */
export const MIN_SAMPLES = 20;
/**
 * An attempt waits this many times the recent p99: a reply that much slower
 * than almost every recent one is far more likely lost than late.
 */
export const P99_MULTIPLIER = 4;
/**
 * The shortest attempt: a commit needs two round trips between hosts (the
 * forward to the leader and the append to a majority, 80 ms at 40 ms RTT)
 * plus a garbage-collection pause or a scheduling delay on a loaded machine;
 * below 250 ms duplicates would be routine rather than the exception.
 */
export const MIN_ATTEMPT_MS = 250;
/** Before MIN_SAMPLES replies were seen: long enough for a cold cluster's first commit, short against the old 3–10 s. */
export const INITIAL_ATTEMPT_MS = 1_000;
/**
 * Each consecutive timeout within one send lengthens the next attempt by this
 * factor (up to the client's request timeout): a cluster that is slow rather
 * than lossy (an election, a loaded leader) gets ever longer attempts instead
 * of a stream of duplicates, while the first retries after a lost request stay
 * quick. 1.5 rather than 2: four lost requests in a row (40% of requests down
 * dead routes) still cost under 3 s at 250 ms.
 */
export const ATTEMPT_GROWTH = 1.5;
/**
 * Pause before retrying after a timeout: none, the attempt already waited,
 * and the next attempt may reach a replica that answers.
 */
export const PAUSE_AFTER_TIMEOUT_MS = 0;
/**
 * Pause after a replica answered `unavailable` (or NATS found no responder):
 * the cluster said it cannot commit now (an election, no quorum), so asking
 * again at once only adds load; doubling from 100 ms to at most 2 s, as before.
 */
export const PAUSE_MIN_MS = 100;
export const PAUSE_MAX_MS = 2_000;

/** How one attempt ended, for the policy: no reply in time, or a reply (or NATS) saying the cluster cannot serve now. */
export type AttemptFailure = 'timeout' | 'unavailable';

/** What the policy currently thinks, for a UI or a measurement. */
export interface SendTiming {
  /** The p99 of the remembered reply times; null until MIN_SAMPLES. */
  readonly p99Ms: number | null;
  /** The first attempt's timeout of the next send (before the client's own cap). */
  readonly attemptMs: number;
  readonly samples: number;
}

/**
 * `fixed`: every attempt waits the client's whole request timeout and every
 * failure, timeout or not, is followed by the doubling pause: how `send`
 * worked before issue 9, kept for comparison (test/hosts/measure.ts
 * --fixed-attempts) and for a client that would rather wait than duplicate.
 */
export type SendPolicyMode = 'adaptive' | 'fixed';

export class SendRetryPolicy {
  readonly mode: SendPolicyMode;
  /** A ring of the last LATENCY_WINDOW reply times. */
  readonly #latencies: number[] = [];
  #next = 0;
  /** Cached p99; recomputed lazily after a new sample. */
  #p99: number | null = null;
  #stale = true;

  constructor(mode: SendPolicyMode = 'adaptive') {
    this.mode = mode;
  }

  /** Records how long a reply took (any reply the replicas gave, success or a refusal other than `unavailable`). */
  recordReply(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    if (this.#latencies.length < LATENCY_WINDOW) this.#latencies.push(latencyMs);
    else this.#latencies[this.#next] = latencyMs;
    this.#next = (this.#next + 1) % LATENCY_WINDOW;
    this.#stale = true;
  }

  /** The p99 of the remembered reply times (nearest rank); null below MIN_SAMPLES. */
  p99(): number | null {
    if (this.#latencies.length < MIN_SAMPLES) return null;
    if (this.#stale) {
      const sorted = [...this.#latencies].sort((a, b) => a - b);
      this.#p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? null;
      this.#stale = false;
    }
    return this.#p99;
  }

  /**
   * How long attempt `timeoutsSoFar + 1` of a send waits: P99_MULTIPLIER × p99
   * (INITIAL_ATTEMPT_MS before there is one), at least MIN_ATTEMPT_MS, grown
   * by ATTEMPT_GROWTH per timeout already suffered in this send, and never
   * more than `capMs` (the client's request timeout) or `remainingMs` (what is
   * left of the send's deadline), nor less than 1 ms.
   */
  attemptTimeout(timeoutsSoFar: number, capMs: number, remainingMs: number): number {
    if (this.mode === 'fixed') return Math.max(1, Math.floor(Math.min(capMs, remainingMs)));
    const p99 = this.p99();
    const base = Math.max(MIN_ATTEMPT_MS, p99 === null ? INITIAL_ATTEMPT_MS : Math.ceil(P99_MULTIPLIER * p99));
    const grown = base * ATTEMPT_GROWTH ** Math.max(0, timeoutsSoFar);
    return Math.max(1, Math.floor(Math.min(grown, capMs, remainingMs)));
  }

  /**
   * The pause before the next attempt, after `failure`. `unavailableSoFar`
   * counts the `unavailable` answers before this one in the same send, so
   * the back-off doubles per answer and is not reset by timeouts in between.
   * In `fixed` mode a timeout pauses too, and `failuresSoFar` (timeouts and
   * answers) sets the pause.
   */
  pauseAfter(failure: AttemptFailure, unavailableSoFar: number, failuresSoFar = unavailableSoFar): number {
    if (this.mode === 'fixed') return backOff(failuresSoFar);
    if (failure === 'timeout') return PAUSE_AFTER_TIMEOUT_MS;
    return backOff(unavailableSoFar);
  }

  timing(): SendTiming {
    return { p99Ms: this.p99(), attemptMs: this.attemptTimeout(0, Infinity, Infinity), samples: this.#latencies.length };
  }
}

function backOff(failuresBefore: number): number {
  return Math.min(PAUSE_MAX_MS, PAUSE_MIN_MS * 2 ** Math.max(0, failuresBefore));
}
