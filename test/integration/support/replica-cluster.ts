/**
 * A cluster of real `quorumchat replica` processes on a real nats-server,
 * for the replica and chaos integration tests: start, SIGKILL, SIGSTOP and
 * SIGCONT, restart, wipe, ask status, send protocol requests. Everything it
 * starts is killed in t.teardown.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServer } from './nats-server.ts';
import type { StatusReply } from '../../../actors/protocol/index.ts';
import type { NatsSecuritySettings } from '../../../config/nats-security.ts';
import { natsConnectOptions } from '../../../actors/transport/nats-connection.ts';
import { resolveNatsSecurity } from '../../../config/nats-security.ts';
import { ChatClient } from '../../../actors/client/index.ts';

const QUORUMCHAT_BIN = fileURLToPath(new URL('../../../cli/quorumchat.mjs', import.meta.url));

/** Short timings so failovers take well under a second even on a loaded 2-core machine. */
export const TEST_TIMING = { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 } as const;
/** Requests are held at most this long inside the cluster; client timeouts are longer. */
export const TEST_REQUEST_DEADLINE_MS = 4_000;
/** A client waits this long for a reply: beyond the cluster's deadline, so `unavailable` arrives as a reply. */
export const CLIENT_TIMEOUT_MS = TEST_REQUEST_DEADLINE_MS + 2_000;
/** Polling for a condition (leader, convergence) gives up after this long. */
const WAIT_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

export interface ClusterOptions {
  readonly size?: number;
  readonly snapshotEvery?: number;
  readonly prefix?: string;
  /** Raft timing instead of TEST_TIMING (must keep electionMaxMs below TEST_REQUEST_DEADLINE_MS). */
  readonly timing?: { readonly heartbeatMs: number; readonly electionMinMs: number; readonly electionMaxMs: number };
  /** A secured NATS server: its configuration, the replicas' extra environment (their credentials), the harness's own credentials. */
  readonly nats?: { readonly configFile: string; readonly replicaEnv: Readonly<Record<string, string>>; readonly security: NatsSecuritySettings };
  /** More of the replica configuration file (e.g. `monitor` with short grace and stability periods). */
  readonly replicaConfig?: Readonly<Record<string, unknown>>;
  /** nats-server settings for an open server (e.g. the ping settings `up` and `nats-config` use); ignored with `nats`. */
  readonly serverConfig?: string;
}

/** A status reply (actors/protocol/status.ts) with the runtime extras these tests read. */
export type Status = StatusReply & { readonly ok: true; readonly snapshotIndex: number; readonly pid: number };

export type Reply = { ok: true; [field: string]: unknown } | { ok: false; error: { code: string; message: string } };

export class ReplicaCluster {
  readonly ids: string[];
  /** The bootstrap voters (`ids` may be grown by a test that adds replicas). */
  readonly initialIds: readonly string[];
  private readonly processes = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<number | null>>();
  /** Replicas that exited without being told to: a test waiting on the cluster fails fast with their log. */
  private readonly crashed: string[] = [];
  private readonly expectingExit = new Set<string>();
  /** The typed client SendStream sends with: made on first use, closed with the cluster. */
  private chat: Promise<ChatClient> | null = null;

  private constructor(
    readonly nats: NatsServer,
    readonly nc: NatsConnection,
    readonly root: string,
    readonly prefix: string,
    readonly configFile: string,
    size: number,
    private readonly replicaEnv: Readonly<Record<string, string>> = {},
    private readonly security: NatsSecuritySettings | undefined = undefined,
  ) {
    this.ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
    this.initialIds = [...this.ids];
  }

