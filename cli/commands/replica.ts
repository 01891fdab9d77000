/**
 * `quorumchat replica`: runs one replica in the foreground, for multi-host
 * deployments (every host runs its own nats-server joined into one NATS
 * cluster) and for `quorumchat up`, which starts five of these.
 *
 * Logs are pino JSON lines on stdout. SIGTERM or SIGINT stops it cleanly:
 * it stops taking requests, finishes the in-flight persist, closes its store
 * and NATS, and exits 0. It exits non-zero when it cannot start (bad
 * configuration, wiped data directory with an old id, corrupt store) or when
 * it stops on its own because carrying out the core's effects failed.
 *
 * `--join` (docs/operators.md, "Adding a replica"): no --peers; the replica
 * asks the running cluster to add it as a learner, starts from the
 * configuration it is given, catches up, and the leader's monitor promotes
 * it once caught up and stable (unless --standby or --no-promote).
 * A replica the cluster removed stops by itself and exits 0; started again
 * without --join it refuses (exit 3).
 */
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { loadReplicaConfig, type ReplicaConfig } from '../../config/index.ts';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { Knex } from 'knex';
import {
  checkIdUnused,
  DisownedReplicaError,
  DuplicateReplicaError,
  initialConfiguration,
  JoinRefusedError,
  RemovedReplicaError,
  requestJoin,
  startReplica,
  WipedReplicaError,
  type Replica,
  type ReplicaWorld,
  type RuntimeClock,
} from '../../actors/replica/index.ts';
import type { Configuration } from '../../actors/raft/types.ts';
import type { ReplacementNotice } from '../../actors/protocol/index.ts';
import { natsPeerTransport } from '../../actors/replica/nats-transport.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { CHAT_MIGRATIONS, type Delivery } from '../../actors/chat/index.ts';
import { NatsLink, OPEN_CLUSTER_WARNING } from '../../actors/transport/nats-connection.ts';
import { natsBus } from '../../actors/transport/nats-bus.ts';
import { claimDataDirectory, CorruptStoreError, openReplicaStore, raftStartOf, StoreConfigError } from '../../storage/index.ts';
import { CliError, ExitCode } from '../errors.ts';
import { addNatsSecurityOptions, natsSecurityOverrides, type NatsSecurityFlags } from '../nats-access.ts';

interface ReplicaFlags extends NatsSecurityFlags {
  readonly id?: string;
  readonly peers?: string;
  readonly nats?: string;
  readonly data?: string;
  readonly config?: string;
  readonly prefix?: string;
  readonly logLevel?: string;
  readonly join?: boolean;
  readonly standby?: boolean;
  /** commander's negated `--no-promote`: false when given. */
  readonly promote?: boolean;
  readonly provisionCmd?: string;
}

export function registerReplicaCommand(program: Command): void {
  addNatsSecurityOptions(program.command('replica'))
    .description('run one replica of a cluster in the foreground (stop it with SIGTERM or Ctrl-C)')
    .option('--id <id>', "this replica's id, e.g. r1 (never reuse an id for a wiped data directory)")
    .option('--peers <ids>', "every initial voter's id, comma-separated, this replica's own included, e.g. r1,r2,r3,r4,r5")
    .option('--nats <urls>', 'NATS server(s), comma-separated, e.g. nats://127.0.0.1:4222')
    .option('--data <dir>', "this replica's data directory (created if missing)")
    .option('--config <file>', 'JSON file with any part of the replica configuration (timing, limits, snapshotEvery, ...); flags override it')
    .option('--prefix <prefix>', 'NATS subject prefix of the cluster (default quorumchat)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--join', 'ask the running cluster to add this replica as a learner (no --peers needed); promoted once caught up and stable')
    .option('--standby', 'with --join: stay a caught-up learner until the monitor needs a voter')
    .option('--no-promote', 'with --join: stay a learner; only an operator promotes it')
    .option('--provision-cmd <template>', 'run on the leader for each replacement its monitor asks for; {id} {replaces} {nats} {prefix} are filled in (docs/operators.md)')
    .addHelpText(
      'after',
      '\nExit codes: 0 after a clean stop or once the cluster removed it, 2 for a bad flag or configuration, 3 when the data directory cannot be used' +
        ' (wiped with an old id, removed from the cluster, corrupt, or the id already runs), 4 when --join found no leader to add it, 1 when the replica failed while running.' +
        '\n\nExamples:\n  quorumchat replica --id r1 --peers r1,r2,r3,r4,r5 --nats nats://127.0.0.1:4222 --data ./data/r1' +
        '\n  quorumchat replica --id r6 --join --nats nats://127.0.0.1:4222 --data ./data/r6',
    )
    .action(async (flags: ReplicaFlags) => {
      const config = loadReplicaConfig({
        file: flags.config,
        overrides: {
          id: flags.id,
          peers: flags.peers,
          nats: { servers: flags.nats, ...natsSecurityOverrides(flags) },
          dataDir: flags.data,
          prefix: flags.prefix,
          logLevel: flags.logLevel,
          join: flags.join,
          intent: intentOf(flags),
          provisionCmd: flags.provisionCmd,
        },
      });
      await runReplica(config);
    });
}

