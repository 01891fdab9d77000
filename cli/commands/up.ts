/**
 * `quorumchat up`: the embedded default. Starts a loopback nats-server and
 * the replicas under ./data, waits for a leader, prints the cluster's state
 * and how to connect, and stops everything cleanly on Ctrl-C / SIGTERM
 * (replicas first, then NATS). A second `up` on the same data resumes.
 */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { loadClusterConfig, type ClusterConfig } from '../../config/index.ts';
import {
  DEFAULT_DATA_ROOT,
  DEFAULT_NATS_PORT,
  DEFAULT_PREFIX,
  DEFAULT_REPLICA_COUNT,
  MAX_REPLICA_COUNT,
} from '../../config/defaults.ts';
import { ExitCode, UsageError, describeError, exitCodeOf } from '../errors.ts';
import { formatClusterStatus } from '../format/status.ts';
import { DurationSchema, PortSchema, ReplicaCountSchema, parseFlag, replicaIdsFor } from '../options.ts';
import { LeaderWaitTimeoutError, type ClusterStatus } from '../supervisor/cluster-status.ts';
import type { ClusterSupervisor } from '../supervisor/cluster-supervisor.ts';
import { LocalCluster, LEADER_WAIT_TIMEOUT_MS } from '../supervisor/local-cluster.ts';
import { DEFAULT_NATS_FALLBACK_DIRS } from '../supervisor/nats-server.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';


/** What a running `up` hands to the terminal UI. */
export interface UpSession {
  readonly supervisor: ClusterSupervisor;
  readonly natsUrl: string;
  /** The operator's credentials (under the data root): what up's own UI connects with. */
  readonly security: NatsSecuritySettings;
  readonly prefix: string;
  readonly dataRoot: string;
  /** The status when the first leader was elected. */
  readonly initialStatus: ClusterStatus;
  /** Aborted when the operator sends SIGINT/SIGTERM: the UI should close and resolve. */
  readonly shutdown: AbortSignal;
}

/**
 * Opens the terminal UI on a running cluster and resolves when the operator
 * quits it; `up` then stops the cluster. Supplied by cli/tui through main.ts.
 */
export type OpenUpUi = (session: UpSession) => Promise<void>;

export interface UpOptions {
  /** Replica count, data root, NATS port, prefix, timing and log level (config/ ClusterConfig). */
  readonly cluster: ClusterConfig;
  readonly headless: boolean;
  readonly leaderTimeoutMs: number;
  /** Use this nats-server binary instead of searching. */
  readonly natsServer?: string;
  /** Search /usr/sbin after PATH (default true). */
  readonly natsFallback: boolean;
}

export interface UpIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly stdoutIsTty: boolean;
}

export function registerUpCommand(program: Command, hooks: { openUi?: OpenUpUi } = {}): void {
  program
    .command('up')
    .description('start a local cluster: a loopback nats-server and the replicas under --data; Ctrl-C stops it')
    .option('--data <dir>', `data root: each replica keeps <dir>/<id>, e.g. ${DEFAULT_DATA_ROOT}/r1 (default: ${DEFAULT_DATA_ROOT})`)
    .option('--replicas <n>', `how many replicas, r1..rN (1 to ${MAX_REPLICA_COUNT}; default: ${DEFAULT_REPLICA_COUNT})`)
    .option('--port <port>', `port of the embedded nats-server on 127.0.0.1 (default: ${DEFAULT_NATS_PORT})`)
    .option('--prefix <prefix>', `subject prefix of the cluster (default: ${DEFAULT_PREFIX})`)
    .option('--config <file>', 'cluster configuration file (JSON: replicas, dataRoot, nats.port, prefix, timing, logLevel); flags override it')
    .option('--headless', 'print the cluster state and wait for Ctrl-C instead of opening the terminal UI (always so when stdout is not a terminal)', false)
    .option('--leader-timeout <duration>', 'give up if no leader is elected within this', `${LEADER_WAIT_TIMEOUT_MS / 1000}s`)
    .option('--nats-server <path>', 'the nats-server binary to run (default: search PATH, then /usr/sbin)')
    .option('--no-heal', "do not start replacements when the leader's monitor asks for them (docs/operators.md)")
    .option('--no-nats-fallback', `search only PATH for nats-server, not ${DEFAULT_NATS_FALLBACK_DIRS.join(', ')}`)
    .addHelpText(
      'after',
      '\nExamples:\n  quorumchat up                       five replicas under ./data, NATS on 127.0.0.1:4222\n  quorumchat up --headless --port 4333 --data /tmp/qc\n  quorumchat up --replicas 3 --no-heal' +
        '\n\nA second `up` with the same --data resumes the cluster where it stopped.' +
        "\nSelf-healing: when the leader's monitor declares a voter dead it asks for a replacement, and `up` starts one" +
        ' with a new id (r6, r7, ...) and a fresh data directory (the dead one is kept); --no-heal turns that off.',
    )
    .action(async (raw: Record<string, unknown>) => {
      const cluster = loadClusterConfig({
        file: typeof raw['config'] === 'string' ? raw['config'] : undefined,
        overrides: {
          dataRoot: raw['data'],
          replicas: raw['replicas'] === undefined ? undefined : parseFlag('replicas', ReplicaCountSchema, raw['replicas']),
          nats: { port: raw['port'] === undefined ? undefined : parseFlag('port', PortSchema, raw['port']) },
          prefix: raw['prefix'],
          // commander's --no-heal: false when given, true otherwise (then the file decides).
          heal: raw['heal'] === false ? false : undefined,
        },
      });
      const options: UpOptions = {
        cluster,
        headless: raw['headless'] === true,
        leaderTimeoutMs: parseFlag('leader-timeout', DurationSchema, raw['leaderTimeout']),
        ...(typeof raw['natsServer'] === 'string' ? { natsServer: raw['natsServer'] } : {}),
        natsFallback: raw['natsFallback'] !== false,
      };
      const io: UpIo = {
        out: (line) => process.stdout.write(line + '\n'),
        err: (line) => process.stderr.write(line + '\n'),
        stdoutIsTty: process.stdout.isTTY === true,
      };
      process.exitCode = await runUp(options, io, hooks.openUi);
    });
}

