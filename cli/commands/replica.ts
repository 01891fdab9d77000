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
 */
import type { Command } from 'commander';
import { pino, type Logger } from 'pino';
import { loadReplicaConfig, type ReplicaConfig } from '../../config/index.ts';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { DuplicateReplicaError, initialConfiguration, startReplica, WipedReplicaError, type Replica, type ReplicaWorld, type RuntimeClock } from '../../actors/replica/index.ts';
import { natsPeerTransport } from '../../actors/replica/nats-transport.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { CHAT_MIGRATIONS, type Delivery } from '../../actors/chat/index.ts';
import { NatsLink, OPEN_CLUSTER_WARNING } from '../../actors/transport/nats-connection.ts';
import { natsBus } from '../../actors/transport/nats-bus.ts';
import { CorruptStoreError, openReplicaStore, raftStartOf, StoreConfigError } from '../../storage/index.ts';
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
    .addHelpText(
      'after',
      '\nExit codes: 0 after a clean stop, 2 for a bad flag or configuration, 3 when the data directory cannot be used' +
        ' (wiped with an old id, corrupt, or the id already runs), 1 when the replica failed while running.' +
        '\n\nExample:\n  quorumchat replica --id r1 --peers r1,r2,r3,r4,r5 --nats nats://127.0.0.1:4222 --data ./data/r1',
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
        },
      });
      await runReplica(config);
    });
}

/** Runs until SIGTERM/SIGINT (clean exit) or a fatal error (throws). */
export async function runReplica(config: ReplicaConfig): Promise<void> {
  const logger: Logger = pino({ level: config.logLevel, base: { replica: config.id } });
  const link = await NatsLink.connect({ servers: config.nats.servers, security: config.nats, name: `quorumchat-${config.id}`, waitOnFirstConnect: true });
  if (link.open) logger.warn({ nats: config.nats.servers }, OPEN_CLUSTER_WARNING);
  else logger.info({ nats: config.nats.servers, as: link.identity }, 'NATS authenticated');
  link.onRefused((refusal) => logger.error({ ...refusal, as: link.identity }, 'NATS refused this replica a subject: it needs the replica credential (docs/security.md)'));
  link.onStatus((linkStatus) => logger.warn({ nats: linkStatus }, 'NATS connection'));
  let replica: Replica;
  try {
    replica = await startReplica(config, productionWorld(config, link, logger));
  } catch (error) {
    await link.close().catch(() => undefined);
    if (error instanceof WipedReplicaError || error instanceof DuplicateReplicaError || error instanceof CorruptStoreError || error instanceof StoreConfigError) {
      throw new CliError(error.message, ExitCode.environment);
    }
    throw error;
  }
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const outcome = await Promise.race([signalled.then((signal) => ({ signal })), replica.failed.then((error) => ({ error }))]);
  if ('signal' in outcome) logger.info({ signal: outcome.signal }, 'stopping');
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
function productionWorld(config: ReplicaConfig, link: NatsLink, logger: Logger): ReplicaWorld<Knex.Transaction, Delivery> {
  const initialConfig = initialConfiguration(config.peers);
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
    async openStore() {
      const store = await openReplicaStore({ dataDir: config.dataDir, replicaId: config.id, migrations: CHAT_MIGRATIONS, logger, initialConfig });
      try {
        const loaded = await store.load();
        return {
          store,
          start: raftStartOf(loaded, initialConfig),
          empty: loaded.hardState.term === 0 && loaded.entries.length === 0 && loaded.snapshot === null && loaded.applied.index === 0,
          application: chatApplication({ prefix: config.prefix, reader: store.reader, log: logger }),
        };
      } catch (error) {
        await store.close().catch(() => undefined);
        throw error;
      }
    },
    createTransport: async () => await natsPeerTransport({ link, prefix: config.prefix, id: config.id, dataDir: config.dataDir, config, logger }),
  };
}

/** The system clock: wall time and Node timers. */
const systemClock: RuntimeClock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (id: unknown) => clearTimeout(id as NodeJS.Timeout),
  sleep: async (ms: number) => await new Promise<void>((resolve) => setTimeout(resolve, ms)),
});
