/**
 * The arithmetic of `quorumchat bench`'s figures, as pure functions: latency
 * percentiles from a histogram, CPU time from two samples of /proc, peak RSS
 * from a series of samples, and medians (of a list, and of several runs'
 * figures). Everything that reads a clock or /proc lives elsewhere
 * (./load.ts, ./proc.ts); this file only computes.
 */

/** The percentiles the report shows, as the peer harness prints them. */
export const REPORTED_PERCENTILES = [50, 99, 99.9] as const;

/** What a latency histogram must answer (hdr-histogram-js's Histogram does); values in microseconds. */
export interface PercentileSource {
  readonly totalCount: number;
  readonly maxValue: number;
  getValueAtPercentile(percentile: number): number;
}

export interface LatencySummary {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/**
 * p50, p99, p99.9 and max in milliseconds from a histogram recorded in
 * microseconds; all zero when nothing was recorded. A percentile is capped
 * at the recorded maximum: HDR answers with the top of the value's bucket
 * (at most 0.1% above it with three significant digits), which could
 * otherwise exceed `max` and make a table contradict itself.
 */
export function latencySummary(histogram: PercentileSource): LatencySummary {
  if (histogram.totalCount === 0) return { p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  const at = (percentile: number): number => Math.min(histogram.getValueAtPercentile(percentile), histogram.maxValue) / 1_000;
  return { p50Ms: at(50), p99Ms: at(99), p999Ms: at(99.9), maxMs: histogram.maxValue / 1_000 };
}

/** The median of a non-empty list (mean of the middle two for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The median of the values that exist; null when none does (a figure "n/a" in every run stays "n/a"). */
export function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : median(present);
}

/**
 * One process's CPU time as /proc/<pid>/stat counts it. `startTicks` (field
 * 22, when the process started) tells a process from a later one that was
 * given the same pid.
 */
export interface ProcessCpu {
  readonly pid: number;
  readonly startTicks: number;
  /** utime + stime (fields 14 and 15), in clock ticks. */
  readonly cpuTicks: number;
}

/**
 * CPU time, in milliseconds, that `after`'s processes spent between the two
 * samples, summed:
 * - a process in both samples counts its difference;
 * - a process only in `after` started inside the window: all of its time
 *   counts (a replica restarted during the window);
 * - a process only in `before` ended inside the window: its time after the
 *   first sample is unknown and left out (the report says which figures can
 *   undercount this way: none of the load levels kill anything).
 */
export function cpuMsBetween(before: readonly ProcessCpu[], after: readonly ProcessCpu[], ticksPerSecond: number): number {
  if (!(ticksPerSecond > 0)) throw new RangeError(`ticksPerSecond must be positive, got ${ticksPerSecond}`);
  const earlier = new Map(before.map((p) => [`${p.pid}/${p.startTicks}`, p.cpuTicks]));
  let ticks = 0;
  for (const p of after) {
    const then = earlier.get(`${p.pid}/${p.startTicks}`) ?? 0;
    // The kernel's counters never go back; a smaller value would be a mismatched sample.
    if (p.cpuTicks < then) throw new RangeError(`pid ${p.pid}: CPU ticks went back from ${then} to ${p.cpuTicks}`);
    ticks += p.cpuTicks - then;
  }
  return (ticks * 1_000) / ticksPerSecond;
}

/** CPU milliseconds per acknowledged send; null when nothing was acknowledged or CPU was not measured. */
export function cpuMsPerSend(cpuMs: number | null, sends: number): number | null {
  return cpuMs === null || sends <= 0 ? null : cpuMs / sends;
}

/** One RSS sample: resident KiB of each server process at one instant (a process that ended is absent). */
export type RssSample = ReadonlyMap<string, number>;

export interface RssPeak {
  /** The largest sum over the processes within one sample, MiB. */
  readonly peakSumMiB: number;
  /** Each process's own largest value, MiB (these peaks need not coincide in time). */
  readonly peakByProcessMiB: Readonly<Record<string, number>>;
}

/**
 * Peak RSS from a series of samples. The sum is taken per sample, so it is a
 * footprint the machine really held at one moment, not the sum of peaks
 * reached at different times.
 */
export function rssPeak(samples: readonly RssSample[]): RssPeak | null {
  if (samples.length === 0) return null;
  let peakSumKiB = 0;
  const peakByProcess = new Map<string, number>();
  for (const sample of samples) {
    let sum = 0;
    for (const [name, kib] of sample) {
      sum += kib;
      peakByProcess.set(name, Math.max(peakByProcess.get(name) ?? 0, kib));
    }
    peakSumKiB = Math.max(peakSumKiB, sum);
  }
  return {
    peakSumMiB: peakSumKiB / 1_024,
    peakByProcessMiB: Object.fromEntries([...peakByProcess].map(([name, kib]) => [name, kib / 1_024])),
  };
}

/**
 * The median of several runs, figure by figure: every numeric field of the
 * rows is replaced by the median of that field over the runs (null where no
 * run had it). Other fields are taken from the first run. The runs must have
 * the same shape (the same levels in the same order), which one bench
 * invocation guarantees.
 */
export function medianOfRuns<Row extends object>(runs: readonly (readonly Row[])[]): Row[] {
  const first = runs[0];
  if (first === undefined) throw new RangeError('median of no runs');
  if (runs.some((run) => run.length !== first.length)) throw new RangeError('runs of different lengths');
  return first.map((row, i) => {
    const same = runs.map((run) => run[i] as Record<string, unknown>);
    const merged: Record<string, unknown> = { ...(row as Record<string, unknown>) };
    for (const [key, value] of Object.entries(row)) {
      if (typeof value === 'number' || value === null) {
        const values = same.map((r) => r[key]);
        if (values.every((v) => typeof v === 'number' || v === null)) merged[key] = medianOrNull(values as (number | null)[]);
      }
    }
    return merged as unknown as Row;
  });
}
