/**
 * Runs a local cluster's replica processes: one `quorumchat replica` child per
 * replica id, each with its own data directory and log file. `up`, `bench`
 * and the operator dashboard use it to start, stop, kill and restart
 * replicas and to list them with their pid and process state.
 *
 * It manages processes only; what a replica thinks (role, term, indices)
 * comes from the status subjects (./cluster-status.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A replica finishes its in-flight persist and closes its store well within this; then it is SIGKILLed. */
/**
 * glibc's malloc arenas for each replica process (unless the environment already sets
 * MALLOC_ARENA_MAX). By default every thread that allocates (libuv's pool running SQLite,
 * V8's workers) may get an arena of its own, and freed memory stays spread over them: at 64
 * senders a leader's RSS grew to ~307 MiB with a live JS heap of 36 MiB; with 2 arenas it
 * stayed near 195 MiB at the same throughput (docs/notebook.md, "Issue 10").
 */
export const REPLICA_MALLOC_ARENAS = '2';

/**
 * V8's semi-space size for each replica process, in MiB: Node 20 lets the young generation
 * grow to two 16 MiB semi-spaces, and a replica under load fills them. At 4 MiB the five
 * replicas' peak RSS at 64 senders fell from 709 to 612 MiB in three interleaved pairs at the
 * same writes/s (988 against 994); the full peer runs, with this and the lazy commands, went
 * from 881 to 707 MiB. The collector's share of the CPU doubled; the CPU per write did not
 * rise (docs/notebook.md, "Three small levers, measured one at a time"). It must be a flag:
 * V8 fixes the limit when the heap is set up.
 */
export const REPLICA_SEMI_SPACE_MIB = 4;

