/**
 * `quorumchat bench`: committed sends/s and p50/p99 latency at several
 * sender concurrencies, then the failover time (leader SIGKILLed → next
 * acknowledged send). Runs against a live cluster (--nats) or, by default, a
 * cluster it starts itself on loopback in a temp directory.
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
import { median, runLoadLevel, type LoadLevelResult } from '../bench/load.ts';
import { measureFailover, type FailoverSample } from '../bench/failover.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { formatTable } from '../format/table.ts';
import { DurationSchema, NatsUrlSchema, PrefixSchema, ReplicaCountSchema, isLoopbackUrl, parseFlag, replicaIdsFor } from '../options.ts';

/** Kept here too: tests and callers import it from bench, where it was born. */
export { isLoopbackUrl } from '../options.ts';
import { LocalCluster } from '../supervisor/local-cluster.ts';
import { findFreePort } from '../supervisor/nats-server.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';

/** The concurrencies the brief asks for. */
export const DEFAULT_SENDER_LEVELS = [1, 16, 64, 256] as const;
/** Long enough for a stable rate at each level, short enough that the whole bench takes well under a minute of load. */
export const DEFAULT_LEVEL_DURATION = '5s';
/** Bounds each level's count as well as its time, so a very fast cluster cannot fill a disk. */
export const DEFAULT_MAX_SENDS_PER_LEVEL = 50_000;
/** Several kills give a median and a maximum; each costs an election plus a restart and catch-up. */
export const DEFAULT_KILLS = 3;
/** Registration hashes a password slowly on the leader; 16 accounts are enough distinct conversations. */
export const DEFAULT_BENCH_USERS = 16;
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
/** A typical short chat message. */
const DEFAULT_TEXT_CHARS = 100;

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
  readonly durationMs: number;
  readonly maxSends: number;
  readonly kills: number;
  readonly replicas: number;
  readonly users: number;
  readonly textChars: number;
  readonly config?: string;
  readonly json: boolean;
  readonly keepData: boolean;
}

export interface BenchReport {
  readonly cluster: { readonly natsUrl: string; readonly startedByBench: boolean; readonly replicas: number | null };
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly levels: readonly LoadLevelResult[];
  readonly failover:
    | { readonly measured: true; readonly samples: readonly FailoverSample[]; readonly medianMs: number; readonly maxMs: number }
    | { readonly measured: false; readonly reason: string };
}