/** Runs `up` to completion (until a signal or the UI quits); returns the exit code. */
export async function runUp(options: UpOptions, io: UpIo, openUi?: OpenUpUi): Promise<ExitCode> {
  const shutdown = new AbortController();
  let signals = 0;
  let cluster: LocalCluster | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      io.out(`\n${signal}: stopping the replicas, then nats-server ...`);
      shutdown.abort();
    } else {
      io.err(`${signal} again: killing everything now`);
      cluster?.killNow();
      process.exit(ExitCode.interrupted);
    }
  };
  // Last resort if this process dies some other way: never leave replicas or nats-server behind.
  const onExit = (): void => cluster?.killNow();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    const config = options.cluster;
    assertLoopback(config.nats.host);
    const { cluster: started, status } = await LocalCluster.start({
      dataRoot: config.dataRoot,
      replicaIds: replicaIdsFor(config.replicas),
      port: config.nats.port,
      prefix: config.prefix,
      // The monitor keeps as many voters as `up` started, unless the configuration file says otherwise.
      replicaSettings: { timing: config.timing, logLevel: config.logLevel, monitor: { targetVoters: config.replicas, ...config.monitor } },
      heal: config.heal,
      find: options.natsServer !== undefined ? { binary: options.natsServer } : options.natsFallback ? {} : { fallbackDirs: [] },
      leaderTimeoutMs: options.leaderTimeoutMs,
      onProgress: (line) => io.out(line),
      signal: shutdown.signal,
    });
    cluster = started;
    const session: UpSession = {
      supervisor: started.supervisor,
      natsUrl: started.natsUrl,
      security: started.security('operator'),
      prefix: started.prefix,
      dataRoot: started.dataRoot,
      initialStatus: status,
      shutdown: shutdown.signal,
    };
    if (options.headless || !io.stdoutIsTty || openUi === undefined) {
      printReady(io, session, started);
      reportUnexpectedExits(io, started.supervisor);
      await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
    } else {
      await openUi(session);
    }
    await started.stop();
    io.out('stopped: every replica and nats-server have exited');
    return ExitCode.ok;
  } catch (err) {
    if (shutdown.signal.aborted) {
      await cluster?.stop();
      io.out('stopped before the cluster was up');
      return ExitCode.ok;
    }
    await cluster?.stop();
    io.err(`quorumchat up: ${describeError(err)}`);
    if (err instanceof LeaderWaitTimeoutError) {
      if (err.last !== null) io.err(`the replicas' last answers:\n${formatClusterStatus(err.last)}`);
      io.err(`see the replica logs: ${join(resolve(options.cluster.dataRoot), '<id>', 'replica.log')}`);
    }
    return exitCodeOf(err);
  } finally {
    process.off('exit', onExit);
    // Interrupted: the process is on its way out, and a second Ctrl-C that lands after the stop finished
    // must still mean "again" (exit 130), not Node's default death by signal. Otherwise hand the signals back.
    if (signals === 0) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}

function printReady(io: UpIo, session: UpSession, cluster: LocalCluster): void {
  const nats = session.natsUrl;
  const prefixFlag = session.prefix === DEFAULT_PREFIX ? '' : ` --prefix ${session.prefix}`;
  // The tools find up's credentials under ./data by themselves; elsewhere they need --data.
  const dataFlag = resolve(DEFAULT_DATA_ROOT) === session.dataRoot ? '' : ` --data ${session.dataRoot}`;
  io.out('');
  io.out(formatClusterStatus(session.initialStatus));
  io.out('');
  io.out(`quorumchat is up: ${session.supervisor.replicaIds.length} replicas, leader ${session.initialStatus.leader}`);
  io.out(`  NATS      ${nats}   (subject prefix '${session.prefix}')`);
  io.out(`  chat      quorumchat chat --nats ${nats}${prefixFlag}${dataFlag}`);
  io.out(`  status    quorumchat status --nats ${nats}${prefixFlag}${dataFlag}`);
  io.out(`  secured   NATS requires credentials: ${join(session.dataRoot, 'credentials')}/{client,operator,replica}.json (docs/security.md)`);
  io.out(`  data      ${session.dataRoot}   (replica logs: <id>/replica.log, NATS log: nats-server.log)`);
  io.out(`  pids      nats-server ${cluster.nats.pid ?? '?'}, ${session.supervisor.list().map((r) => `${r.id} ${r.pid ?? '-'}`).join(', ')}`);
  io.out('Press Ctrl-C to stop.');
}

function reportUnexpectedExits(io: UpIo, supervisor: ClusterSupervisor): void {
  supervisor.on('exit', (event) => {
    if (event.requested) return;
    const how = event.signal !== null ? `signal ${event.signal}` : `code ${event.code}`;
    io.err(`replica ${event.id} exited unexpectedly (${how}); see ${supervisor.logPathOf(event.id)}`);
  });
}

/** `up` runs a local development cluster; a multi-host deployment runs `quorumchat replica` per host (docker/). */
function assertLoopback(host: string): void {
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return;
  throw new UsageError(`nats.host '${host}' is not a loopback address: quorumchat up only runs a local cluster (see docs/cli.md, "Multi-host deployment")`);
}