/** The node flags every replica process is started with (see REPLICA_SEMI_SPACE_MIB). */
export const REPLICA_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${REPLICA_SEMI_SPACE_MIB}`];

export const REPLICA_STOP_TIMEOUT_MS = 10_000;

/** The `quorumchat` bin: replicas are started through it so they run exactly what an operator would. */
export const QUORUMCHAT_BIN = fileURLToPath(new URL('../quorumchat.mjs', import.meta.url));

/** Preloaded into replicas: they stop themselves if this process dies without stopping them. */
export const EXIT_WITH_PARENT_PRELOAD = new URL('./exit-with-parent.mjs', import.meta.url).href;

/**
 * - `stopped`:  never started, or stopped on request
 * - `running`:  the process is alive (it may still be starting up or electing)
 * - `stopping`: asked to stop, not yet exited
 * - `exited`:   the process ended without being asked to (crash, or killed with `kill`)
 */
export type ReplicaProcessState = 'stopped' | 'running' | 'stopping' | 'exited';

export interface ReplicaProcessInfo {
  readonly id: string;
  readonly state: ReplicaProcessState;
  /** The pid while running or stopping, otherwise null. */
  readonly pid: number | null;
  readonly dataDir: string;
  readonly logPath: string;
  /** When the current (or last) process started, ms since the epoch. */
  readonly startedAt: number | null;
  /** How the last process ended, if it has. */
  readonly lastExit: { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number } | null;
  /** How many times this replica was started by this supervisor. */
  readonly starts: number;
}

export interface ReplicaExitEvent {
  readonly id: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the supervisor asked for it (stop, restart, stopAll). */
  readonly requested: boolean;
}

export interface ClusterSupervisorEvents {
  /** Any change of a replica's process state. */
  replica: [ReplicaProcessInfo];
  /** A replica process ended. */
  exit: [ReplicaExitEvent];
  /** A replica process could not be spawned at all (not named 'error': EventEmitter throws on an unheard 'error'). */
  spawnError: [{ readonly id: string; readonly error: Error }];
}

export interface ClusterSupervisorOptions {
  /** The initial voters, e.g. r1..r5; each runs with `--peers` = all of them. */
  readonly replicaIds: readonly string[];
  /** Replica `id` keeps its data in `<dataRoot>/<id>` and logs to `<dataRoot>/<id>/replica.log`. */
  readonly dataRoot: string;
  readonly natsUrl: string;
  readonly prefix: string;
  /** Passed to every replica as `--config FILE` (timing, limits). */
  readonly replicaConfigFile?: string;
  /**
   * The program and leading arguments that run `quorumchat`; default: this
   * node with REPLICA_NODE_FLAGS, preloading EXIT_WITH_PARENT_PRELOAD, running QUORUMCHAT_BIN.
   */
  readonly launcher?: { readonly command: string; readonly args: readonly string[] };
  readonly stopTimeoutMs?: number;
  /** Extra environment for the replica processes. */
  readonly env?: Readonly<Record<string, string>>;
}

export class UnknownReplicaError extends Error {
  override readonly name = 'UnknownReplicaError';
  constructor(readonly id: string, known: readonly string[]) {
    super(`no replica '${id}' in this cluster (replicas: ${known.join(', ')})`);
  }
}

interface Slot {
  id: string;
  /** Started with --join (a replacement added while the cluster runs), not as a bootstrap voter. */
  joins: boolean;
  state: ReplicaProcessState;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  stopRequested: boolean;
  startedAt: number | null;
  lastExit: ReplicaProcessInfo['lastExit'];
  starts: number;
}

export class ClusterSupervisor extends EventEmitter<ClusterSupervisorEvents> {
  private readonly slots: Map<string, Slot>;
  private readonly options: ClusterSupervisorOptions;

  constructor(options: ClusterSupervisorOptions) {
    super();
    if (options.replicaIds.length === 0) throw new RangeError('a cluster needs at least one replica');
    if (new Set(options.replicaIds).size !== options.replicaIds.length) throw new RangeError('replica ids must be unique');
    this.options = { ...options, dataRoot: resolve(options.dataRoot) };
    this.slots = new Map(
      options.replicaIds.map((id) => [
        id,
        { id, joins: false, state: 'stopped', child: null, exited: null, stopRequested: false, startedAt: null, lastExit: null, starts: 0 },
      ]),
    );
  }

  get replicaIds(): readonly string[] {
    return [...this.slots.keys()];
  }

  /** The bootstrap voters (`--peers` of every replica that does not join). */
  get initialIds(): readonly string[] {
    return this.options.replicaIds;
  }

  /**
   * A replica added while the cluster runs (a replacement): it starts with
   * `--join` and its own fresh data directory. Not started here.
   */
  addJoiner(id: string): ReplicaProcessInfo {
    if (this.slots.has(id)) throw new RangeError(`replica ${id} exists already`);
    const slot: Slot = { id, joins: true, state: 'stopped', child: null, exited: null, stopRequested: false, startedAt: null, lastExit: null, starts: 0 };
    this.slots.set(id, slot);
    this.emit('replica', this.info(slot));
    return this.info(slot);
  }

  get natsUrl(): string {
    return this.options.natsUrl;
  }

  get prefix(): string {
    return this.options.prefix;
  }

  /** Every replica with its process state, in id order. */
  list(): ReplicaProcessInfo[] {
    return [...this.slots.values()].map((slot) => this.info(slot));
  }

  get(id: string): ReplicaProcessInfo {
    return this.info(this.slot(id));
  }

  /** The replica whose process has this pid, if any (e.g. to map a status answer's pid back). */
  byPid(pid: number): ReplicaProcessInfo | undefined {
    const slot = [...this.slots.values()].find((s) => s.child?.pid === pid && s.state !== 'stopped' && s.state !== 'exited');
    return slot === undefined ? undefined : this.info(slot);
  }

  async startAll(): Promise<void> {
    for (const id of this.slots.keys()) this.start(id);
  }

  /** Stops every replica (in parallel) and resolves when all have exited. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.stop(id)));
  }

  /** Starts the replica's process; a no-op if it is already running. */
  start(id: string): ReplicaProcessInfo {
    const slot = this.slot(id);
    if (slot.state === 'running' || slot.state === 'stopping') return this.info(slot);
    const dataDir = this.dataDirOf(id);
    mkdirSync(dataDir, { recursive: true });
    const logFd = openSync(this.logPathOf(id), 'a');
    let child: ChildProcess;
    try {
      const launcher = this.options.launcher ?? { command: process.execPath, args: [...REPLICA_NODE_FLAGS, '--import', EXIT_WITH_PARENT_PRELOAD, QUORUMCHAT_BIN] };
      child = spawn(launcher.command, [...launcher.args, ...this.replicaArgs(id)], {
        stdio: ['ignore', logFd, logFd],
        // Own process group: a terminal's Ctrl-C reaches only the supervising
        // command, which then stops replicas before the NATS server.
        detached: true,
        env: { MALLOC_ARENA_MAX: REPLICA_MALLOC_ARENAS, ...process.env, QUORUMCHAT_SUPERVISOR_PID: String(process.pid), ...this.options.env },
      });
    } finally {
      closeSync(logFd);
    }
    slot.child = child;
    slot.stopRequested = false;
    slot.startedAt = Date.now();
    slot.starts += 1;
    slot.state = 'running';
    slot.exited = new Promise((resolveExit) => {
      child.once('error', (error) => {
        // spawn failure (ENOENT, EACCES): 'exit' may never come.
        this.emit('spawnError', { id, error });
        this.onExit(slot, child, null, null);
        resolveExit();
      });
      child.once('exit', (code, signal) => {
        this.onExit(slot, child, code, signal);
        resolveExit();
      });
    });
    this.emit('replica', this.info(slot));
    return this.info(slot);
  }

  /** SIGTERM (clean shutdown), SIGKILL after the stop timeout; resolves when the process has exited. */
  async stop(id: string): Promise<ReplicaProcessInfo> {
    const slot = this.slot(id);
    if (slot.child === null || slot.exited === null || slot.state === 'stopped' || slot.state === 'exited') return this.info(slot);
    const child = slot.child;
    slot.stopRequested = true;
    if (slot.state !== 'stopping') {
      slot.state = 'stopping';
      this.emit('replica', this.info(slot));
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? REPLICA_STOP_TIMEOUT_MS);
    await slot.exited;
    clearTimeout(timer);
    return this.info(slot);
  }

  /**
   * SIGKILL, no clean shutdown: a crash, for failover tests and the benchmark.
   * The replica ends in state `exited`, as any crash does.
   */
  async kill(id: string): Promise<ReplicaProcessInfo> {
    const slot = this.slot(id);
    if (slot.child === null || slot.exited === null || slot.state === 'stopped' || slot.state === 'exited') return this.info(slot);
    slot.child.kill('SIGKILL');
    await slot.exited;
    return this.info(slot);
  }

  /** Stops (cleanly) and starts again with the same data directory. */
  async restart(id: string): Promise<ReplicaProcessInfo> {
    await this.stop(id);
    return this.start(id);
  }

  /** Waits until the replica's current process exits (resolves at once if none runs). */
  async waitForExit(id: string): Promise<ReplicaProcessInfo> {
    const slot = this.slot(id);
    if (slot.exited !== null) await slot.exited;
    return this.info(slot);
  }

  /**
   * SIGKILLs every live replica synchronously. Only for a process 'exit'
   * hook, where nothing asynchronous can run; use stopAll otherwise.
   */
  killAllNow(): void {
    for (const slot of this.slots.values()) {
      if (slot.child !== null && (slot.state === 'running' || slot.state === 'stopping')) slot.child.kill('SIGKILL');
    }
  }

  dataDirOf(id: string): string {
    return join(this.options.dataRoot, id);
  }

  logPathOf(id: string): string {
    return join(this.dataDirOf(id), 'replica.log');
  }

  /** The `quorumchat replica` arguments for one replica (exported shape, used by docs and tests). */
  replicaArgs(id: string): string[] {
    const args = [
      'replica',
      '--id', id,
      ...(this.slots.get(id)?.joins === true ? ['--join'] : ['--peers', this.options.replicaIds.join(',')]),
      '--nats', this.options.natsUrl,
      '--data', this.dataDirOf(id),
      '--prefix', this.options.prefix,
    ];
    if (this.options.replicaConfigFile !== undefined) args.push('--config', this.options.replicaConfigFile);
    return args;
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return; // an older process of this slot, already accounted for
    const requested = slot.stopRequested;
    slot.child = null;
    slot.state = requested ? 'stopped' : 'exited';
    slot.lastExit = { code, signal, at: Date.now() };
    this.emit('exit', { id: slot.id, code, signal, requested });
    this.emit('replica', this.info(slot));
  }

  private slot(id: string): Slot {
    const slot = this.slots.get(id);
    if (slot === undefined) throw new UnknownReplicaError(id, this.replicaIds);
    return slot;
  }

  private info(slot: Slot): ReplicaProcessInfo {
    return {
      id: slot.id,
      state: slot.state,
      pid: slot.child?.pid ?? null,
      dataDir: this.dataDirOf(slot.id),
      logPath: this.logPathOf(slot.id),
      startedAt: slot.startedAt,
      lastExit: slot.lastExit,
      starts: slot.starts,
    };
  }
}
