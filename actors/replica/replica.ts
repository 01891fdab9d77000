/**
 * One running replica: a thin loop that feeds the consensus core (messages,
 * proposals, ticks through the clock port) and carries out its Readys in
 * order (pipeline.ts: persist → send → apply), like etcd's rawnode beside
 * raft. Every other job is a part of its own:
 *
 *   requests.ts   the request layer (act as leader, else forward, else wait)
 *   router.ts     which subject goes to which handler
 *   snapshots.ts  the snapshot scheduler, sender and installer
 *   apply.ts      the apply stage (store transaction + application)
 *   waiters.ts    local callers waiting on proposals, reads, applies
 *   monitor-loop.ts  the health monitor (acts only on the leader)
 *   membership.ts    the leader's view of the members; noticing this replica's own removal
 *
 * The world comes in as ports (ports.ts): bus, clock, randomness, logger, the
 * store and the application (`openStore`), the peer transport. The CLI plugs
 * in NATS, the system clock, node:crypto and Knex/SQLite
 * (cli/commands/replica.ts); nothing here reaches for them.
 *
 *   startReplica(settings, world)  opens the store and starts serving
 *   replica.stop()                 stops accepting, finishes the in-flight persist, closes
 *   replica.failed                 resolves with the error that stopped it, if any
 *   replica.removed                resolves once the cluster removed this replica (the caller stops it)
 */
import { createRaftActor, viewOf, type RaftActor } from '../raft/index.ts';
import type { Configuration, CoreView, DataId, HardState, Entry, Index, RaftEvent, RaftInput, ReplicaId, SnapshotMeta, UnsafeVariants } from '../raft/types.ts';
import type { PeerTransport } from '../transport/types.ts';
import type { ReplicaConfig } from '../../config/index.ts';
import { createProposalBatcher } from './proposal-batch.ts';
import { createPipeline, trimBelowInstalled, type Pipeline } from './pipeline.ts';
import { Waiters } from './waiters.ts';
import { applyCommitted, publishesLiveFrames, type CommandReply } from './apply.ts';
import { RequestHandler, type RoleView } from './requests.ts';
import { buildClusterBody, buildStatus, type ReplicaStatus } from './status.ts';
import { createInspectionPublisher, type InspectionPublisher } from './inspect.ts';
import { checkDataDirectory, checkIdUnused } from './guard.ts';
import { disowned } from '../raft/identity.ts';
import { serveRequests } from './router.ts';
import { createLeaderShare } from './leader-share.ts';
import { createSnapshotInstaller, createSnapshotScheduler, createSnapshotSender } from './snapshots.ts';
import type { ClientBus, ReplicaApplication, RuntimeClock, RuntimeLogger, RuntimeRandom, RuntimeStore, UnsafeRuntimeVariants } from './ports.ts';
import { inspectSubject, IntentAnnouncement, monitorIntentSubject, monitorReplaceSubject, parseJsonBody, type LearnerIntent, type ReplacementNotice } from '../protocol/index.ts';
import { createMonitorLoop, type DecisionRecord, type MonitorLoop } from './monitor-loop.ts';
import { checkNotRemoved, leaderClusterView, membersInStep, watchRemoval, type RemovalWatch } from './membership.ts';
import { RETRY_ELSEWHERE } from './requests.ts';
import { createSerial } from '../util/serial.ts';

/**
 * A follower that no local caller waits on holds its applies back at most this long, so
 * that the commits of several sends share one apply transaction. Short beside any read's
 * deadline, and a read that waits on apply cuts the pause short (waiters.ts).
 */
export const FOLLOWER_APPLY_PAUSE_MS = 20;
/** ...and applies at once when this many committed entries are queued (more would only lengthen the transaction). */
export const FOLLOWER_APPLY_BATCH_ENTRIES = 64;

