/**
 * Failover and catch-up, as the peer harness measures them. With `senders`
 * closed-loop senders running, SIGKILL the leader's process and time until
 * the first acknowledgement of a send *issued after* the kill (sends already
 * committed before it may still be acknowledged by the survivors, which says
 * nothing about the new leader). Then stop the senders, restart the killed
 * replica on its data, and time until its appliedIndex reaches the leader's
 * commitIndex. Repeated `kills` times; every kill starts from a whole,
 * caught-up cluster.
 */
import { performance } from 'node:perf_hooks';
import { collectClusterStatus, queryReplicaStatus, waitForLeader } from '../supervisor/cluster-status.ts';
import type { LocalCluster } from '../supervisor/local-cluster.ts';
import { runClosedLoop } from './load.ts';

/** The sender count of the failover trials: the peer harness kills its leaders at 16. */
export const FAILOVER_SENDERS = 16;
/** Load before the kill, so the leader dies busy (the harness: 3 s; 2 s reaches a steady rate here too). */
export const LOAD_BEFORE_KILL_MS = 2_000;
/** A failover that takes longer than this is reported as a failure, not a figure. */
export const FAILOVER_GIVE_UP_MS = 60_000;
/** A restarted replica replays its log and catches up; on a loaded machine allow a minute. */
export const CATCH_UP_TIMEOUT_MS = 60_000;
/** Status polls during recovery and catch-up: fine enough for figures in the hundreds of ms, light on the replicas. */
const POLL_INTERVAL_MS = 50;
/** One poll's answer wait: a replica that is starting does not answer at all, so keep each poll short. */
const POLL_TIMEOUT_MS = 500;

export interface FailoverSample {
  readonly kill: number;
  /** The leader whose process was killed. */
  readonly killed: string;
  readonly killedTerm: number;
  /** Who led when the first send after the kill was acknowledged. */
  readonly newLeader: string | null;
  readonly newTerm: number | null;
  /** From SIGKILL to the acknowledgement of the first send issued after it. */
  readonly failoverMs: number;
  /** Sends that failed (after the client's own retries) during the trial. */
  readonly failedSends: number;
  /** From the restart of the killed replica to its first status answer: its start-up time. */
  readonly firstStatusMs: number;
  /** From the restart to its appliedIndex reaching the leader's commitIndex. */
  readonly catchUpMs: number;
}

export class FailoverError extends Error {
  override readonly name = 'FailoverError';
}

export interface FailoverOptions {
  readonly cluster: LocalCluster;
  readonly kills: number;
  /** Concurrent senders during each trial (default FAILOVER_SENDERS). */
  readonly senders?: number;
  /** One send of sender `sender`; it throws if the send was not acknowledged. */
  readonly send: (sender: number, seq: string) => Promise<void>;
  readonly onProgress?: (line: string) => void;
  /** Names the trials' sends apart from another run's. */
  readonly runTag?: string;
}

export async function measureFailover(options: FailoverOptions): Promise<FailoverSample[]> {
  const progress = options.onProgress ?? (() => {});
  const samples: FailoverSample[] = [];
  for (let kill = 1; kill <= options.kills; kill++) {
    const sample = await failoverTrial(options, kill);
    progress(
      `failover ${kill}/${options.kills}: ${sample.failoverMs.toFixed(0)} ms, new leader ${sample.newLeader ?? '?'}; ` +
        `${sample.killed} answered ${sample.firstStatusMs.toFixed(0)} ms after its restart, caught up after ${sample.catchUpMs.toFixed(0)} ms`,
    );
    samples.push(sample);
  }
  return samples;
}

async function failoverTrial(options: FailoverOptions, kill: number): Promise<FailoverSample> {
  const { cluster } = options;
  const ids = cluster.supervisor.replicaIds;
  const progress = options.onProgress ?? (() => {});
  const before = await waitForLeader(cluster.nc, cluster.prefix, ids, { timeoutMs: CATCH_UP_TIMEOUT_MS, minAnswered: ids.length });
  const killed = before.leader;
  if (killed === null || before.term === null) throw new FailoverError('no leader to kill');

  let killedAt: number | null = null;
  let recoveredAt: number | null = null;
  let failedSends = 0;
  let stop = false;
  const load = runClosedLoop({
    senders: options.senders ?? FAILOVER_SENDERS,
    stopIssuing: () => stop,
    operation: (sender, seq) => options.send(sender, `${options.runTag ?? 'failover'}-${kill}-${seq}`),
    onDone: (issuedAt, doneAt, error) => {
      if (error !== undefined) failedSends += 1;
      else if (killedAt !== null && issuedAt >= killedAt) recoveredAt = Math.min(recoveredAt ?? doneAt, doneAt);
    },
  });
  try {
    await sleep(LOAD_BEFORE_KILL_MS);
    progress(`failover ${kill}/${options.kills}: killing leader ${killed} (term ${before.term}, pid ${cluster.supervisor.get(killed).pid}) under ${options.senders ?? FAILOVER_SENDERS} senders`);
    const t0 = performance.now();
    killedAt = t0;
    await cluster.supervisor.kill(killed);
    while (recoveredAt === null) {
      if (performance.now() - t0 > FAILOVER_GIVE_UP_MS) {
        throw new FailoverError(`no send issued after killing ${killed} was acknowledged within ${FAILOVER_GIVE_UP_MS / 1000} s`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  } finally {
    stop = true;
    await load;
  }
  const failoverMs = (recoveredAt as number) - (killedAt as number);
  const after = await collectClusterStatus(cluster.nc, cluster.prefix, ids);
  const { firstStatusMs, catchUpMs } = await restartAndCatchUp(cluster, killed);
  return { kill, killed, killedTerm: before.term, newLeader: after.leader, newTerm: after.term, failoverMs, failedSends, firstStatusMs, catchUpMs };
}

/**
 * Restarts `id` and waits until it has applied everything the leader has
 * committed; the target is read afresh at every poll from the others'
 * answers (the leader's commitIndex), as the peer harness does.
 */
async function restartAndCatchUp(cluster: LocalCluster, id: string): Promise<{ firstStatusMs: number; catchUpMs: number }> {
  const others = cluster.supervisor.replicaIds.filter((other) => other !== id);
  const t0 = performance.now();
  cluster.supervisor.start(id);
  let firstStatusMs: number | null = null;
  while (performance.now() - t0 < CATCH_UP_TIMEOUT_MS) {
    const [own, status] = await Promise.all([
      queryReplicaStatus(cluster.nc, cluster.prefix, id, POLL_TIMEOUT_MS),
      collectClusterStatus(cluster.nc, cluster.prefix, others, POLL_TIMEOUT_MS),
    ]);
    if ('status' in own) {
      firstStatusMs ??= performance.now() - t0;
      const leader = status.replicas.find((r) => r.id === status.leader);
      if (leader?.answered === true && own.status.appliedIndex >= leader.status.commitIndex) {
        return { firstStatusMs, catchUpMs: performance.now() - t0 };
      }
    }
    if (cluster.supervisor.get(id).state === 'exited') break;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new FailoverError(`${id} did not catch up within ${CATCH_UP_TIMEOUT_MS / 1000} s of its restart; see ${cluster.supervisor.logPathOf(id)}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
