/**
 * The monitor's settings: each default a named constant with the reason for
 * its value (docs/configuration.md lists them). Time is in milliseconds of
 * the clock the caller passes in; the monitor has no clock of its own.
 */
import { DEFAULT_LIMITS } from '../raft/limits.ts';

export interface MonitorSettings {
  /** Voters the monitor keeps: it promotes and asks for replacements until this many are healthy. */
  readonly targetVoters: number;
  /** A voter the leader has not heard from for this long is dead (before that it is only silent). */
  readonly deadAfterMs: number;
  /** A learner must stay reachable and caught up this long before it is trusted with a vote. */
  readonly stableAfterMs: number;
  /** A member at most this many entries behind the leader's commit index is caught up. */
  readonly caughtUpLag: number;
  /** A replacement asked for and not arrived after this long is asked for again, and its dead voter may be removed. */
  readonly replacementWaitMs: number;
}

/** Five voters survive any two failures (DESIGN.md); more only add latency to every commit. */
export const DEFAULT_TARGET_VOTERS = 5;

/**
 * 30 s: longer than a restart policy needs to bring a crashed replica back
 * (docker compose / systemd restart in a few seconds, the database reopened),
 * longer than a nats-server restart with its reconnects, and longer than a
 * GC or VM pause. A replacement copies the whole database, so calling a
 * voter dead too early costs far more than waiting a little.
 */
export const DEFAULT_DEAD_AFTER_MS = 30_000;

/**
 * 10 s (Consul autopilot's server stabilization time): a replica that crashes
 * in a loop or flaps on the network never stays steady that long, so it is
 * never given a vote it would then fail to cast.
 */
export const DEFAULT_STABLE_AFTER_MS = 10_000;

/**
 * One append batch: a voter this close to the leader is brought level by
 * the next AppendEntries, so promoting it cannot stall commits while it
 * catches up (thesis §4.2.1).
 */
export const DEFAULT_CAUGHT_UP_LAG = DEFAULT_LIMITS.maxEntriesPerAppend;

/**
 * 2 min: a fresh replica starts in seconds and a snapshot of a million
 * messages streams in well under a minute; beyond this the provisioner has
 * probably failed, so the monitor asks again and stops holding the dead
 * voter's seat for it.
 */
export const DEFAULT_REPLACEMENT_WAIT_MS = 120_000;

/**
 * Fewer than three voters tolerate no failure at all; neither the monitor nor
 * an operator's change goes below this (unless the cluster is smaller already).
 */
export const MIN_VOTERS = 3;

export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = {
  targetVoters: DEFAULT_TARGET_VOTERS,
  deadAfterMs: DEFAULT_DEAD_AFTER_MS,
  stableAfterMs: DEFAULT_STABLE_AFTER_MS,
  caughtUpLag: DEFAULT_CAUGHT_UP_LAG,
  replacementWaitMs: DEFAULT_REPLACEMENT_WAIT_MS,
};