/** What the runtime reads from the configuration (config/ validates it; a simulator builds it directly). */
export type ReplicaSettings = Pick<ReplicaConfig, 'id' | 'prefix' | 'peers' | 'timing' | 'snapshotEvery' | 'requestDeadlineMs'> & {
  readonly limits: Pick<ReplicaConfig['limits'], 'maxEntriesPerAppend' | 'maxBytesPerAppend' | 'maxInflightAppends' | 'maxUncommittedEntries' | 'maxRequestBytes'>;
  /**
   * The health monitor and the removal watch (docs/operators.md). Absent (the
   * simulation's runtime): neither runs, and the replica behaves as before them.
   */
  readonly monitor?: ReplicaConfig['monitor'];
  /** What this replica announces while it is a learner (`replica --join --standby / --no-promote`). */
  readonly intent?: LearnerIntent;
};

/** Where the core starts from, as the store recovered it (storage's `raftStartOf`). */
export interface RaftStart {
  readonly hardState: HardState;
  readonly snapshot: SnapshotMeta;
  readonly entries: readonly Entry[];
  readonly commitIndex: Index;
}

/** An opened store, what it recovered, and the application over it. */
export interface OpenedStore<Tx, Live> {
  readonly store: RuntimeStore<Tx>;
  readonly start: RaftStart;
  /** Nothing was ever stored (no term, log, snapshot or applied entry): the wiped-directory check applies. */
  readonly empty: boolean;
  /** The data directory's identity (actors/raft/identity.ts): stamped on every peer message, recorded by the leader. */
  readonly dataId: DataId;
  readonly application: ReplicaApplication<Tx, Live>;
}

/** The replica's world, as ports (ports.ts). */
export interface ReplicaWorld<Tx, Live> {
  readonly bus: ClientBus;
  readonly clock: RuntimeClock;
  readonly random: RuntimeRandom;
  readonly logger: RuntimeLogger;
  /** For the status reply (the process id in production). */
  readonly pid: number;
  /** Open the store (after the duplicate-id check) and recover what it holds. */
  openStore(): Promise<OpenedStore<Tx, Live>>;
  /** The peer transport, once the store is open. */
  createTransport(): Promise<PeerTransport>;
  /** Skip the wiped-data-directory check (an operator who knows the replica never held a log). */
  readonly skipWipeCheck?: boolean;
  /** Started with --join (and added already): a removed replica coming back, so the removal check does not apply. */
  readonly joined?: boolean;
  /** Start a replacement elsewhere (`--provision-cmd`); called on the leader for each replacement its monitor asks for. */
  readonly provision?: (notice: ReplacementNotice) => void;
  /** UNSAFE broken variants, for the simulation's tests only (ports.ts); production never sets it. */
  readonly unsafe?: UnsafeRuntimeVariants;
  /**
   * Resolves after the I/O callbacks already due have run (production: setImmediate).
   * The pipeline awaits it before each group commit so one turn's Readys share one; a
   * simulation leaves it out and stays deterministic (a delay changes no safety argument).
   */
  readonly gather?: () => Promise<void>;
  /** UNSAFE broken consensus core (RaftInput.unsafe), for the simulation's tests only; production never sets it. */
  readonly unsafeCore?: UnsafeVariants;
}

export interface Replica {
  readonly id: ReplicaId;
  status(): ReplicaStatus;
  view(): CoreView;
  /** Stop accepting requests, finish the in-flight persist and applies, close store and transport. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with the error that stopped the replica on its own (never resolves on a clean stop). */
  readonly failed: Promise<Error>;
  /** Resolves with the evidence once the cluster committed a configuration without this replica (never without `settings.monitor`). */
  readonly removed: Promise<string>;
}

export async function startReplica<Tx, Live>(settings: ReplicaSettings, world: ReplicaWorld<Tx, Live>): Promise<Replica> {
  const { id, prefix } = settings;
  // Before touching the data directory: a second process under a running id must not even open the store.
  await checkIdUnused({ bus: world.bus, prefix, id });
  const opened = await world.openStore();
  try {
    if (world.skipWipeCheck !== true) {
      // A joined replica's identity was vetted by the leader that added it (requests.ts joinWork); its peers may not have applied that yet.
      await checkDataDirectory({ bus: world.bus, prefix, id, peers: settings.peers, log: world.logger, empty: opened.empty, dataId: opened.dataId, identity: world.joined !== true });
    }
    // A removed replica never receives the entry that removes it (membership.ts): ask before serving again.
    if (!opened.empty && world.joined !== true && settings.monitor !== undefined) {
      await checkNotRemoved({ bus: world.bus, prefix, id, peers: membersOf(configurationAt(opened.start)), log: world.logger });
    }
    const transport = await world.createTransport();
    const running = run(settings, world, opened, transport);
    world.logger.info({ id, term: opened.start.hardState.term, appliedIndex: opened.start.commitIndex, entries: opened.start.entries.length }, 'replica started');
    return running;
  } catch (error) {
    await opened.store.close().catch(() => undefined);
    throw error;
  }
}

