/**
 * `quorumchat bench`: the figures the peer harness (etcd, NATS JetStream)
 * reports, for quorumchat alone. Per sender concurrency: committed sends/s
 * and p50/p99/p99.9 latency over a measured window after a warm-up, CPU per
 * send of the servers (replicas + nats-server, from /proc) and their peak
 * RSS. Then failover (leader SIGKILLed under 16 senders → first acknowledged
 * send issued after it) and the restarted replica's catch-up. Runs against a
 * live cluster (--nats; no CPU, RSS or failover then) or, by default, a
 * cluster it starts itself on loopback in a temp directory. `--runs N`
 * repeats the whole measurement and reports each figure's median.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ChatClient, ConflictError, UnavailableError } from '../../actors/client/index.ts';
import { DEFAULT_PREFIX, DEFAULT_REPLICA_COUNT } from '../../config/defaults.ts';
import { loadClusterConfig } from '../../config/index.ts';
import { runLoadLevel, type LoadLevelResult } from '../bench/load.ts';
import { FAILOVER_SENDERS, measureFailover, type FailoverSample } from '../bench/failover.ts';
import { cpuMsBetween, cpuMsPerSend, median, medianOfRuns, medianOrNull, rssPeak, type ProcessCpu, type RssSample } from '../bench/figures.ts';
import { CLOCK_TICKS_PER_SECOND, RssSampler, procAvailable, readProcessCpu } from '../bench/proc.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { formatTable } from '../format/table.ts';
import { DurationSchema, NatsUrlSchema, PrefixSchema, ReplicaCountSchema, isLoopbackUrl, parseFlag, replicaIdsFor } from '../options.ts';

/** Kept here too: tests and callers import it from bench, where it was born. */
export { isLoopbackUrl } from '../options.ts';
import { LocalCluster } from '../supervisor/local-cluster.ts';
import { findFreePort } from '../supervisor/nats-server.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';

/** The concurrencies the peer harness measures. */
export const DEFAULT_SENDER_LEVELS = [1, 16, 64, 256] as const;
/** Long enough for a stable rate at each level, short enough that the whole bench takes well under a minute of load. */
export const DEFAULT_LEVEL_DURATION = '5s';
/** Sends before each level's measured window, so it starts at the level's steady rate (the peer harness: 2 s). */
export const DEFAULT_WARMUP = '2s';
/** Bounds each level's count as well as its time, so a very fast cluster cannot fill a disk. */
export const DEFAULT_MAX_SENDS_PER_LEVEL = 50_000;
/** Several kills give a median and a maximum; each costs an election plus a restart and catch-up. */
export const DEFAULT_KILLS = 3;
/** Registration hashes a password slowly on the leader; 16 accounts are enough distinct conversations. */
export const DEFAULT_BENCH_USERS = 16;
/** The peer harness writes 200-byte chat messages; ASCII, so 200 characters are 200 bytes. */
export const DEFAULT_TEXT_CHARS = 200;
/** Registrations in flight at once: each hashes a password on the leader, which a loaded 2-core machine does slowly. */
const REGISTRATION_CONCURRENCY = 4;
/** Setting up accounts may ride out an election; a minute is generous. */
const SETUP_DEADLINE_MS = 60_000;
const SETUP_RETRY_MS = 250;
/** Senders share this many NATS connections, as many clients of one process would. */
const BENCH_CONNECTIONS = 4;
/** The client's own deadline for one request (it retries `unavailable` within it, same requestId). */
const BENCH_REQUEST_TIMEOUT_MS = 10_000;
/** Limits that keep a mistyped flag from running for hours. */
const MAX_SENDERS = 4_096;
const MAX_LEVEL_DURATION_MS = 10 * 60_000;
const MAX_KILLS = 20;
const MAX_RUNS = 20;
/** The name the report gives the NATS server among the server processes. */
const NATS_PROCESS = 'nats-server';
/** Chat-like filler for the message text (the peer harness's own), cut to --text-chars. */
const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';

