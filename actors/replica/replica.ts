/**
 * One running replica: store + consensus core + peer transport + client
 * protocol, wired so that every Ready is carried out strictly in order
 * (pipeline.ts): persist → send → apply.
 *
 *   startReplica(config, options)  opens everything and starts serving
 *   replica.stop()                 stops accepting, finishes the in-flight persist, closes
 *   replica.failed                 resolves with the error that stopped it, if any
 */
import { randomInt } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createRaftActor, viewOf, type RaftActor } from '../raft/index.ts';
import type { Configuration, CoreView, Message, RaftEvent, RaftInput, ReplicaId, SnapshotMeta } from '../raft/types.ts';
import { openReplicaStore, raftStartOf, type ReplicaStore } from '../../storage/index.ts';
import { CHAT_MIGRATIONS, type ScryptCost } from '../chat/index.ts';
import type { PeerTransport, ReceivedSnapshot } from '../transport/types.ts';
import { NatsLink } from '../transport/nats-connection.ts';
import type { ReplicaConfig } from '../../config/index.ts';
import { createPipeline, type Pipeline } from './pipeline.ts';
import { Waiters } from './waiters.ts';
import { applyCommitted, type CommandReply } from './apply.ts';
import { RequestHandler } from './requests.ts';
import { buildClusterBody, buildStatus, type ReplicaStatus } from './status.ts';
import { createInspectionPublisher, type InspectionPublisher } from './inspect.ts';
import { checkIdUnused, checkNotWiped } from './guard.ts';
import { adminQueueGroup, apiQueueGroup, forwardSubject, inspectSubject, liveSubject, statusSubject } from '../protocol/index.ts';

/** Builds the peer transport once NATS is connected (the NATS implementation in production, others in tests). */
export type TransportFactory = (args: {
  readonly link: NatsLink;
  readonly prefix: string;
  readonly id: ReplicaId;
  readonly dataDir: string;
  readonly config: ReplicaConfig;
  readonly logger: Logger;
}) => PeerTransport | Promise<PeerTransport>;

export interface StartOptions {
  readonly logger: Logger;
  readonly createTransport: TransportFactory;
  /** Lower scrypt cost for tests; production uses the chat module's default. */
  readonly passwordCost?: ScryptCost;
  /** Skip the wiped-data-directory check (an operator who knows the replica never held a log). */
  readonly skipWipeCheck?: boolean;
}

export interface Replica {
  readonly id: ReplicaId;
  status(): ReplicaStatus;
  view(): CoreView;
  /** Stop accepting requests, finish the in-flight persist and applies, close store and NATS. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the error that stopped the replica on its own (never resolves on a clean stop). */
  readonly failed: Promise<Error>;
}

/** Status replies are cheap, but a flood of them must not starve Raft: at most this many handled at once. */
const MAX_STATUS_IN_FLIGHT = 64;

export async function startReplica(config: ReplicaConfig, options: StartOptions): Promise<Replica> {
  const log = options.logger;
  const { id, prefix } = config;
  const initialConfig: Configuration = { voters: [...config.peers], learners: [] };

  const link = await NatsLink.connect({ servers: config.nats.servers, name: `quorumchat-${id}`, waitOnFirstConnect: true });
  const nc = link.nc;
  let store: ReplicaStore | null = null;
  try {
    // Before touching the data directory: a second process under a running id must not even open the store.
    await checkIdUnused({ nc, prefix, id });
    store = await openReplicaStore({ dataDir: config.dataDir, replicaId: id, migrations: CHAT_MIGRATIONS, logger: log, initialConfig });
    const loaded = await store.load();
    const empty = loaded.hardState.term === 0 && loaded.entries.length === 0 && loaded.snapshot === null && loaded.applied.index === 0;
    if (empty && !options.skipWipeCheck) await checkNotWiped({ nc, prefix, id, peers: config.peers, log });
    const running = await run({ config, options, link, store, loaded: raftStartOf(loaded, initialConfig) });
    log.info({ id, term: loaded.hardState.term, appliedIndex: loaded.applied.index, entries: loaded.entries.length }, 'replica started');
    return running;
  } catch (error) {
    await store?.close().catch(() => undefined);
    await link.close().catch(() => undefined);
    throw error;
  }
}

