/**
 * Polls every replica's status subject, and the leader's view of the
 * members (the `cluster` op), about twice a second and folds the answers
 * into `DashboardState`; carries out stop/start/restart through the
 * ClusterSupervisor when `up` runs the cluster (none in standalone
 * `quorumchat dashboard`, where those are disabled), and membership changes
 * through `quorumchat members`' own code in both.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { MembershipChange } from '../../actors/monitor/index.ts';
import { makeChange } from '../commands/members-change.ts';
import { askCluster } from '../supervisor/cluster-status.ts';
import { queryReplicaStatus } from '../supervisor/cluster-status.ts';
import type { ClusterSupervisor, ReplicaProcessInfo } from '../supervisor/cluster-supervisor.ts';
import { initialDashboardState, reduceDashboard, type DashboardState, type ReplicaPoll } from './dashboard-model.ts';

/** ~2 polls a second: live enough to watch an election, light enough for five replicas on a shared machine. */
export const DASHBOARD_POLL_MS = 500;
/** A status answer slower than this counts as "no answer" for the round (a replica under load answers in ms). */
export const DASHBOARD_STATUS_TIMEOUT_MS = 1_000;

/**
 * How long the cluster has to answer a membership change: `quorumchat
 * members`' default --timeout, beyond a replica's own request deadline (5 s),
 * so the cluster's `unavailable` arrives rather than our timeout.
 */
export const DASHBOARD_CHANGE_TIMEOUT_MS = 10_000;

export type ReplicaAction = 'stop' | 'start' | 'restart';

export class DashboardController {
  private current: DashboardState = initialDashboardState;
  private readonly listeners = new Set<(state: DashboardState) => void>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly known: Set<string>;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    replicaIds: readonly string[],
    /** Present inside `up`: the process manager for the replicas. */
    readonly supervisor: ClusterSupervisor | null,
  ) {
    this.known = new Set(replicaIds);
  }

  get state(): DashboardState {
    return this.current;
  }

  subscribe(listener: (state: DashboardState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer) return;
    void this.poll();
    this.timer = setInterval(() => void this.poll(), DASHBOARD_POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  /** One poll round: every known replica in parallel; members named in answers join the set. */
  async poll(): Promise<void> {
    if (this.polling) return; // a slow round is not stacked on another
    this.polling = true;
    try {
      const ids = [...this.known];
      const [cluster, ...answers] = await Promise.all([
        askCluster(this.nc, this.prefix, DASHBOARD_STATUS_TIMEOUT_MS),
        ...ids.map((id) => queryReplicaStatus(this.nc, this.prefix, id, DASHBOARD_STATUS_TIMEOUT_MS)),
      ]);
      for (const m of cluster?.members ?? []) this.known.add(m.id);
      const replies: ReplicaPoll[] = answers.map((a) => {
        if ('error' in a) return { id: a.id, ok: false, error: a.error };
        for (const m of [...a.status.voters, ...a.status.learners]) this.known.add(m);
        return { id: a.id, ok: true, status: a.status };
      });
      this.current = reduceDashboard(this.current, { at: Date.now(), replies, cluster });
      for (const l of this.listeners) l(this.current);
    } finally {
      this.polling = false;
    }
  }

  processOf(id: string): ReplicaProcessInfo | null {
    if (this.supervisor === null) return null;
    try {
      return this.supervisor.get(id);
    } catch {
      return null;
    }
  }

  /** A membership change exactly as `quorumchat members` makes it (its checks, its messages); throws MembersRefusal. */
  async changeMembers(change: MembershipChange): Promise<string> {
    const done = await makeChange(this.nc, change, { prefix: this.prefix, timeoutMs: DASHBOARD_CHANGE_TIMEOUT_MS, force: false });
    void this.poll(); // show the new configuration now rather than at the next tick
    return done;
  }

  /** Stops, starts or restarts a replica `up` manages; throws NoSupervisorError in standalone mode. */
  async act(action: ReplicaAction, id: string): Promise<void> {
    const supervisor = this.supervisor;
    if (supervisor === null) throw new NoSupervisorError();
    if (action === 'stop') await supervisor.stop(id);
    else if (action === 'start') supervisor.start(id);
    else await supervisor.restart(id);
  }
}

export class NoSupervisorError extends Error {
  override readonly name = 'NoSupervisorError';
  constructor() {
    super('stop/start/restart work only inside `quorumchat up`, which runs the replicas; this dashboard runs none');
  }
}