const SenderLevelsSchema = z
  .string()
  .transform((text) => text.split(',').map((s) => Number(s.trim())))
  .pipe(z.array(z.number().int().min(1).max(MAX_SENDERS)).min(1));

export interface BenchOptions {
  readonly nats?: string;
  /** Credentials for --nats (the client role); a cluster bench starts uses its own. */
  readonly security?: NatsSecuritySettings;
  readonly prefix: string;
  readonly senders: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxSends: number;
  readonly kills: number;
  readonly runs: number;
  readonly replicas: number;
  readonly users: number;
  readonly textChars: number;
  readonly config?: string;
  readonly json: boolean;
  readonly keepData: boolean;
}

/** One level's figures; CPU and RSS are null where they cannot be measured (a cluster bench did not start). */
export interface BenchLevel extends LoadLevelResult {
  /** utime + stime of the server processes over the measured window, ms. */
  readonly serverCpuMs: number | null;
  readonly cpuMsPerSend: number | null;
  /** This process's own CPU (the load generator: client library, JSON, NATS) per acknowledged send. */
  readonly benchCpuMsPerSend: number | null;
  /** The largest sum of the servers' RSS seen during the measured window, MiB. */
  readonly peakRssMiB: number | null;
}

export type BenchFailover =
  | {
      readonly measured: true;
      readonly senders: number;
      readonly samples: readonly (FailoverSample & { readonly run: number })[];
      readonly medianMs: number;
      readonly maxMs: number;
      readonly catchUpMedianMs: number;
      readonly catchUpMaxMs: number;
      readonly firstStatusMedianMs: number;
    }
  | { readonly measured: false; readonly reason: string };

export interface BenchReport {
  readonly cluster: { readonly natsUrl: string; readonly startedByBench: boolean; readonly replicas: number | null };
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly load: { readonly runs: number; readonly warmupMs: number; readonly durationMs: number; readonly textChars: number };
  /** With several runs, each numeric figure is the median over the runs. */
  readonly levels: readonly BenchLevel[];
  readonly servers:
    | { readonly measured: true; readonly processes: readonly string[]; readonly peakRssMiB: number; readonly peakRssByProcessMiB: Readonly<Record<string, number>> }
    | { readonly measured: false; readonly reason: string };
  /** With several runs, each figure is the median over the runs of that run's figure; `samples` lists every kill. */
  readonly failover: BenchFailover;
}