/** The latest configuration in what the store recovered: the last config entry, else the snapshot's. */
export function configurationAt(start: RaftStart): Configuration {
  for (let i = start.entries.length - 1; i >= 0; i -= 1) {
    const entry = start.entries[i];
    if (entry?.kind === 'config') return entry.config;
  }
  return start.snapshot.config;
}

function membersOf(config: Configuration): ReplicaId[] {
  return [...config.voters, ...config.learners];
}

/** The initial configuration of a cluster whose bootstrap voters are `peers`. */
export function initialConfiguration(peers: readonly ReplicaId[]): Configuration {
  return { voters: [...peers], learners: [] };
}

function run<Tx, Live>(settings: ReplicaSettings, world: ReplicaWorld<Tx, Live>, opened: OpenedStore<Tx, Live>, transport: PeerTransport): Replica {
  const { id, prefix } = settings;
  const { bus, clock, random, logger: log } = world;
  const { store, application } = opened;
  const startedAt = clock.now();
  const waiters = new Waiters<CommandReply>(store.status().appliedIndex);
  const lifecycle = createLifecycle(log);

  const inspection: InspectionPublisher = createInspectionPublisher({ id, publish: (record) => bus.publish(inspectSubject(prefix, id), JSON.stringify(record)), now: () => clock.now() });
  const input: RaftInput = {
    id,
    ...opened.start,
    timing: settings.timing,
    limits: {
      maxEntriesPerAppend: settings.limits.maxEntriesPerAppend,
      maxBytesPerAppend: settings.limits.maxBytesPerAppend,
      maxInflightAppends: settings.limits.maxInflightAppends,
      maxUncommittedEntries: settings.limits.maxUncommittedEntries,
    },
    seed: random.coreSeed(),
    dataId: opened.dataId,
    ...(world.unsafeCore === undefined ? {} : { unsafe: world.unsafeCore }),
  };
  const core: RaftActor = createRaftActor(input, { clock, inspect: (event) => inspection.observe(event) });

  const send = (event: RaftEvent): void => {
    if (lifecycle.fatal) return;
    try {
      core.send(event);
    } catch (error) {
      lifecycle.fail(error, `the consensus core failed on ${event.type}`);
    }
  };
  // The apply stage and the snapshot installer both replace applied state: one at a time, or an install landing
  // between the apply stage's "what is not applied yet" and its transaction makes it re-apply (found by the simulation).
  const stateMachine = createSerial();
  // Likewise persists and installs: a persist queued before the core learned of an installed snapshot is trimmed to it.
  const logWrites = createSerial();
  // Live frames go out in apply order, but on their own queue (apply.ts `inOrderLater`).
  const liveFrames = createSerial();
  let installedIndex = 0;
  const snapshotDeps = { store, send, log, stopping: () => lifecycle.stopping };
  const scheduler = createSnapshotScheduler({ ...snapshotDeps, snapshotEvery: settings.snapshotEvery });
  const sender = createSnapshotSender({ ...snapshotDeps, transport, term: () => core.getSnapshot().context.term, sleep: (ms) => clock.sleep(ms) });
  const installer = createSnapshotInstaller({
    ...snapshotDeps,
    id,
    exclusive: (install) => stateMachine(() => logWrites(install)),
    installed: (index) => {
      installedIndex = index;
      waiters.onSnapshotInstalled(index);
      scheduler.installed(index);
    },
  });

  const publishesLive = (): boolean => {
    const { context } = core.getSnapshot();
    return publishesLiveFrames(id, context.role === 'leader' ? id : context.leader, context.config.voters);
  };
  const pipeline: Pipeline = createPipeline({
    persist: (batch) =>
      logWrites(async () => {
        const trimmed = trimBelowInstalled(batch, installedIndex, store.status().lastIndex);
        if (trimmed) await store.persist(trimmed);
      }),
    adoptSnapshot: async (meta) => {
      // The store installed it before the core saw it (the installer); only bookkeeping remains.
      waiters.onSnapshotInstalled(meta.index);
    },
    send(messages, snapshotsToSend) {
      for (const message of messages) transport.send(message);
      for (const { to, meta } of snapshotsToSend) sender.send(to, meta);
    },
    answer(proposals, reads) {
      waiters.onProposals(proposals);
      waiters.onReads(reads);
    },
    applyPause: (queued) => {
      // A follower nobody is waiting on applies in fewer, larger transactions: each costs four round
      // trips to SQLite's thread whatever its size (docs/notebook.md, "Round trips on every send").
      // The leader and the backup follower publish live frames (publishesLive), so they never pause.
      if (queued >= FOLLOWER_APPLY_BATCH_ENTRIES || publishesLive() || waiters.applyWanted) return null;
      return Promise.race([clock.sleep(FOLLOWER_APPLY_PAUSE_MS), waiters.nextApplyWanted()]);
    },
    apply: (committed, commitIndex) =>
      stateMachine(() =>
        applyCommitted(
          { store, application, waiters, publish: (subject, body) => bus.publish(subject, JSON.stringify(body)), now: () => clock.now(), log, afterApply: (index) => scheduler.afterApply(index), publishesLive, inOrderLater: (task) => void liveFrames(task) },
          committed,
          commitIndex,
        ),
      ),
    fail: (error) => lifecycle.fail(error, 'carrying out a Ready failed'),
    ...(world.gather === undefined ? {} : { gather: world.gather }),
  }, world.unsafe, settings.limits);

  core.on('ready', ({ ready }) => pipeline.push(ready));
  core.subscribe({ error: (error) => lifecycle.fail(error, 'the consensus core stopped') });
  core.subscribe(roleLogger(log));
  // For the status reply: when a leader (anyone sending appends) last reached this replica.
  let lastAppendAt: number | null = null;
  // The longest silence between two appends from a leader: how long heartbeats stalled (e.g. while a snapshot streams).
  let longestAppendGapMs = 0;
  const unsubscribeMessages = transport.onMessage((message) => {
    if (message.type === 'AppendEntries') {
      const now = clock.now();
      if (lastAppendAt !== null) longestAppendGapMs = Math.max(longestAppendGapMs, now - lastAppendAt);
      lastAppendAt = now;
    }
    send({ type: 'message', message });
  });
  const unsubscribeSnapshots = transport.onSnapshot((received) => installer.receive(received));
  core.start();

  const role = createRoleView(core);
  const proposals = createProposalBatcher(send);
  const handler = new RequestHandler({
    id,
    prefix,
    bus,
    clock,
    random,
    application,
    waiters,
    requestDeadlineMs: settings.requestDeadlineMs,
    maxRequestBytes: settings.limits.maxRequestBytes,
    role,
    propose: (proposalId, data) => proposals.propose(proposalId, data),
    readIndex: (readId) => send({ type: 'readIndex', id: readId }),
    proposeConfig: (proposalId, next) => send({ type: 'proposeConfig', id: proposalId, config: next }),
    transferLeadership: (to) => send({ type: 'transferLeadership', to }),
    configuration: () => viewOf(core.getSnapshot()).config,
    clusterBody: () => ({ ...buildClusterBody(core.getSnapshot(), settings.timing.electionMaxMs), ...monitorBody() }),
    votersInStep: () => membersInStep(core.getSnapshot(), settings.timing.electionMaxMs),
    recordIntent: (learner, intent) => monitor?.recordIntent(learner, intent),
    log,
    stopping: () => lifecycle.stopping,
    unsafe: world.unsafe,
  });

  const monitor: MonitorLoop | null = settings.monitor === undefined ? null : createMonitorLoop({
    clock,
    settings: settings.monitor,
    intervalMs: settings.monitor.intervalMs,
    enabled: settings.monitor.enabled,
    view: (intents) => leaderClusterView(core.getSnapshot(), settings.timing.electionMaxMs, clock.now(), intents),
    term: () => core.getSnapshot().context.term,
    change: async (request) => {
      const reply = await handler.changeMembers(request);
      return reply === RETRY_ELSEWHERE ? 'notLeader' : reply;
    },
    replace: (notice) => {
      bus.publish(monitorReplaceSubject(prefix), JSON.stringify(notice));
      world.provision?.(notice);
    },
    log,
  });
  /** The monitor's part of the status and `cluster` replies (docs/replica.md, "Status"). */
  const monitorBody = (): { monitor?: { enabled: boolean; intents: Record<string, LearnerIntent>; decisions: readonly DecisionRecord[] } } =>
    monitor === null ? {} : { monitor: { enabled: settings.monitor?.enabled ?? false, intents: Object.fromEntries(monitor.intents()), decisions: monitor.recent() } };

  const status = (): ReplicaStatus => ({
    ...buildStatus({
      snapshot: core.getSnapshot(),
      store: store.status(),
      link: bus.status(),
      startedAt,
      now: clock.now(),
      pid: world.pid,
      pipeline: pipeline.stats,
      proposals: proposals.stats,
      requestsInFlight: handler.requestsInFlight,
      electionMaxMs: settings.timing.electionMaxMs,
      transport: transport.stats(),
      inspectionDropped: inspection.dropped(),
      lastLeaderContactMs: core.getSnapshot().context.role === 'leader' ? 0 : lastAppendAt === null ? null : clock.now() - lastAppendAt,
    }),
    configIndex: core.getSnapshot().context.configIndex,
    longestAppendGapMs,
    ...(settings.intent === undefined ? {} : { intent: settings.intent }),
    ...monitorBody(),
  });

  const served = serveRequests({
    bus,
    prefix,
    id,
    log,
    handlers: {
      client: (op, data, reply) => handler.handleClient(op, data, reply),
      admin: (op, data) => handler.handleAdmin(op, data),
      forward: (data) => handler.handleForward(data),
      status,
    },
  });
  const leaderShare = createLeaderShare(() => served.addClientSubscription());
  core.subscribe((snapshot) => leaderShare.update(snapshot.context.role === 'leader'));
  core.subscribe(disownedWatch(log));

  // Every replica keeps the learners' intents, so a new leader's monitor knows them at once.
  const stopIntents =
    monitor === null
      ? () => undefined
      : bus.serve(monitorIntentSubject(prefix), null, async (request) => {
          // A body that is not JSON parses to a BadRequest, which no announcement matches: ignored like any other bad one.
          const parsed = IntentAnnouncement.safeParse(parseJsonBody(request.data));
          if (parsed.success) monitor.recordIntent(parsed.data.id, parsed.data.intent);
          return null;
        });
  const background: { stop(): void }[] = [];
  let removal: RemovalWatch | null = null;
  if (monitor !== null && settings.monitor !== undefined) {
    void monitor.run();
    background.push(monitor);
    background.push(announceIntent({ clock, everyMs: settings.monitor.announceEveryMs, intent: settings.intent ?? null, learner: () => core.getSnapshot().context.role === 'learner', publish: (body) => bus.publish(monitorIntentSubject(prefix), JSON.stringify({ id, ...body })) }));
    removal = watchRemoval({
      bus,
      clock,
      prefix,
      id,
      electionMaxMs: settings.timing.electionMaxMs,
      members: () => membersOf(core.getSnapshot().context.config),
      lastLeaderContact: () => (core.getSnapshot().context.role === 'leader' ? null : (lastAppendAt ?? startedAt)),
    });
    background.push(removal);
  }
  const removed: Promise<string> = removal?.removed ?? new Promise<string>(() => undefined);
  void removed.then((evidence) => log.warn({ id, evidence }, 'removed from the cluster: stopping (no more campaigning, out of the client queue group)'));

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      lifecycle.stopping = true;
      for (const job of background) job.stop();
      stopIntents();
      // Stop accepting requests first: a request that arrives now goes to another replica (queue group).
      leaderShare.stop();
      served.stop();
      unsubscribeMessages();
      unsubscribeSnapshots();
      core.stop();
      await pipeline.stop();
      await liveFrames(async () => undefined);
      await installer.idle();
      await scheduler.idle();
      waiters.closeAll();
      inspection.close();
      await transport.close().catch((error: unknown) => log.warn({ err: error }, 'closing the transport failed'));
      await store.close().catch((error: unknown) => log.warn({ err: error }, 'closing the store failed'));
      log.info({ id }, 'replica stopped');
    })();
    return stopped;
  };

  return { id, status, view: () => viewOf(core.getSnapshot()), stop, failed: lifecycle.failed, removed };
}