interface RunArgs {
  readonly config: ReplicaConfig;
  readonly options: StartOptions;
  readonly link: NatsLink;
  readonly store: ReplicaStore;
  readonly loaded: ReturnType<typeof raftStartOf>;
}

async function run({ config, options, link, store, loaded }: RunArgs): Promise<Replica> {
  const log = options.logger;
  const { id, prefix } = config;
  const nc = link.nc;
  const startedAt = Date.now();
  const waiters = new Waiters<CommandReply>(store.status().appliedIndex);
  let stopping = false;
  let failWith!: (error: Error) => void;
  const failed = new Promise<Error>((resolve) => (failWith = resolve));
  let fatal: Error | null = null;
  let snapshotting = false;
  let lastSnapshotIndex = store.status().snapshotIndex;

  const inspection: InspectionPublisher = createInspectionPublisher({ id, publish: (record) => publishSafe(inspectSubject(prefix, id), record) });

  const input: RaftInput = {
    id,
    ...loaded,
    timing: config.timing,
    limits: {
      maxEntriesPerAppend: config.limits.maxEntriesPerAppend,
      maxBytesPerAppend: config.limits.maxBytesPerAppend,
      maxInflightAppends: config.limits.maxInflightAppends,
      maxUncommittedEntries: config.limits.maxUncommittedEntries,
    },
    // The runtime is not the deterministic core: a fresh seed per process keeps replicas' election jitter apart.
    seed: randomInt(0, 2 ** 31 - 1),
  };
  const core: RaftActor = createRaftActor(input, { inspect: (event) => inspection.observe(event) });

  const transport = await options.createTransport({ link, prefix, id, dataDir: config.dataDir, config, logger: log });

  const stopForError = (error: unknown, what: string): void => {
    if (fatal) return;
    fatal = error instanceof Error ? error : new Error(String(error));
    log.fatal({ err: fatal }, `${what}; the replica stops`);
    stopping = true;
    failWith(fatal);
  };

  const send = (event: RaftEvent): void => {
    if (fatal) return;
    try {
      core.send(event);
    } catch (error) {
      stopForError(error, `the consensus core failed on ${event.type}`);
    }
  };

  const publishSafe = (subject: string, body: unknown): void => {
    try {
      nc.publish(subject, JSON.stringify(body));
    } catch (error) {
      // Closed or reconnecting connection: live frames and inspection records are best effort.
      log.debug({ err: error, subject }, 'publish failed');
    }
  };

  const maybeSnapshot = (appliedIndex: number): void => {
    if (snapshotting || stopping || appliedIndex - lastSnapshotIndex < config.snapshotEvery) return;
    snapshotting = true;
    void (async () => {
      try {
        const stored = await store.createSnapshot();
        lastSnapshotIndex = stored.meta.index;
        // The core may now drop entries up to the snapshot; storage drops them from disk after the core knows.
        send({ type: 'compacted', meta: stored.meta });
        await store.compact(stored.meta.index);
        log.info({ index: stored.meta.index, bytes: stored.bytes }, 'snapshot taken, log compacted');
      } catch (error) {
        log.error({ err: error }, 'snapshot failed; will retry after more entries');
        lastSnapshotIndex = store.status().appliedIndex;
      } finally {
        snapshotting = false;
      }
    })();
  };

  const streamingTo = new Set<ReplicaId>();
  const streamSnapshot = async (to: ReplicaId, wanted: SnapshotMeta): Promise<void> => {
    // One stream per peer at a time: the core may ask again (e.g. on a heartbeat) while one is running.
    if (streamingTo.has(to) || stopping) return;
    streamingTo.add(to);
    try {
      await streamSnapshotOnce(to, wanted);
    } finally {
      streamingTo.delete(to);
    }
  };
  const streamSnapshotOnce = async (to: ReplicaId, wanted: SnapshotMeta): Promise<void> => {
    const stream = await store.openSnapshot().catch((error: unknown) => {
      log.error({ err: error }, 'cannot open the local snapshot');
      return null;
    });
    if (!stream) {
      log.warn({ to, index: wanted.index }, 'asked to send a snapshot but none is stored');
      send({ type: 'unreachable', peer: to });
      return;
    }
    try {
      // The receiving runtime installs the verified file, then hands InstallSnapshot to its own core (onSnapshotReceived).
      await transport.streamSnapshot(to, stream.meta, stream.chunks(), viewOf(core.getSnapshot()).term);
    } catch (error) {
      log.warn({ to, err: error }, 'snapshot stream failed');
      send({ type: 'unreachable', peer: to });
    } finally {
      await stream.close().catch(() => undefined);
    }
  };

  let installing: Promise<void> = Promise.resolve();
  const onSnapshotReceived = (received: ReceivedSnapshot): void => {
    // One install at a time, in arrival order.
    installing = installing.then(async () => {
      if (stopping) return;
      try {
        if (received.meta.index > store.status().appliedIndex) {
          await store.installSnapshot(received.meta, received.filePath);
          waiters.onSnapshotInstalled(received.meta.index);
          lastSnapshotIndex = received.meta.index;
          log.info({ from: received.from, index: received.meta.index, bytes: received.bytes }, 'installed snapshot from leader');
        }
      } catch (error) {
        log.error({ err: error, from: received.from }, 'could not install a received snapshot');
        return;
      } finally {
        // The runtime owns the received file; storage copied what it keeps.
        await rm(received.filePath, { force: true }).catch(() => undefined);
      }
      // Raft §7: the core learns the snapshot only once it is durably in the store.
      const message: Message = { type: 'InstallSnapshot', from: received.from, to: id, term: received.term, snapshot: received.meta };
      send({ type: 'message', message });
    });
  };

  const pipeline: Pipeline = createPipeline({
    persist: (batch) => store.persist(batch),
    adoptSnapshot: async (meta) => {
      // The store installed it before the core saw it (onSnapshotReceived); only bookkeeping remains.
      waiters.onSnapshotInstalled(meta.index);
    },
    send(messages, snapshotsToSend) {
      for (const message of messages) transport.send(message);
      for (const { to, meta } of snapshotsToSend) void streamSnapshot(to, meta);
    },
    answer(proposals, reads) {
      waiters.onProposals(proposals);
      waiters.onReads(reads);
    },
    apply: (committed, commitIndex) =>
      applyCommitted(
        {
          store,
          waiters,
          publish: (publication) => publishSafe(liveSubject(prefix, publication.sessionKey), publication.frame),
          now: () => Date.now(),
          log,
          afterApply: maybeSnapshot,
        },
        committed,
        commitIndex,
      ),
    fail: (error) => stopForError(error, 'carrying out a Ready failed'),
  });

  core.on('ready', ({ ready }) => pipeline.push(ready));
  core.subscribe({ error: (error) => stopForError(error, 'the consensus core stopped') });
  let lastRole = '';
  core.subscribe((snapshot) => {
    // Read the three fields directly: this runs on every step, viewOf would copy the progress table each time.
    const { role, term, leader } = snapshot.context;
    const key = `${role}/${term}/${leader ?? '-'}`;
    if (key !== lastRole) {
      lastRole = key;
      log.info({ role, term, leader }, 'role');
    }
  });
  // For the status reply: when a leader (anyone sending appends) last reached this replica.
  let lastAppendAt: number | null = null;
  const unsubscribeMessages = transport.onMessage((message) => {
    if (message.type === 'AppendEntries') lastAppendAt = Date.now();
    send({ type: 'message', message });
  });
  const unsubscribeSnapshots = transport.onSnapshot(onSnapshotReceived);
  core.start();

  // The commit index a leader saw when it first served in its term: everything acknowledged before it took office is at or below it.
  let barrier = { term: -1, index: 0 };
  const role = () => {
    const { role: current, leader: leaderId, term, commitIndex, leaderState } = core.getSnapshot().context;
    const leader = current === 'leader';
    // Thesis §6.4: only once an entry of its own term is committed does a leader's commitIndex cover all earlier commits.
    const ready = leader && (leaderState?.committedOwnTerm ?? false);
    if (ready && barrier.term !== term) barrier = { term, index: commitIndex };
    return { leader, leaderId, ready, term, applyBarrier: barrier.term === term ? barrier.index : commitIndex };
  };

  const handler = new RequestHandler({
    id,
    prefix,
    nc,
    store,
    waiters,
    requestDeadlineMs: config.requestDeadlineMs,
    maxRequestBytes: config.limits.maxRequestBytes,
    passwordCost: options.passwordCost,
    role,
    propose: (proposalId, data) => send({ type: 'propose', id: proposalId, data }),
    readIndex: (readId) => send({ type: 'readIndex', id: readId }),
    proposeConfig: (proposalId, next) => send({ type: 'proposeConfig', id: proposalId, config: next }),
    transferLeadership: (to) => send({ type: 'transferLeadership', to }),
    configuration: () => viewOf(core.getSnapshot()).config,
    clusterBody: () => buildClusterBody(core.getSnapshot(), config.timing.electionMaxMs),
    log,
    stopping: () => stopping,
  });

  const status = (): ReplicaStatus =>
    buildStatus({
      snapshot: core.getSnapshot(),
      store: store.status(),
      link: link.status,
      startedAt,
      pipeline: pipeline.stats,
      requestsInFlight: handler.requestsInFlight,
      electionMaxMs: config.timing.electionMaxMs,
      transport: transport.stats(),
      inspectionDropped: inspection.dropped(),
      lastLeaderContactMs: core.getSnapshot().context.role === 'leader' ? 0 : lastAppendAt === null ? null : Date.now() - lastAppendAt,
    });

  const subscriptions: Subscription[] = [];
  let statusInFlight = 0;
  subscriptions.push(
    nc.subscribe(`${prefix}.api.*`, {
      queue: apiQueueGroup(prefix),
      callback: (error, msg) => {
        if (error || !msg.reply) return;
        const op = msg.subject.slice(prefix.length + '.api.'.length);
        void handler.handleClient(op, msg.data).then((reply) => respond(msg.respond.bind(msg), reply));
      },
    }),
    nc.subscribe(`${prefix}.admin.*`, {
      queue: adminQueueGroup(prefix),
      callback: (error, msg) => {
        if (error || !msg.reply) return;
        const op = msg.subject.slice(prefix.length + '.admin.'.length);
        void handler.handleAdmin(op, msg.data).then((reply) => respond(msg.respond.bind(msg), reply));
      },
    }),
    nc.subscribe(forwardSubject(prefix, id), {
      callback: (error, msg) => {
        if (error || !msg.reply) return;
        void handler.handleForward(msg.data).then((reply) => respond(msg.respond.bind(msg), reply));
      },
    }),
    nc.subscribe(statusSubject(prefix, id), {
      callback: (error, msg) => {
        if (error || !msg.reply || statusInFlight >= MAX_STATUS_IN_FLIGHT) return;
        statusInFlight += 1;
        try {
          respond(msg.respond.bind(msg), { ok: true, ...status() });
        } catch (failure) {
          log.error({ err: failure }, 'status reply failed');
        } finally {
          statusInFlight -= 1;
        }
      },
    }),
  );

  function respond(reply: (payload: string) => boolean, body: object): void {
    try {
      reply(JSON.stringify(body));
    } catch (error) {
      log.debug({ err: error }, 'could not send a reply');
    }
  }

  link.onStatus((linkStatus) => log.warn({ nats: linkStatus }, 'NATS connection'));

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      // Stop accepting requests first: a request that arrives now goes to another replica (queue group).
      for (const subscription of subscriptions) subscription.unsubscribe();
      unsubscribeMessages();
      unsubscribeSnapshots();
      core.stop();
      await pipeline.stop();
      await installing.catch(() => undefined);
      waiters.closeAll();
      inspection.close();
      await transport.close().catch((error: unknown) => log.warn({ err: error }, 'closing the transport failed'));
      await store.close().catch((error: unknown) => log.warn({ err: error }, 'closing the store failed'));
      await link.close().catch(() => undefined);
      log.info({ id }, 'replica stopped');
    })();
    return stopped;
  };

  return {
    id,
    status,
    view: () => viewOf(core.getSnapshot()),
    stop,
    failed,
  };
}
