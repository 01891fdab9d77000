/**
 * `quorumchat up`'s provisioner (docs/operators.md, "Self-healing"): it
 * listens for the leader's replacement requests on `<prefix>.monitor.replace`
 * and starts a replica with a NEW id (r6, r7, ...) and a fresh data
 * directory, with `--join`; the leader's monitor then promotes it and
 * removes the dead voter. The dead replica's directory is kept for
 * inspection, never reused (a wiped voter under its old id could vote with
 * nothing, DESIGN.md). The ids it started are recorded in cluster.json so a
 * later `up` resumes them with --join and leaves the replaced ones stopped.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { monitorReplaceSubject, ReplacementNotice } from '../../actors/protocol/index.ts';
import type { ClusterSupervisor } from './cluster-supervisor.ts';

export interface HealerOptions {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly supervisor: ClusterSupervisor;
  /** Records a replacement (cluster.json) before it starts, so a resumed `up` knows it. */
  record(replaced: string, joined: string): void;
  readonly onProgress: (line: string) => void;
}

export interface Healer {
  stop(): void;
  /** Replacements started: dead id → new id. */
  readonly replacements: ReadonlyMap<string, string>;
}

export function startHealer(options: HealerOptions): Healer {
  const { nc, prefix, supervisor } = options;
  const replacements = new Map<string, string>();
  const subscription: Subscription = nc.subscribe(monitorReplaceSubject(prefix), {
    callback: (error, msg) => {
      if (error !== null) return;
      let body: unknown;
      try {
        body = JSON.parse(msg.string());
      } catch {
        return;
      }
      const parsed = ReplacementNotice.safeParse(body);
      if (!parsed.success) return;
      const { replaces, reason } = parsed.data;
      const earlier = replacements.get(replaces);
      // The monitor asks again after its replacement wait: start another only if ours is not running.
      if (earlier !== undefined && supervisor.get(earlier).state === 'running') return;
      const id = freshId(supervisor.replicaIds);
      options.record(replaces, id);
      supervisor.addJoiner(id);
      supervisor.start(id);
      replacements.set(replaces, id);
      options.onProgress(`heal: started ${id} (--join, fresh data directory) to replace ${replaces}: ${reason}; ${replaces}'s directory is kept`);
    },
  });
  return {
    stop: () => subscription.unsubscribe(),
    replacements,
  };
}

/** r6 after r1..r5: one more than the highest number among the ids this cluster ever had. */
function freshId(ids: readonly string[]): string {
  const highest = Math.max(0, ...ids.map((id) => Number(/(\d+)$/.exec(id)?.[1] ?? 0)));
  return `r${highest + 1}`;
}
