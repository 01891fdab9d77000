/**
 * Failover time: SIGKILL the leader's process and time how long until the
 * next send is acknowledged. Repeated `kills` times; before each kill the
 * previous victim is restarted and has caught up, so every kill starts from
 * a whole cluster.
 */
import { performance } from 'node:perf_hooks';
import { collectClusterStatus, waitForLeader, LEADER_POLL_INTERVAL_MS } from '../supervisor/cluster-status.ts';
import type { LocalCluster } from '../supervisor/local-cluster.ts';

/** A failover that takes longer than this is reported as a failure, not a figure. */
export const FAILOVER_GIVE_UP_MS = 60_000;
/** A restarted replica replays its log and catches up; on a loaded machine allow a minute. */
export const CATCH_UP_TIMEOUT_MS = 60_000;

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
  /** Sends that failed (after their own retries) before one succeeded. */
  readonly failedSends: number;
}

export class FailoverError extends Error {
  override readonly name = 'FailoverError';
}

export interface FailoverOptions {
  readonly cluster: LocalCluster;
  readonly kills: number;
  /** One acknowledged send; it throws if the send was not acknowledged. */
  readonly probe: (seq: number) => Promise<void>;
  readonly onProgress?: (line: string) => void;
}

export async function measureFailover(options: FailoverOptions): Promise<FailoverSample[]> {
  const { cluster } = options;
  const ids = cluster.supervisor.replicaIds;
  const progress = options.onProgress ?? (() => {});
  const samples: FailoverSample[] = [];
  let seq = 0;
  for (let kill = 1; kill <= options.kills; kill++) {
    const before = await waitForLeader(cluster.nc, cluster.prefix, ids, { timeoutMs: CATCH_UP_TIMEOUT_MS, minAnswered: ids.length });
    const killed = before.leader;
    if (killed === null || before.term === null) throw new FailoverError('no leader to kill');
    await options.probe(seq++); // the leader serves before it is killed
    progress(`failover ${kill}/${options.kills}: killing leader ${killed} (term ${before.term}, pid ${cluster.supervisor.get(killed).pid})`);
    const t0 = performance.now();
    await cluster.supervisor.kill(killed);
    let failedSends = 0;
    for (;;) {
      try {
        await options.probe(seq++);
        break;
      } catch (err) {
        failedSends += 1;
        if (performance.now() - t0 > FAILOVER_GIVE_UP_MS) {
          throw new FailoverError(`no send was acknowledged within ${FAILOVER_GIVE_UP_MS / 1000} s of killing ${killed}: ${String(err)}`);
        }
      }
    }
    const failoverMs = performance.now() - t0;
    const after = await collectClusterStatus(cluster.nc, cluster.prefix, ids);
    samples.push({ kill, killed, killedTerm: before.term, newLeader: after.leader, newTerm: after.term, failoverMs, failedSends });
    progress(`failover ${kill}/${options.kills}: ${failoverMs.toFixed(0)} ms, new leader ${after.leader ?? '?'}; restarting ${killed}`);
    cluster.supervisor.start(killed);
    await waitForCatchUp(cluster, killed);
  }
  return samples;
}

/** Waits until `id` answers and has applied everything the cluster had committed when we started waiting. */
async function waitForCatchUp(cluster: LocalCluster, id: string): Promise<void> {
  const ids = cluster.supervisor.replicaIds;
  const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
  let target: number | null = null;
  while (performance.now() < deadline) {
    const status = await collectClusterStatus(cluster.nc, cluster.prefix, ids);
    target ??= status.leader !== null ? status.commitIndex : null;
    const row = status.replicas.find((r) => r.id === id);
    if (target !== null && row?.answered === true && row.status.appliedIndex >= target) return;
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_INTERVAL_MS));
  }
  throw new FailoverError(`${id} did not catch up within ${CATCH_UP_TIMEOUT_MS / 1000} s of its restart; see ${cluster.supervisor.logPathOf(id)}`);
}
