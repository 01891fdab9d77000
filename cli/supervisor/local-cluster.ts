/**
 * A whole local cluster on one machine: an embedded nats-server on loopback
 * plus a ClusterSupervisor of replica processes, with a data root that a
 * later start resumes. `quorumchat up` and `quorumchat bench` are built on it.
 *
 * Data root layout:
 *   <root>/cluster.json      the replica ids and prefix the root was created with
 *   <root>/up.pid            pid of the process running this cluster (a lock)
 *   <root>/nats-server.log   the embedded NATS server's log
 *   <root>/nats-server.conf  its authorization: one user per role (0600)
 *   <root>/credentials/      each role's credentials, <role>.json (0600, directory 0700)
 *   <root>/replica-config.json  settings every replica shares (timing, log level)
 *   <root>/<id>/             each replica's data directory, with replica.log
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ClusterSupervisor, type ClusterSupervisorOptions } from './cluster-supervisor.ts';
import { waitForLeader, waitForSettled, type ClusterStatus } from './cluster-status.ts';
import { findNatsServer, logTail, NatsServerProcess, type FindNatsServerOptions } from './nats-server.ts';
import { prepareClusterSecurity, replicaNatsEnv, roleSecurity } from './cluster-credentials.ts';
import { connectNats } from '../nats-access.ts';
import { startHealer, type Healer } from './healer.ts';
import type { NatsRole } from '../../config/nats-authorization.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';

/** Replicas start through tsx and elect within a few election timeouts; 60 s covers a loaded 2-core machine. */
export const LEADER_WAIT_TIMEOUT_MS = 60_000;

const ClusterFile = z.object({
  replicaIds: z.array(z.string()).min(1),
  prefix: z.string(),
  /** Replacements `up` started (healer.ts): resumed with --join. */
  joined: z.array(z.string()).optional(),
  /** Replicas they replaced: not started again (the cluster removed them; they would refuse). */
  replaced: z.array(z.string()).optional(),
});
type ClusterFile = z.infer<typeof ClusterFile>;

/** The data root belongs to a different cluster shape, or another process runs it. */
export class DataRootError extends Error {
  override readonly name = 'DataRootError';
}

/** Every replica process exited before a leader was elected. */
export class ReplicasExitedError extends Error {
  override readonly name = 'ReplicasExitedError';
}

export interface LocalClusterOptions {
  readonly dataRoot: string;
  readonly replicaIds: readonly string[];
  readonly port: number;
  readonly prefix: string;
  /**
   * Settings every replica shares (timing, logLevel, ...: any part of config/
   * ReplicaConfig except id, peers, nats, dataDir and prefix, which the
   * supervisor passes as flags). Written to <root>/replica-config.json and
   * passed to each replica as --config.
   */
  readonly replicaSettings?: Readonly<Record<string, unknown>>;
  readonly find?: FindNatsServerOptions;
  readonly launcher?: ClusterSupervisorOptions['launcher'];
  readonly leaderTimeoutMs?: number;
  /** Progress lines for the operator ("starting nats-server ..."). */
  readonly onProgress?: (line: string) => void;
  /** Aborting gives up the start (e.g. Ctrl-C while waiting for a leader) and stops what was started. */
  readonly signal?: AbortSignal;
  /** Start a replacement whenever the leader's monitor asks for one (healer.ts). */
  readonly heal?: boolean;
}

export class LocalCluster {
  private stopping: Promise<void> | null = null;
  private healer: Healer | null = null;

  private constructor(
    readonly dataRoot: string,
    readonly nats: NatsServerProcess,
    readonly supervisor: ClusterSupervisor,
    /** A connection of the cluster runner itself, for status polling. */
    readonly nc: NatsConnection,
  ) {}

  get natsUrl(): string {
    return this.nats.url;
  }

  get prefix(): string {
    return this.supervisor.prefix;
  }