/** --standby / --no-promote as the learner's intent; undefined leaves the configuration's. */
function intentOf(flags: ReplicaFlags): 'standby' | 'learner' | undefined {
  if (flags.standby === true && flags.promote === false) throw new CliError('--standby and --no-promote exclude each other', ExitCode.usage);
  if ((flags.standby === true || flags.promote === false) && flags.join !== true) throw new CliError('--standby and --no-promote go with --join', ExitCode.usage);
  return flags.standby === true ? 'standby' : flags.promote === false ? 'learner' : undefined;
}

/** Runs until SIGTERM/SIGINT (clean exit), its removal from the cluster (clean exit), or a fatal error (throws). */
export async function runReplica(config: ReplicaConfig): Promise<void> {
  const logger: Logger = pino({ level: config.logLevel, base: { replica: config.id } });
  const link = await NatsLink.connect({ servers: config.nats.servers, security: config.nats, name: `quorumchat-${config.id}`, waitOnFirstConnect: true });
  if (link.open) logger.warn({ nats: config.nats.servers }, OPEN_CLUSTER_WARNING);
  else logger.info({ nats: config.nats.servers, as: link.identity }, 'NATS authenticated');
  link.onRefused((refusal) => logger.error({ ...refusal, as: link.identity }, 'NATS refused this replica a subject: it needs the replica credential (docs/security.md)'));
  link.onStatus((linkStatus) => logger.warn({ nats: linkStatus }, 'NATS connection'));
  let replica: Replica;
  try {
    const world = productionWorld(config, link, logger);
    // Joining: before the store is opened (its starting configuration is the one the cluster answers with).
    let initialConfig = initialConfiguration(config.peers);
    if (config.join) {
      await checkIdUnused({ bus: world.bus, prefix: config.prefix, id: config.id });
      const dataId = await claimDataDirectory({ dataDir: config.dataDir, replicaId: config.id, migrations: CHAT_MIGRATIONS, logger });
      const joined = await requestJoin({ bus: world.bus, clock: systemClock, prefix: config.prefix, id: config.id, intent: config.intent, dataId, log: logger });
      initialConfig = joined.configuration;
    }
    const peers = config.join ? [...initialConfig.voters, ...initialConfig.learners] : config.peers;
    // Only a joined replica announces an intent: a learner an operator added by hand is promoted by hand.
    const { intent, ...rest } = config;
    replica = await startReplica({ ...rest, peers, ...(config.join ? { intent } : {}) }, { ...world, ...storeOf(config, logger, initialConfig), joined: config.join, skipWipeCheck: config.join && !initialConfig.voters.includes(config.id) });
  } catch (error) {
    await link.close().catch(() => undefined);
    if (
      error instanceof WipedReplicaError ||
      error instanceof DisownedReplicaError ||
      error instanceof RemovedReplicaError ||
      error instanceof DuplicateReplicaError ||
      error instanceof CorruptStoreError ||
      error instanceof StoreConfigError
    ) {
      throw new CliError(error.message, ExitCode.environment);
    }
    if (error instanceof JoinRefusedError) throw new CliError(error.message, ExitCode.unavailable);
    throw error;
  }
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const outcome = await Promise.race([
    signalled.then((signal) => ({ signal })),
    replica.failed.then((error) => ({ error })),
    replica.removed.then((evidence) => ({ evidence })),
  ]);
  if ('signal' in outcome) logger.info({ signal: outcome.signal }, 'stopping');
  if ('evidence' in outcome) logger.info({ evidence: outcome.evidence }, 'removed from the cluster; stopping and exiting 0 (start it with --join to bring it back)');
  await replica.stop();
  await link.close().catch(() => undefined);
  logger.flush();
  if ('error' in outcome) throw new CliError(`replica ${config.id} stopped: ${outcome.error.message}`, ExitCode.failure);
}

