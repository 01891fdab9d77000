/**
 * A closed-loop load generator: `senders` concurrent loops, each issuing one
 * operation, awaiting it, and issuing the next, until the level's time or
 * count bound is reached. Latencies of successful operations go into an HDR
 * histogram (microsecond resolution); failures are counted, not timed.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import { performance } from 'node:perf_hooks';

/** Latencies above a minute are not a latency but an outage; they saturate at this bound. */
const HIGHEST_TRACKABLE_US = 60_000_000;
/** Three significant digits: 0.1% error on every recorded latency. */
const SIGNIFICANT_DIGITS = 3;

export interface LoadLevelOptions {
  readonly senders: number;
  /** Stop issuing new operations after this long. */
  readonly durationMs: number;
  /** Stop issuing new operations after this many (across all senders). */
  readonly maxOperations: number;
  /** One operation of sender `sender`; its `seq` is unique within the level. Throwing counts as an error. */
  readonly operation: (sender: number, seq: number) => Promise<void>;
}

export interface LoadLevelResult {
  readonly senders: number;
  /** Operations that succeeded. */
  readonly completed: number;
  readonly errors: number;
  /** First error message seen, to tell the operator why errors happened. */
  readonly firstError: string | null;
  /** From the first issue to the last completion. */
  readonly elapsedMs: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export async function runLoadLevel(options: LoadLevelOptions): Promise<LoadLevelResult> {
  const histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
  });
  try {
    let issued = 0;
    let completed = 0;
    let errors = 0;
    let firstError: string | null = null;
    const start = performance.now();
    const deadline = start + options.durationMs;
    const loop = async (sender: number): Promise<void> => {
      while (performance.now() < deadline && issued < options.maxOperations) {
        const seq = issued++;
        const t0 = performance.now();
        try {
          await options.operation(sender, seq);
          histogram.recordValue(Math.min(HIGHEST_TRACKABLE_US, Math.max(1, Math.round((performance.now() - t0) * 1_000))));
          completed += 1;
        } catch (err) {
          errors += 1;
          firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: options.senders }, (_, i) => loop(i)));
    const elapsedMs = performance.now() - start;
    return {
      senders: options.senders,
      completed,
      errors,
      firstError,
      elapsedMs,
      perSecond: elapsedMs > 0 ? (completed * 1_000) / elapsedMs : 0,
      p50Ms: completed > 0 ? percentileUs(histogram, 50) / 1_000 : 0,
      p99Ms: completed > 0 ? percentileUs(histogram, 99) / 1_000 : 0,
      maxMs: completed > 0 ? histogram.maxValue / 1_000 : 0,
    };
  } finally {
    histogram.destroy();
  }
}

/**
 * A percentile, never above the recorded maximum: HDR reports the top of the
 * value's bucket (0.1% above it at most), which could otherwise exceed `max`.
 */
function percentileUs(histogram: Histogram, percentile: number): number {
  return Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue);
}

/** The median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