  /** How a process of `role` authenticates to this cluster's NATS server (the credentials under the data root). */
  security(role: NatsRole): NatsSecuritySettings {
    return roleSecurity(this.dataRoot, role);
  }

  /**
   * Starts nats-server, then every replica, and waits until one is elected leader.
   * On any failure it stops what it started before throwing.
   */
  static async start(options: LocalClusterOptions): Promise<{ cluster: LocalCluster; status: ClusterStatus }> {
    const progress = options.onProgress ?? (() => {});
    const dataRoot = resolve(options.dataRoot);
    const binary = findNatsServer(options.find);
    mkdirSync(dataRoot, { recursive: true });
    const recorded = claimDataRoot(dataRoot, options.replicaIds, options.prefix);
    const { natsConfigFile } = prepareClusterSecurity(dataRoot, options.prefix);
    const replicaConfigFile = options.replicaSettings === undefined ? undefined : join(dataRoot, 'replica-config.json');
    if (replicaConfigFile !== undefined) writeFileSync(replicaConfigFile, JSON.stringify(options.replicaSettings, null, 2) + '\n');
    let nats: NatsServerProcess | null = null;
    let supervisor: ClusterSupervisor | null = null;
    let nc: NatsConnection | null = null;
    let started = false;
    // If this process exits mid-start (a second Ctrl-C, an uncaught error), leave nothing running.
    const killOnExit = (): void => {
      supervisor?.killAllNow();
      nats?.killNow();
    };
    process.on('exit', killOnExit);
    try {
      options.signal?.throwIfAborted();
      progress(`starting nats-server (${binary}) on 127.0.0.1:${options.port}`);
      nats = await NatsServerProcess.start({ binary, port: options.port, logFile: join(dataRoot, 'nats-server.log'), configFile: natsConfigFile });
      // The runner polls status as an operator; reconnecting like nats.js's default did before.
      nc = await connectNats(nats.url, roleSecurity(dataRoot, 'operator'), { name: 'quorumchat-up', reconnect: true });
      supervisor = new ClusterSupervisor({
        replicaIds: options.replicaIds,
        dataRoot,
        natsUrl: nats.url,
        prefix: options.prefix,
        ...(replicaConfigFile !== undefined ? { replicaConfigFile } : {}),
        ...(options.launcher !== undefined ? { launcher: options.launcher } : {}),
        env: replicaNatsEnv(dataRoot),
      });
      for (const id of recorded.joined ?? []) supervisor.addJoiner(id);
      progress(`starting ${options.replicaIds.length + (recorded.joined?.length ?? 0)} replicas under ${dataRoot}`);
      const sup = supervisor;
      sup.on('exit', (e) => {
        if (!e.requested && !started) {
          progress(`replica ${e.id} exited during start-up (${e.signal ?? `code ${e.code}`}); see ${sup.logPathOf(e.id)}`);
        }
      });
      // A replaced replica stays stopped: the cluster removed it (its directory is kept for inspection).
      for (const id of supervisor.replicaIds) if (!(recorded.replaced ?? []).includes(id)) supervisor.start(id);
      await waitForLeader(nc, options.prefix, supervisor.replicaIds, {
        timeoutMs: options.leaderTimeoutMs ?? LEADER_WAIT_TIMEOUT_MS,
        check: () => assertSomeAlive(sup),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
      options.signal?.throwIfAborted();
      const status = await waitForSettled(nc, options.prefix, options.replicaIds);
      started = true;
      const cluster = new LocalCluster(dataRoot, nats, supervisor, nc);
      if (options.heal === true) {
        cluster.healer = startHealer({ nc, prefix: options.prefix, supervisor, record: (replaced, joined) => recordReplacement(dataRoot, replaced, joined), onProgress: progress });
      }
      return { cluster, status };
    } catch (err) {
      await supervisor?.stopAll();
      await nc?.close();
      await nats?.stop();
      releaseDataRoot(dataRoot);
      throw err;
    } finally {
      process.off('exit', killOnExit);
    }
  }

  /** Replicas first (each shuts down cleanly), then the NATS server they talk through. Idempotent. */
  async stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.healer?.stop();
      await this.supervisor.stopAll();
      await this.nc.close().catch(() => {});
      await this.nats.stop();
      releaseDataRoot(this.dataRoot);
    })();
    await this.stopping;
  }

  /** For a process 'exit' hook only: kills everything synchronously. */
  killNow(): void {
    this.supervisor.killAllNow();
    this.nats.killNow();
    releaseDataRoot(this.dataRoot);
  }
}