/**
 * The replica's world in production: NATS for the bus and the peer
 * transport, Knex/SQLite for the store, the chat tables as the application,
 * the system clock and node:crypto.
 */
function productionWorld(config: ReplicaConfig, link: NatsLink, logger: Logger): ReplicaWorld<Knex, Delivery> {
  return {
    bus: natsBus(link, (error, subject) => logger.debug({ err: error, subject }, 'NATS publish or reply failed')),
    clock: systemClock,
    random: {
      uuid: () => randomUUID(),
      bytes: (n) => randomBytes(n),
      // A fresh seed per process keeps replicas' election jitter apart.
      coreSeed: () => randomInt(0, 2 ** 31 - 1),
    },
    logger,
    pid: process.pid,
    gather: async () => await new Promise<void>((resolve) => setImmediate(resolve)),
    ...storeOf(config, logger, initialConfiguration(config.peers)),
    createTransport: async () => await natsPeerTransport({ link, prefix: config.prefix, id: config.id, dataDir: config.dataDir, config, logger }),
    ...(config.provisionCmd === undefined ? {} : { provision: provisioner(config, config.provisionCmd, logger) }),
  };
}

/** The store under `config.dataDir`, starting from `initialConfig` when it holds nothing yet. */
function storeOf(config: ReplicaConfig, logger: Logger, initialConfig: Configuration): Pick<ReplicaWorld<Knex, Delivery>, 'openStore'> {
  return {
    async openStore() {
      const store = await openReplicaStore({ dataDir: config.dataDir, replicaId: config.id, migrations: CHAT_MIGRATIONS, logger, initialConfig });
      try {
        const loaded = await store.load();
        return {
          store,
          start: raftStartOf(loaded, initialConfig),
          empty: loaded.hardState.term === 0 && loaded.entries.length === 0 && loaded.snapshot === null && loaded.applied.index === 0,
          dataId: loaded.dataId,
          application: chatApplication({ prefix: config.prefix, reader: store.reader, log: logger }),
        };
      } catch (error) {
        await store.close().catch(() => undefined);
        throw error;
      }
    },
  };
}

/**
 * `--provision-cmd`: the template with {id} {replaces} {nats} {prefix}
 * filled in (each shell-quoted), run by /bin/sh in its own process group so
 * it outlives this replica (it starts a replica elsewhere, or hands the
 * request to an agent). Its exit is logged; its output goes nowhere.
 */
function provisioner(config: ReplicaConfig, template: string, logger: Logger): (notice: ReplacementNotice) => void {
  return (notice) => {
    const values: Record<string, string> = { id: notice.suggestedId, replaces: notice.replaces, nats: config.nats.servers.join(','), prefix: config.prefix };
    const command = template.replace(/\{(id|replaces|nats|prefix)\}/g, (_, key: string) => shellQuote(values[key] ?? ''));
    try {
      const child = spawn('/bin/sh', ['-c', command], { stdio: 'ignore', detached: true });
      child.once('error', (error) => logger.error({ err: error, command }, 'provision command could not start'));
      child.once('exit', (code, signal) => logger.info({ command, code, signal }, 'provision command finished'));
      child.unref();
      logger.info({ command, pid: child.pid, replaces: notice.replaces, id: notice.suggestedId }, 'provision command started');
    } catch (error) {
      logger.error({ err: error, command }, 'provision command could not start');
    }
  };
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The system clock: wall time and Node timers. */
const systemClock: RuntimeClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
  sleep: async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)),
});