/** While this replica is a learner with an intent, says it every `everyMs` (a new leader learns it within one period). */
function announceIntent(args: {
  readonly clock: Pick<RuntimeClock, 'sleep'>;
  readonly everyMs: number;
  readonly intent: LearnerIntent | null;
  learner(): boolean;
  publish(body: { intent: LearnerIntent }): void;
}): { stop(): void } {
  let stopped = false;
  const { intent } = args;
  if (intent !== null) {
    void (async () => {
      while (!stopped) {
        if (args.learner()) args.publish({ intent });
        await args.clock.sleep(args.everyMs);
      }
    })();
  }
  return {
    stop() {
      stopped = true;
    },
  };
}

/** Stopping and failing: the first fatal error stops the replica and resolves `failed`. */
function createLifecycle(log: RuntimeLogger): { stopping: boolean; readonly fatal: Error | null; fail(error: unknown, what: string): void; readonly failed: Promise<Error> } {
  let failWith!: (error: Error) => void;
  const failed = new Promise<Error>((resolve) => (failWith = resolve));
  const state = {
    stopping: false,
    fatal: null as Error | null,
    failed,
    fail(error: unknown, what: string) {
      if (state.fatal) return;
      state.fatal = error instanceof Error ? error : new Error(String(error));
      log.fatal({ err: state.fatal }, `${what}; the replica stops`);
      state.stopping = true;
      failWith(state.fatal);
    },
  };
  return state;
}