export function registerBenchCommand(program: Command): void {
  addNatsAccessOptions(program.command('bench'))
    .description('measure committed sends/s, p50/p99/p99.9 latency, CPU per send and peak RSS at several concurrencies, failover and catch-up')
    .option('--nats <url>', 'benchmark this live cluster on loopback instead of starting one (no CPU, RSS or failover then)')
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--senders <list>', 'concurrent senders per level, comma-separated', DEFAULT_SENDER_LEVELS.join(','))
    .option('--warmup <duration>', 'sends before each level\'s measured window (not counted)', DEFAULT_WARMUP)
    .option('--duration <duration>', 'how long each level is measured', DEFAULT_LEVEL_DURATION)
    .option('--max-sends <n>', 'at most this many sends per level, warm-up included', String(DEFAULT_MAX_SENDS_PER_LEVEL))
    .option('--kills <n>', `leader kills under ${FAILOVER_SENDERS} senders for failover and catch-up (0 to skip)`, String(DEFAULT_KILLS))
    .option('--runs <n>', 'repeat the whole measurement and report the median of each figure', '1')
    .option('--replicas <n>', 'replicas of the cluster bench starts', String(DEFAULT_REPLICA_COUNT))
    .option('--users <n>', 'accounts to register; senders share them', String(DEFAULT_BENCH_USERS))
    .option('--text-chars <n>', 'characters per message', String(DEFAULT_TEXT_CHARS))
    .option('--config <file>', 'cluster configuration file (JSON; its timing and logLevel) for the cluster bench starts')
    .option('--json', 'print the report as JSON', false)
    .option('--keep-data', 'keep the temp directory of the cluster bench starts', false)
    .addHelpText(
      'after',
      '\nExamples:\n  quorumchat bench                                   own 5-replica cluster in a temp dir\n  quorumchat bench --senders 1,4 --warmup 1s --duration 2s --kills 1\n  quorumchat bench --runs 3                          medians of three runs\n  quorumchat bench --nats nats://127.0.0.1:4222 --kills 0',
    )
    .action(async (raw: Record<string, unknown>) => {
      const int = (flag: string, key: string, min: number, max: number): number =>
        parseFlag(flag, z.coerce.number().int().min(min).max(max), raw[key]);
      const options: BenchOptions = {
        ...(raw['nats'] !== undefined ? { nats: parseFlag('nats', NatsUrlSchema, raw['nats']), security: natsAccessOf(raw, 'client', String(raw['nats'])) } : {}),
        prefix: parseFlag('prefix', PrefixSchema, raw['prefix']),
        senders: parseFlag('senders', SenderLevelsSchema, raw['senders']),
        warmupMs: parseFlag('warmup', DurationSchema.pipe(z.number().max(MAX_LEVEL_DURATION_MS)), raw['warmup']),
        durationMs: parseFlag('duration', DurationSchema.pipe(z.number().positive().max(MAX_LEVEL_DURATION_MS)), raw['duration']),
        maxSends: int('max-sends', 'maxSends', 1, 10_000_000),
        kills: int('kills', 'kills', 0, MAX_KILLS),
        runs: int('runs', 'runs', 1, MAX_RUNS),
        replicas: parseFlag('replicas', ReplicaCountSchema, raw['replicas']),
        users: int('users', 'users', 2, 1_000),
        textChars: int('text-chars', 'textChars', 1, 4_000),
        ...(typeof raw['config'] === 'string' ? { config: raw['config'] } : {}),
        json: raw['json'] === true,
        keepData: raw['keepData'] === true,
      };
      if (options.nats !== undefined && !isLoopbackUrl(options.nats)) {
        throw new UsageError(`--nats ${options.nats}: bench only runs against loopback (127.0.0.1, localhost, ::1), never a cluster elsewhere on the network`);
      }
      if (options.nats !== undefined && options.config !== undefined) {
        throw new UsageError('--config applies only to the cluster bench starts itself; drop it or drop --nats');
      }
      const report = await runBench(options, (line) => process.stderr.write(line + '\n'));
      process.stdout.write((options.json ? JSON.stringify(report, null, 2) : formatBenchReport(report)) + '\n');
      const allFailed = report.levels.every((l) => l.completed === 0);
      process.exitCode = allFailed ? ExitCode.unavailable : ExitCode.ok;
    });
}