export function registerBenchCommand(program: Command): void {
  addNatsAccessOptions(program.command('bench'))
    .description('measure committed sends/s, p50/p99 latency at several concurrencies, and failover time')
    .option('--nats <url>', 'benchmark this live cluster on loopback instead of starting one (failover is then not measured)')
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--senders <list>', 'concurrent senders per level, comma-separated', DEFAULT_SENDER_LEVELS.join(','))
    .option('--duration <duration>', 'how long each level sends', DEFAULT_LEVEL_DURATION)
    .option('--max-sends <n>', 'at most this many sends per level', String(DEFAULT_MAX_SENDS_PER_LEVEL))
    .option('--kills <n>', 'leader kills for the failover time (0 to skip)', String(DEFAULT_KILLS))
    .option('--replicas <n>', 'replicas of the cluster bench starts', String(DEFAULT_REPLICA_COUNT))
    .option('--users <n>', 'accounts to register; senders share them', String(DEFAULT_BENCH_USERS))
    .option('--text-chars <n>', 'characters per message', String(DEFAULT_TEXT_CHARS))
    .option('--config <file>', 'cluster configuration file (JSON; its timing and logLevel) for the cluster bench starts')
    .option('--json', 'print the report as JSON', false)
    .option('--keep-data', 'keep the temp directory of the cluster bench starts', false)
    .addHelpText(
      'after',
      '\nExamples:\n  quorumchat bench                                   own 5-replica cluster in a temp dir\n  quorumchat bench --senders 1,4 --duration 2s --kills 1\n  quorumchat bench --nats nats://127.0.0.1:4222 --kills 0',
    )
    .action(async (raw: Record<string, unknown>) => {
      const int = (flag: string, key: string, min: number, max: number): number =>
        parseFlag(flag, z.coerce.number().int().min(min).max(max), raw[key]);
      const options: BenchOptions = {
        ...(raw['nats'] !== undefined ? { nats: parseFlag('nats', NatsUrlSchema, raw['nats']), security: natsAccessOf(raw, 'client', String(raw['nats'])) } : {}),
        prefix: parseFlag('prefix', PrefixSchema, raw['prefix']),
        senders: parseFlag('senders', SenderLevelsSchema, raw['senders']),
        durationMs: parseFlag('duration', DurationSchema.pipe(z.number().max(MAX_LEVEL_DURATION_MS)), raw['duration']),
        maxSends: int('max-sends', 'maxSends', 1, 10_000_000),
        kills: int('kills', 'kills', 0, MAX_KILLS),
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
      const text = 'x'.repeat(options.textChars);
      const runId = randomBytes(4).toString('hex');
      const levels: LoadLevelResult[] = [];
      for (const senders of options.senders) {
        progress(`bench: ${senders} sender${senders === 1 ? '' : 's'} for ${options.durationMs / 1000} s (at most ${options.maxSends} sends)`);
        const result = await runLoadLevel({
          senders,
          durationMs: options.durationMs,
          maxOperations: options.maxSends,
          operation: async (sender, seq) => {
            const from = users[sender % users.length]!;
            const to = users[(sender + 1) % users.length]!;
            const client = clients[sender % clients.length]!;
            await client.send({ token: from.token, to: to.username, text, requestId: `${runId}-${senders}-${seq}` });
          },
        });
        levels.push(result);
        if (result.errors > 0) progress(`bench: ${result.errors} sends failed; first: ${result.firstError}`);
      }
      let failover: BenchReport['failover'];
      if (options.kills === 0) {
        failover = { measured: false, reason: 'skipped (--kills 0)' };
      } else if (cluster === null) {
        failover = { measured: false, reason: 'not measured: bench can kill the leader only in a cluster it started itself (run without --nats)' };
      } else {
        const from = users[0]!;
        const to = users[1]!;
        const client = clients[0]!;
        const samples = await measureFailover({
          cluster,
          kills: options.kills,
          probe: async (seq) => {
            await client.send({ token: from.token, to: to.username, text, requestId: `${runId}-failover-${seq}` });
          },
          onProgress: (line) => progress(`bench: ${line}`),
        });
        const times = samples.map((s) => s.failoverMs);
        failover = { measured: true, samples, medianMs: median(times), maxMs: Math.max(...times) };
      }
      return {
        cluster: { natsUrl, startedByBench: cluster !== null, replicas: cluster === null ? null : options.replicas },
        machine: { cpus: availableParallelism(), node: process.version },
        levels,
        failover,
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
  lines.push('');
  lines.push(
    formatTable(
      [
        { header: 'senders', value: (l: LoadLevelResult) => l.senders },
        { header: 'sends', value: (l) => l.completed },
        { header: 'errors', value: (l) => l.errors },
        { header: 'seconds', value: (l) => (l.elapsedMs / 1000).toFixed(1), align: 'right' },
        { header: 'sends/s', value: (l) => l.perSecond.toFixed(1), align: 'right' },
        { header: 'p50 ms', value: (l) => l.p50Ms.toFixed(1), align: 'right' },
        { header: 'p99 ms', value: (l) => l.p99Ms.toFixed(1), align: 'right' },
        { header: 'max ms', value: (l) => l.maxMs.toFixed(1), align: 'right' },
      ],
      report.levels,
    ),
  );
  lines.push('');
  if (report.failover.measured) {
    lines.push(
      formatTable(
        [
          { header: 'kill', value: (s: FailoverSample) => s.kill },
          { header: 'killed leader', value: (s) => `${s.killed} (term ${s.killedTerm})` },
          { header: 'new leader', value: (s) => (s.newLeader === null ? null : `${s.newLeader} (term ${s.newTerm})`) },
          { header: 'failover ms', value: (s) => s.failoverMs.toFixed(0), align: 'right' },
          { header: 'failed sends', value: (s) => s.failedSends },
        ],
        report.failover.samples,
      ),
    );
    lines.push(
      `failover (SIGKILL of the leader → next acknowledged send): median ${report.failover.medianMs.toFixed(0)} ms, max ${report.failover.maxMs.toFixed(0)} ms over ${report.failover.samples.length} kill${report.failover.samples.length === 1 ? '' : 's'}`,
    );
  } else {
    lines.push(`failover: ${report.failover.reason}`);
  }
  return lines.join('\n');
}