/** The leader's position for the request layer, with the apply barrier of its term (requests.ts `RoleView`). */
function createRoleView(core: RaftActor): () => RoleView {
  // The commit index a leader saw when it first served in its term: everything acknowledged before it took office is at or below it.
  let barrier = { term: -1, index: 0 };
  return () => {
    const { role: current, leader: leaderId, term, commitIndex, leaderState } = core.getSnapshot().context;
    const leader = current === 'leader';
    // Thesis §6.4: only once an entry of its own term is committed does a leader's commitIndex cover all earlier commits.
    const ready = leader && (leaderState?.committedOwnTerm ?? false);
    if (ready && barrier.term !== term) barrier = { term, index: commitIndex };
    return { leader, leaderId, ready, term, applyBarrier: barrier.term === term ? barrier.index : commitIndex };
  };
}

/**
 * Says so in the log when the configuration this replica holds records
 * another data directory under its id (actors/raft/identity.ts); the core
 * then neither votes nor campaigns. Not fatal: a replica that rejoined with
 * --join replays, while it catches up, the older entries that recorded its
 * previous directory (the simulation found a rejoined replica stopping on
 * them); the start guard (guard.ts) is where a wrong directory is refused.
 */
function disownedWatch(log: RuntimeLogger): (snapshot: ReturnType<RaftActor['getSnapshot']>) => void {
  let warnedAt = -1;
  return (snapshot) => {
    const c = snapshot.context;
    if (c.configIndex === warnedAt || !disowned(c)) return;
    warnedAt = c.configIndex;
    log.warn(
      { dataId: c.dataId, recorded: c.config.dataIds?.[c.id], configIndex: c.configIndex },
      'the configuration this replica holds records another data directory under its id: it does not vote or campaign (normal while a rejoined replica catches up; otherwise restart it with --join)',
    );
  };
}

/** Logs every change of role, term or leader. */
function roleLogger(log: RuntimeLogger): (snapshot: ReturnType<RaftActor['getSnapshot']>) => void {
  let last = '';
  return (snapshot) => {
    // Read the three fields directly: this runs on every step, viewOf would copy the progress table each time.
    const { role, term, leader } = snapshot.context;
    const key = `${role}/${term}/${leader ?? '-'}`;
    if (key !== last) {
      last = key;
      log.info({ role, term, leader }, 'role');
    }
  };
}