/** Runs the whole benchmark; progress lines go to `progress`. */
export async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchReport> {
  let cluster: LocalCluster | null = null;
  let tempRoot: string | null = null;
  const onExit = (): void => cluster?.killNow();
  // Ctrl-C mid-run: stop the cluster bench started (replicas, then NATS), remove its temp dir, exit 130.
  const onSignal = (signal: NodeJS.Signals): void => {
    progress(`bench: ${signal}: stopping`);
    void (async () => {
      await cluster?.stop().catch(() => {});
      if (tempRoot !== null && !options.keepData) rmSync(tempRoot, { recursive: true, force: true });
      process.exit(ExitCode.interrupted);
    })();
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let natsUrl = options.nats;
    let security = options.security;
    if (natsUrl === undefined) {
      const settings = options.config === undefined ? undefined : loadClusterConfig({ file: options.config });
      const replicaSettings = settings === undefined ? undefined : { timing: settings.timing, logLevel: settings.logLevel };
      tempRoot = mkdtempSync(join(tmpdir(), 'quorumchat-bench-'));
      const port = await findFreePort();
      progress(`bench: starting a ${options.replicas}-replica cluster in ${tempRoot}`);
      const started = await LocalCluster.start({
        dataRoot: tempRoot,
        replicaIds: replicaIdsFor(options.replicas),
        port,
        prefix: options.prefix,
        ...(replicaSettings !== undefined ? { replicaSettings } : {}),
        onProgress: (line) => progress(`bench: ${line}`),
      });
      cluster = started.cluster;
      natsUrl = cluster.natsUrl;
      security = cluster.security('client');
      progress(`bench: leader ${started.status.leader} elected`);
      progress(`bench: pids nats-server ${cluster.nats.pid ?? '?'}, ${cluster.supervisor.list().map((r) => `${r.id} ${r.pid ?? '-'}`).join(', ')}`);
    }
    const clients = await Promise.all(
      Array.from({ length: BENCH_CONNECTIONS }, () => ChatClient.connect({ servers: natsUrl, security, prefix: options.prefix, timeoutMs: BENCH_REQUEST_TIMEOUT_MS })),
    );
    try {
      const users = await registerUsers(clients, options.users, progress);
      const text = FILLER.repeat(Math.ceil(options.textChars / FILLER.length)).slice(0, options.textChars);
      const runId = randomBytes(4).toString('hex');
      const send = (sender: number, requestId: string): Promise<void> => {
        const from = users[sender % users.length]!;
        const to = users[(sender + 1) % users.length]!;
        return clients[sender % clients.length]!.send({ token: from.token, to: to.username, text, requestId: `${runId}-${requestId}` }).then(() => {});
      };
      // CPU and RSS only of processes bench started: it knows exactly which they are, and they run nothing else.
      const servers = cluster !== null && procAvailable() ? serverProcesses(cluster) : null;
      const runs: RunResult[] = [];
      for (let run = 1; run <= options.runs; run++) {
        if (options.runs > 1) progress(`bench: run ${run}/${options.runs}`);
        runs.push(await runOnce(options, run, { send, servers, cluster, progress }));
      }
      return {
        cluster: { natsUrl, startedByBench: cluster !== null, replicas: cluster === null ? null : options.replicas },
        machine: { cpus: availableParallelism(), node: process.version },
        load: { runs: options.runs, warmupMs: options.warmupMs, durationMs: options.durationMs, textChars: options.textChars },
        levels: medianOfRuns(runs.map((r) => r.levels)),
        servers: serversFigure(runs, cluster !== null, servers !== null),
        failover: failoverFigure(runs, options, cluster !== null),
      };
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  } finally {
    await cluster?.stop();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (tempRoot !== null) {
      if (options.keepData) progress(`bench: data kept in ${tempRoot}`);
      else rmSync(tempRoot, { recursive: true, force: true });
    }
  }
}

interface RunResult {
  readonly levels: BenchLevel[];
  /** Every RSS sample of the run's measured windows (empty when not measured). */
  readonly rssSamples: RssSample[];
  readonly failover: FailoverSample[] | null;
}

interface RunContext {
  readonly send: (sender: number, requestId: string) => Promise<void>;
  /** The server processes by name, asked afresh each time (a restarted replica has a new pid); null: not measurable. */
  readonly servers: (() => ReadonlyMap<string, number>) | null;
  readonly cluster: LocalCluster | null;
  readonly progress: (line: string) => void;
}

/** One run: every sender level, then the failover trials. */
async function runOnce(options: BenchOptions, run: number, context: RunContext): Promise<RunResult> {
  const { servers, progress } = context;
  const levels: BenchLevel[] = [];
  const rssSamples: RssSample[] = [];
  for (const senders of options.senders) {
    progress(
      `bench: ${senders} sender${senders === 1 ? '' : 's'}: ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s measured (at most ${options.maxSends} sends)`,
    );
    let cpuBefore: ProcessCpu[] = [];
    let cpuAfter: ProcessCpu[] = [];
    let benchCpuAtOpen = process.cpuUsage();
    let benchCpuMs = 0;
    let sampler: RssSampler | null = null;
    let samples: RssSample[] = [];
    const result = await runLoadLevel({
      senders,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      maxOperations: options.maxSends,
      operation: (sender, seq) => context.send(sender, `${run}-${senders}-${seq}`),
      window: {
        onOpen: () => {
          benchCpuAtOpen = process.cpuUsage();
          if (servers === null) return;
          cpuBefore = readProcessCpu([...servers().values()]);
          sampler = new RssSampler(servers);
        },
        onClose: () => {
          const used = process.cpuUsage(benchCpuAtOpen);
          benchCpuMs = (used.user + used.system) / 1_000;
          if (servers === null) return;
          cpuAfter = readProcessCpu([...servers().values()]);
          samples = sampler?.stop() ?? [];
        },
      },
    });
    const serverCpuMs = servers === null ? null : cpuMsBetween(cpuBefore, cpuAfter, CLOCK_TICKS_PER_SECOND);
    rssSamples.push(...samples);
    levels.push({
      ...result,
      serverCpuMs,
      cpuMsPerSend: cpuMsPerSend(serverCpuMs, result.completed),
      benchCpuMsPerSend: cpuMsPerSend(benchCpuMs, result.completed),
      peakRssMiB: servers === null ? null : (rssPeak(samples)?.peakSumMiB ?? null),
    });
    if (result.errors > 0) progress(`bench: ${result.errors} sends failed; first: ${result.firstError}`);
  }
  let failover: FailoverSample[] | null = null;
  if (context.cluster !== null && options.kills > 0) {
    failover = await measureFailover({
      cluster: context.cluster,
      kills: options.kills,
      senders: FAILOVER_SENDERS,
      send: context.send,
      runTag: `${run}-failover`,
      onProgress: (line) => progress(`bench: ${line}`),
    });
  }
  return { levels, rssSamples, failover };
}

/** The processes bench started, by name: every replica that is running, and the NATS server. */
function serverProcesses(cluster: LocalCluster): () => ReadonlyMap<string, number> {
  return () => {
    const processes = new Map<string, number>();
    for (const replica of cluster.supervisor.list()) if (replica.pid !== null) processes.set(replica.id, replica.pid);
    if (cluster.nats.pid !== undefined) processes.set(NATS_PROCESS, cluster.nats.pid);
    return processes;
  };
}

function serversFigure(runs: readonly RunResult[], startedByBench: boolean, measurable: boolean): BenchReport['servers'] {
  if (!startedByBench) return { measured: false, reason: 'n/a: CPU and RSS are measured only for the servers of a cluster bench starts itself (run without --nats)' };
  if (!measurable) return { measured: false, reason: 'n/a: this system has no /proc' };
  const peaks = runs.map((r) => rssPeak(r.rssSamples)).filter((p) => p !== null);
  if (peaks.length === 0) return { measured: false, reason: 'n/a: no RSS sample was taken' };
  const names = [...new Set(peaks.flatMap((p) => Object.keys(p.peakByProcessMiB)))].sort((a, b) =>
    a === NATS_PROCESS ? 1 : b === NATS_PROCESS ? -1 : a.localeCompare(b, 'en', { numeric: true }),
  );
  return {
    measured: true,
    processes: names,
    peakRssMiB: median(peaks.map((p) => p.peakSumMiB)),
    peakRssByProcessMiB: Object.fromEntries(names.map((name) => [name, medianOrNull(peaks.map((p) => p.peakByProcessMiB[name] ?? null)) ?? 0])),
  };
}

function failoverFigure(runs: readonly RunResult[], options: BenchOptions, startedByBench: boolean): BenchFailover {
  if (options.kills === 0) return { measured: false, reason: 'skipped (--kills 0)' };
  if (!startedByBench) return { measured: false, reason: 'not measured: bench can kill the leader only in a cluster it started itself (run without --nats)' };
  const perRun = runs.map((r) => r.failover ?? []).filter((s) => s.length > 0);
  const figure = (pick: (s: FailoverSample) => number, of: (values: number[]) => number): number => median(perRun.map((samples) => of(samples.map(pick))));
  return {
    measured: true,
    senders: FAILOVER_SENDERS,
    samples: runs.flatMap((r, i) => (r.failover ?? []).map((s) => ({ run: i + 1, ...s }))),
    medianMs: figure((s) => s.failoverMs, median),
    maxMs: figure((s) => s.failoverMs, (v) => Math.max(...v)),
    catchUpMedianMs: figure((s) => s.catchUpMs, median),
    catchUpMaxMs: figure((s) => s.catchUpMs, (v) => Math.max(...v)),
    firstStatusMedianMs: figure((s) => s.firstStatusMs, median),
  };
}

interface BenchUser {
  readonly username: string;
  readonly token: string;
}

/** Registers and logs in `count` fresh accounts (names unique to this run, so a live cluster can be benchmarked twice). */
async function registerUsers(clients: readonly ChatClient[], count: number, progress: (line: string) => void): Promise<BenchUser[]> {
  const run = randomBytes(3).toString('hex');
  const password = `bench-${randomBytes(8).toString('hex')}`;
  progress(`bench: registering ${count} accounts`);
  const users: BenchUser[] = [];
  // A few at a time: each registration hashes a password slowly on the leader.
  for (let first = 0; first < count; first += REGISTRATION_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(REGISTRATION_CONCURRENCY, count - first) }, (_, k) => first + k);
    users.push(
      ...(await Promise.all(
        batch.map(async (i) => {
          const client = clients[i % clients.length]!;
          const username = `bench-${run}-${i}`;
          await registerOnce(client, username, password);
          const { token } = await untilAvailable(() => client.login({ username, password }));
          return { username, token };
        }),
      )),
    );
  }
  return users;
}

