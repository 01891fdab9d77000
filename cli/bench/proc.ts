/**
 * What `bench` reads from Linux's /proc about the server processes it started
 * (replicas and nats-server): CPU time from /proc/<pid>/stat and resident
 * memory from /proc/<pid>/status. The parsers are pure and tested; the
 * readers return null for a process that is gone (or a system without /proc),
 * which the report shows as "n/a" rather than as zero.
 */
import { readFileSync } from 'node:fs';
import type { ProcessCpu, RssSample } from './figures.ts';

/**
 * Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, which Linux
 * fixes at 100 for user space on every architecture Node supports (sysconf
 * _SC_CLK_TCK; `getconf CLK_TCK`), whatever the kernel's own HZ.
 */
export const CLOCK_TICKS_PER_SECOND = 100;
/** Often enough to catch a peak during a level of a few seconds; 6 small file reads each time. */
export const RSS_SAMPLE_INTERVAL_MS = 100;

/**
 * utime, stime and starttime from the text of /proc/<pid>/stat (proc(5)).
 * The command name (field 2) is in parentheses and may itself hold spaces
 * and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(pid: number, text: string): ProcessCpu {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new SyntaxError(`/proc/${pid}/stat: no command name`);
  // After ") " come fields 3 (state), 4, ...: field N is at index N - 3.
  const fields = text.slice(close + 2).trim().split(' ');
  const field = (n: number): number => {
    const value = Number(fields[n - 3]);
    if (!Number.isSafeInteger(value) || value < 0) throw new SyntaxError(`/proc/${pid}/stat: field ${n} is ${JSON.stringify(fields[n - 3])}`);
    return value;
  };
  return { pid, cpuTicks: field(14) + field(15), startTicks: field(22) };
}

/** VmRSS in KiB from the text of /proc/<pid>/status; null for a kernel thread or a zombie (no VmRSS line). */
export function parseVmRssKiB(text: string): number | null {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return match === null ? null : Number(match[1]);
}

/** CPU counters of each pid that still exists. */
export function readProcessCpu(pids: readonly number[]): ProcessCpu[] {
  const samples: ProcessCpu[] = [];
  for (const pid of pids) {
    const text = readProc(`/proc/${pid}/stat`);
    if (text !== null) samples.push(parseProcStat(pid, text));
  }
  return samples;
}

/** Resident KiB of each named process that still exists. */
export function readRss(processes: ReadonlyMap<string, number>): RssSample {
  const sample = new Map<string, number>();
  for (const [name, pid] of processes) {
    const text = readProc(`/proc/${pid}/status`);
    const kib = text === null ? null : parseVmRssKiB(text);
    if (kib !== null) sample.set(name, kib);
  }
  return sample;
}

/** True when this system has /proc (Linux); elsewhere CPU and RSS are "n/a". */
export function procAvailable(): boolean {
  return readProc(`/proc/${process.pid}/stat`) !== null;
}

/**
 * Samples RSS every RSS_SAMPLE_INTERVAL_MS until stopped. `processes` is
 * asked again at every sample, so a restarted replica is followed by name.
 */
export class RssSampler {
  readonly #samples: RssSample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(processes: () => ReadonlyMap<string, number>) {
    const sample = (): void => {
      this.#samples.push(readRss(processes()));
    };
    sample();
    this.#timer = setInterval(sample, RSS_SAMPLE_INTERVAL_MS);
  }

  /** Stops sampling and returns every sample taken. */
  stop(): RssSample[] {
    clearInterval(this.#timer);
    return [...this.#samples];
  }
}

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Gone (it exited between listing and reading) or no /proc at all.
    return null;
  }
}
