/**
 * A closed-loop load generator: `senders` concurrent loops, each issuing one
 * operation, awaiting it, and issuing the next. `runLoadLevel` runs a
 * warm-up, then a measured window, as the peer harness does: operations that
 * complete inside the window are counted and their latencies go into an HDR
 * histogram (microsecond resolution); failures are counted, not timed.
 */
import { build } from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';
import { latencySummary } from './figures.ts';

/** Kept here too: callers imported it from load.ts before figures.ts existed. */
export { median } from './figures.ts';

/** Latencies above a minute are not a latency but an outage; they saturate at this bound. */
const HIGHEST_TRACKABLE_US = 60_000_000;
/** Three significant digits: 0.1% error on every recorded latency. */
const SIGNIFICANT_DIGITS = 3;
/**
 * After a failed operation a sender waits this long before its next one, as
 * the peer harness does: a cluster answering errors at once would otherwise
 * be hammered by a tight loop that measures nothing.
 */
export const ERROR_PAUSE_MS = 20;

export interface ClosedLoopOptions {
  readonly senders: number;
  /** Checked before each new operation: true stops that sender. */
  readonly stopIssuing: () => boolean;
  /** One operation of sender `sender`; its `seq` is unique within the loop. Throwing counts as an error. */
  readonly operation: (sender: number, seq: number) => Promise<void>;
  /** Told of every operation when it ends: when it was issued, when it ended, and its error if it failed. */
  readonly onDone: (issuedAt: number, doneAt: number, error: unknown) => void;
}

/** Runs the senders until each sees `stopIssuing()`; resolves when their last operations have ended. Returns how many were issued. */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<number> {
  let issued = 0;
  const loop = async (sender: number): Promise<void> => {
    while (!options.stopIssuing()) {
      const seq = issued++;
      const issuedAt = performance.now();
      try {
        await options.operation(sender, seq);
        options.onDone(issuedAt, performance.now(), undefined);
      } catch (err) {
        options.onDone(issuedAt, performance.now(), err ?? new Error('operation failed'));
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: options.senders }, (_, i) => loop(i)));
  return issued;
}

export interface LoadLevelOptions {
  readonly senders: number;
  /** Operations before the measured window: caches, JIT and group commit settle. Default 0. */
  readonly warmupMs?: number;
  /** The measured window's length; no operation is issued after it. */
  readonly durationMs: number;
  /** Stop issuing new operations after this many (across all senders, warm-up included). */
  readonly maxOperations: number;
  readonly operation: (sender: number, seq: number) => Promise<void>;
  /** Called when the measured window opens and when it closes, e.g. to sample CPU counters. */
  readonly window?: { readonly onOpen: () => void; readonly onClose: () => void };
}

export interface LoadLevelResult {
  readonly senders: number;
  /** Operations that succeeded inside the measured window. */
  readonly completed: number;
  /** Operations that failed inside the measured window. */
  readonly errors: number;
  /** First error message seen (warm-up included), to tell the operator why errors happened. */
  readonly firstError: string | null;
  /** The measured window: from its opening to its close (earlier if `maxOperations` ran out). */
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export async function runLoadLevel(options: LoadLevelOptions): Promise<LoadLevelResult> {
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
  });
  try {
    let completed = 0;
    let errors = 0;
    let firstError: string | null = null;
    let issued = 0;
    const start = performance.now();
    const opensAt = start + (options.warmupMs ?? 0);
    const closesAt = opensAt + options.durationMs;
    let openedAt: number | null = null;
    let closedAt: number | null = null;
    const open = (): void => {
      if (openedAt !== null) return;
      openedAt = performance.now();
      options.window?.onOpen();
    };
    const close = (): void => {
      if (closedAt !== null) return;
      open(); // a level that ran out of operations during warm-up still has a (short) window
      closedAt = performance.now();
      options.window?.onClose();
    };
    // Timers rather than checks in the loop: the window opens and closes on time even if every sender is waiting.
    const openTimer = setTimeout(open, Math.max(0, opensAt - performance.now()));
    const closeTimer = setTimeout(close, Math.max(0, closesAt - performance.now()));
    if ((options.warmupMs ?? 0) === 0) open();
    try {
      await runClosedLoop({
        senders: options.senders,
        stopIssuing: () => closedAt !== null || performance.now() >= closesAt || issued >= options.maxOperations,
        operation: (sender, seq) => {
          issued += 1;
          return options.operation(sender, seq);
        },
        onDone: (issuedAt, doneAt, error) => {
          if (error !== undefined) firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          // Only what ends inside the window counts: warm-up operations, and those still in flight when it closes, do not.
          if (openedAt === null || closedAt !== null) return;
          if (error === undefined) {
            completed += 1;
            histogram.recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(1, Math.round((doneAt - issuedAt) * 1_000))));
          } else {
            errors += 1;
          }
        },
      });
    } finally {
      clearTimeout(openTimer);
      clearTimeout(closeTimer);
    }
    close(); // every sender stopped early (maxOperations): the window ends with the last operation
    const elapsedMs = (closedAt ?? 0) - (openedAt ?? 0);
    return {
      senders: options.senders,
      completed,
      errors,
      firstError,
      elapsedMs,
      perSecond: elapsedMs > 0 ? (completed * 1_000) / elapsedMs : 0,
      ...latencySummary(histogram),
    };
  } finally {
    histogram.destroy();
  }
}