function assertSomeAlive(supervisor: ClusterSupervisor): void {
  const replicas = supervisor.list();
  if (replicas.some((r) => r.state === 'running')) return;
  const first = replicas[0];
  const tail = first === undefined ? '' : `\nthe end of ${first.logPath}:\n${logTail(first.logPath)}`;
  throw new ReplicasExitedError(`every replica process exited before a leader was elected${tail}`);
}

/**
 * Refuses a data root that another live process runs, or that was created
 * for other replica ids or another prefix (their logs would not match).
 */
function claimDataRoot(dataRoot: string, replicaIds: readonly string[], prefix: string): ClusterFile {
  const pidFile = join(dataRoot, 'up.pid');
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (Number.isSafeInteger(pid) && pid !== process.pid && isAlive(pid)) {
      throw new DataRootError(`${dataRoot} is in use by another quorumchat process (pid ${pid}); stop it first or use another --data directory`);
    }
  }
  const clusterFile = join(dataRoot, 'cluster.json');
  if (existsSync(clusterFile)) {
    let recorded: ClusterFile;
    try {
      recorded = ClusterFile.parse(JSON.parse(readFileSync(clusterFile, 'utf8')));
    } catch {
      throw new DataRootError(`${clusterFile} is not a quorumchat cluster file; remove it only if ${dataRoot} holds no cluster data`);
    }
    if (recorded.replicaIds.join(',') !== replicaIds.join(',')) {
      throw new DataRootError(
        `${dataRoot} holds a cluster of ${recorded.replicaIds.length} replicas (${recorded.replicaIds.join(', ')}), not ${replicaIds.length}; ` +
          `pass --replicas ${recorded.replicaIds.length} to resume it, or use another --data directory for a new cluster`,
      );
    }
    if (recorded.prefix !== prefix) {
      throw new DataRootError(`${dataRoot} holds a cluster with prefix '${recorded.prefix}'; pass --prefix ${recorded.prefix} to resume it`);
    }
    writeFileSync(pidFile, `${process.pid}\n`);
    return recorded;
  }
  const fresh: ClusterFile = { replicaIds: [...replicaIds], prefix };
  writeFileSync(clusterFile, JSON.stringify(fresh, null, 2) + '\n');
  writeFileSync(pidFile, `${process.pid}\n`);
  return fresh;
}

/** Adds one replacement to cluster.json (healer.ts), before the replacement starts. */
function recordReplacement(dataRoot: string, replaced: string, joined: string): void {
  const clusterFile = join(dataRoot, 'cluster.json');
  const recorded = ClusterFile.parse(JSON.parse(readFileSync(clusterFile, 'utf8')));
  const next: ClusterFile = {
    ...recorded,
    joined: [...(recorded.joined ?? []), joined],
    replaced: [...new Set([...(recorded.replaced ?? []), replaced])],
  };
  writeFileSync(clusterFile, JSON.stringify(next, null, 2) + '\n');
}

function releaseDataRoot(dataRoot: string): void {
  const pidFile = join(dataRoot, 'up.pid');
  try {
    if (existsSync(pidFile) && Number.parseInt(readFileSync(pidFile, 'utf8'), 10) === process.pid) rmSync(pidFile);
  } catch {
    // best effort: a stale pid file is detected by isAlive on the next start
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