  static async start(t: ExecutionContext, options: ClusterOptions = {}): Promise<ReplicaCluster> {
    const root = mkdtempSync(join(tmpdir(), 'quorumchat-it-'));
    const serverConfig = join(root, 'nats-server.conf');
    if (options.nats === undefined && options.serverConfig !== undefined) writeFileSync(serverConfig, options.serverConfig);
    const nats = await startNatsServer(options.nats !== undefined ? { configFile: options.nats.configFile } : options.serverConfig !== undefined ? { configFile: serverConfig } : {});
    const configFile = join(root, 'replica.json');
    writeFileSync(
      configFile,
      JSON.stringify({ timing: options.timing ?? TEST_TIMING, requestDeadlineMs: TEST_REQUEST_DEADLINE_MS, snapshotEvery: options.snapshotEvery ?? 10_000, logLevel: 'info', ...options.replicaConfig }),
    );
    const security = options.nats === undefined ? {} : natsConnectOptions(resolveNatsSecurity(options.nats.security, {}));
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...security });
    const cluster = new ReplicaCluster(nats, nc, root, options.prefix ?? 'qc', configFile, options.size ?? 5, options.nats?.replicaEnv, options.nats?.security);
    t.teardown(async () => {
      await cluster.destroy();
      if (process.env.KEEP_IT_LOGS === undefined) rmSync(root, { recursive: true, force: true });
      else t.log(`logs kept in ${root}`);
    });
    for (const id of cluster.ids) cluster.startReplica(id);
    return cluster;
  }

  dataDir(id: string): string {
    return join(this.root, id);
  }

  logFile(id: string): string {
    return join(this.root, `${id}.log`);
  }

  /** Starts (or restarts) one replica process; returns a promise of its exit code. */
  startReplica(id: string, options: { readonly expectExit?: boolean; readonly peers?: readonly string[]; readonly join?: boolean; readonly args?: readonly string[] } = {}): Promise<number | null> {
    if (options.expectExit) this.expectingExit.add(id);
    if (this.processes.has(id)) throw new Error(`${id} is already running`);
    mkdirSync(this.dataDir(id), { recursive: true });
    const out = createWriteStream(this.logFile(id), { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        QUORUMCHAT_BIN, 'replica', '--id', id,
        ...(options.join === true ? ['--join'] : ['--peers', (options.peers ?? this.ids).join(',')]),
        '--nats', this.nats.url, '--data', this.dataDir(id), '--prefix', this.prefix, '--config', this.configFile,
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.replicaEnv } },
    );
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    this.processes.set(id, child);
    const exit = new Promise<number | null>((resolve) => {
      // 'close', not 'exit': only then has the child's last output gone through the pipes; and resolved once it is in the file, for tests that read the log at once.
      child.once('close', (code) => {
        if (this.processes.get(id) === child) this.processes.delete(id);
        out.end(() => {
          if (!this.expectingExit.delete(id)) this.crashed.push(`${id} exited with code ${code}:\n${this.log(id).slice(-2_000)}`);
          resolve(code);
        });
      });
    });
    this.exits.set(id, exit);
    return exit;
  }

  /** Runs a second process under a running replica's id (own data directory) to completion: it must refuse. */
  async runDuplicate(id: string): Promise<{ code: number | null; output: string }> {
    const dataDir = join(this.root, `${id}-duplicate`);
    const child = spawn(
      process.execPath,
      [QUORUMCHAT_BIN, 'replica', '--id', id, '--peers', this.ids.join(','), '--nats', this.nats.url, '--data', dataDir, '--prefix', this.prefix, '--config', this.configFile],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    clearTimeout(timer);
    return { code, output };
  }

  /** A running replica is expected to exit by itself (e.g. once removed): its exit code. */
  expectExit(id: string): Promise<number | null> {
    this.expectingExit.add(id);
    return this.exits.get(id) ?? Promise.resolve(null);
  }

  running(): string[] {
    return [...this.processes.keys()];
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.processes.get(id);
    if (!child) throw new Error(`${id} is not running`);
    this.expectingExit.add(id);
    child.kill(signal);
    return this.exits.get(id) ?? Promise.resolve(null);
  }

  pause(id: string): void {
    this.processes.get(id)?.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.processes.get(id)?.kill('SIGCONT');
  }

  wipe(id: string): void {
    rmSync(this.dataDir(id), { recursive: true, force: true });
  }

  log(id: string): string {
    try {
      return readFileSync(this.logFile(id), 'utf8');
    } catch {
      return '';
    }
  }

  async status(id: string, timeoutMs = 1_000): Promise<Status | null> {
    try {
      const msg = await this.nc.request(`${this.prefix}.replica.${id}.status`, '{}', { timeout: timeoutMs });
      return JSON.parse(msg.string()) as Status;
    } catch {
      return null;
    }
  }

  async statuses(ids: readonly string[] = this.ids): Promise<(Status | null)[]> {
    return await Promise.all(ids.map((id) => this.status(id)));
  }

  /**
   * The product's typed client (actors/client) on this cluster's server, with
   * the harness's request timeout: what a chat program would send with, so its
   * retry policy (short attempts, retries aimed past a paused leader,
   * docs/protocol.md §1.2) is what the fault tests exercise.
   */
  chatClient(): Promise<ChatClient> {
    this.chat ??= ChatClient.connect({ servers: this.nats.url, prefix: this.prefix, timeoutMs: CLIENT_TIMEOUT_MS, name: 'quorumchat-it-sends', security: this.security });
    return this.chat;
  }

  /** One protocol request; a NATS timeout or no-responders is returned as `{ok: false, error: {code: 'nats'}}`. */
  async request(op: string, body: unknown, timeoutMs = CLIENT_TIMEOUT_MS): Promise<Reply> {
    const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    try {
      const msg = await this.nc.request(`${this.prefix}.api.${op}`, payload, { timeout: timeoutMs });
      return JSON.parse(msg.string()) as Reply;
    } catch (error) {
      return { ok: false, error: { code: 'nats', message: (error as Error).message } };
    }
  }

  /** Waits until a running replica reports itself leader and the others (of `among`) agree; returns its id. */
  async waitForLeader(among: readonly string[] = this.running()): Promise<string> {
    return await this.waitFor(`a leader among ${among.join(',')}`, async () => {
      const statuses = await this.statuses(among);
      const leaders = statuses.filter((s) => s?.role === 'leader');
      const top = leaders.sort((a, b) => (b?.term ?? 0) - (a?.term ?? 0))[0];
      if (!top) return null;
      const agree = statuses.filter((s) => s?.leader === top.id && s.term === top.term).length;
      return agree * 2 > this.ids.length ? top.id : null;
    });
  }

  /** Waits until every replica in `ids` answers with the same appliedIndex (≥ minIndex) and digest. */
  async waitForConvergence(ids: readonly string[] = this.ids, minIndex = 1): Promise<Status[]> {
    return await this.waitFor(`replicas ${ids.join(',')} to converge`, async () => {
      const statuses = await this.statuses(ids);
      if (statuses.some((s) => s === null)) return null;
      const all = statuses as Status[];
      const first = all[0];
      if (!first || first.appliedIndex < minIndex) return null;
      if (all.some((s) => s.appliedIndex !== first.appliedIndex || s.digest !== first.digest || s.commitIndex !== first.appliedIndex)) return null;
      return all;
    });
  }

  async waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs = WAIT_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.crashed.length > 0) throw new Error(`a replica crashed while waiting for ${what}: ${this.crashed.join('\n')}`);
      const value = await probe();
      if (value !== null) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async destroy(): Promise<void> {
    for (const id of [...this.processes.keys()]) {
      this.resume(id);
      await this.kill(id, 'SIGKILL').catch(() => undefined);
    }
    await this.nc.close().catch(() => undefined);
    await (await this.chat?.catch(() => null))?.close().catch(() => undefined);
    await this.nats.stop();
  }
}

/** Registers `username` and logs in; returns the token. */
export async function account(cluster: ReplicaCluster, username: string): Promise<string> {
  const password = `pw-${username}-12345`;
  const registered = await cluster.request('register', { username, password });
  if (!registered.ok && registered.error.code !== 'conflict') throw new Error(`register ${username}: ${JSON.stringify(registered)}`);
  const login = await cluster.request('login', { username, password });
  if (!login.ok) throw new Error(`login ${username}: ${JSON.stringify(login)}`);
  return String(login['token']);
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'quorumchat-it-'));
}