/**
 * `register` is not idempotent: after an `unavailable` the account may or may
 * not exist, so a retry answered `conflict` means an earlier attempt committed
 * (the name is unique to this run, nobody else could have taken it).
 */
async function registerOnce(client: ChatClient, username: string, password: string): Promise<void> {
  let attempted = false;
  await untilAvailable(async () => {
    try {
      await client.register({ username, password });
    } catch (err) {
      if (!(attempted && err instanceof ConflictError)) {
        attempted = true;
        throw err;
      }
    }
  });
}

/** Retries `op` on UnavailableError (an election, a loaded machine) until SETUP_DEADLINE_MS. */
async function untilAvailable<T>(op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SETUP_DEADLINE_MS;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, SETUP_RETRY_MS));
    }
  }
}

/** The report as aligned tables. */
export function formatBenchReport(report: BenchReport): string {
  const lines: string[] = [];
  const where = report.cluster.startedByBench ? `${report.cluster.replicas} replicas started by bench` : 'live cluster';
  lines.push(`cluster: ${where} at ${report.cluster.natsUrl}; machine: ${report.machine.cpus} CPUs, Node ${report.machine.node}`);
  const { load } = report;
  lines.push(
    `load: closed loop, ${load.warmupMs / 1000} s warm-up + ${load.durationMs / 1000} s measured per level, sends of ${load.textChars} characters` +
      (load.runs > 1 ? `; every figure is the median of ${load.runs} runs` : ''),
  );
  lines.push('');
  const orNa = (value: number | null, digits: number): string => (value === null ? 'n/a' : value.toFixed(digits));
  lines.push(
    formatTable(
      [
        { header: 'senders', value: (l: BenchLevel) => l.senders },
        { header: 'sends', value: (l) => Math.round(l.completed) },
        { header: 'errors', value: (l) => Math.round(l.errors) },
        { header: 'seconds', value: (l) => (l.elapsedMs / 1000).toFixed(1), align: 'right' },
        { header: 'sends/s', value: (l) => l.perSecond.toFixed(1), align: 'right' },
        { header: 'p50 ms', value: (l) => l.p50Ms.toFixed(1), align: 'right' },
        { header: 'p99 ms', value: (l) => l.p99Ms.toFixed(1), align: 'right' },
        { header: 'p99.9 ms', value: (l) => l.p999Ms.toFixed(1), align: 'right' },
        { header: 'max ms', value: (l) => l.maxMs.toFixed(1), align: 'right' },
        { header: 'CPU ms/send', value: (l) => orNa(l.cpuMsPerSend, 2), align: 'right' },
        { header: 'bench CPU ms/send', value: (l) => orNa(l.benchCpuMsPerSend, 2), align: 'right' },
        { header: 'peak RSS MiB', value: (l) => orNa(l.peakRssMiB, 0), align: 'right' },
      ],
      report.levels,
    ),
  );
  lines.push('');
  if (report.servers.measured) {
    const { peakRssByProcessMiB: byProcess, processes } = report.servers;
    const replicas = processes.filter((p) => p !== NATS_PROCESS);
    lines.push(
      `CPU ms/send: utime+stime of the ${replicas.length} replicas and nats-server (/proc/<pid>/stat) over the measured window, per acknowledged send; ` +
        'bench CPU: this process (the load generator)',
    );
    lines.push(
      `peak RSS of the servers: ${report.servers.peakRssMiB.toFixed(0)} MiB (the largest sum at one instant); ` +
        `each process's own peak: ${processes.map((p) => `${p} ${(byProcess[p] ?? 0).toFixed(0)}`).join(', ')}`,
    );
  } else {
    lines.push(`CPU ms/send and peak RSS: ${report.servers.reason}`);
  }
  lines.push('');
  const failover = report.failover;
  if (failover.measured) {
    const several = report.load.runs > 1;
    lines.push(
      formatTable(
        [
          ...(several ? [{ header: 'run', value: (s: FailoverSample & { run: number }) => s.run }] : []),
          { header: 'kill', value: (s: FailoverSample & { run: number }) => s.kill },
          { header: 'killed leader', value: (s) => `${s.killed} (term ${s.killedTerm})` },
          { header: 'new leader', value: (s) => (s.newLeader === null ? null : `${s.newLeader} (term ${s.newTerm})`) },
          { header: 'failover ms', value: (s) => s.failoverMs.toFixed(0), align: 'right' },
          { header: 'failed sends', value: (s) => s.failedSends },
          { header: 'first status ms', value: (s) => s.firstStatusMs.toFixed(0), align: 'right' },
          { header: 'catch-up ms', value: (s) => s.catchUpMs.toFixed(0), align: 'right' },
        ],
        failover.samples,
      ),
    );
    const kills = failover.samples.length / report.load.runs;
    const over = several ? `(medians of ${report.load.runs} runs of ${kills} kill${kills === 1 ? '' : 's'})` : `over ${kills} kill${kills === 1 ? '' : 's'}`;
    lines.push(
      `failover (SIGKILL of the leader under ${failover.senders} senders → first acknowledged send issued after it): median ${failover.medianMs.toFixed(0)} ms, max ${failover.maxMs.toFixed(0)} ms ${over}`,
    );
    lines.push(
      `catch-up (restart of the killed replica → its appliedIndex reaches the leader's commitIndex): median ${failover.catchUpMedianMs.toFixed(0)} ms, max ${failover.catchUpMaxMs.toFixed(0)} ms; ` +
        `its first status answer after the restart: median ${failover.firstStatusMedianMs.toFixed(0)} ms`,
    );
  } else {
    lines.push(`failover: ${failover.reason}`);
  }
  return lines.join('\n');
}
