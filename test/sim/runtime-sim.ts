/**
 * The deterministic simulation of the REAL replica runtime: every replica is
 * `startReplica` from actors/replica (Ready pipeline persist → send → apply,
 * request handling, forwarding, held requests, deadlines, waiters, snapshot
 * scheduling, sending and installing), with its world plugged in as
 * simulated ports: the simulated network (peer transport and client bus),
 * a simulated clock per replica over one event queue, seeded randomness, an
 * in-memory store on a simulated disk (storage/memory-store.ts) and the
 * deterministic chat model (chat-model.ts) as the application.
 *
 * The runtime is async, so the loop is too: run one event, then let every
 * microtask it started settle (`setImmediate` runs after the microtask
 * queue drains) before the next. Nothing in the simulated world does real
 * I/O or reads a real clock, so one seed gives one trace.
 *
 * Clients (sim-clients.ts) speak the client protocol through the bus to any
 * replica (queue group), retrying with the same requestId; the client-visible
 * guarantees are checked after every step.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_LIMITS, DEFAULT_TIMING } from '../../actors/raft/limits.ts';
import type { Configuration, CoreView, Index, RaftLimits, RaftTiming, ReplicaId, Term, UnsafeVariants } from '../../actors/raft/types.ts';
import { startReplica, type Replica, type ReplicaSettings } from '../../actors/replica/replica.ts';
import { silentRuntimeLogger, type RuntimeClock, type UnsafeRuntimeVariants } from '../../actors/replica/ports.ts';
import { EventQueue, SimulatedClock } from '../../actors/transport/sim-clock.ts';
import { SeededRandom } from '../../actors/transport/sim-random.ts';
import { CALM_NETWORK, SimulatedNetwork } from '../../actors/transport/simulated.ts';
import { SimulatedPeerTransport, type PeerWire } from '../../actors/transport/sim-peer-transport.ts';
import { MemoryDisk, type MemoryStore } from '../../storage/memory-store.ts';
import { chatModel, chatModelCodec, type ChatModelState } from './chat-model.ts';
import { CLIENT, SimulatedClients } from './sim-clients.ts';
import { FaultInjector } from './sim-faults.ts';
import { drawMix, type FaultMix, type MixName } from './faults.ts';
import { InvariantChecker, InvariantViolation, type InvariantName } from './invariants.ts';
import { describeBusWire, SimulatedBus, type BusWire } from './sim-bus.ts';
import { hash53 } from './digests.ts';

/** The broken runtimes the simulation must catch (runtime ports and store options; never reachable from config). */
export const RUNTIME_VARIANTS = ['ackBeforeDurable', 'replyBeforeApply', 'readWithoutReadIndex', 'nonAtomicApply'] as const;
export type RuntimeVariant = (typeof RUNTIME_VARIANTS)[number];
/** The broken cores (RaftInput.unsafe). */
export const CORE_VARIANTS = ['quorumOverReachable', 'commitEarlierTermByCount', 'voteWithoutLogCheck', 'ignoreDataIds'] as const satisfies readonly (keyof UnsafeVariants)[];
export type CoreVariant = (typeof CORE_VARIANTS)[number];

export interface RuntimeSimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Events of the fault phase; the heal phase follows. */
  readonly steps: number;
  /** A deliberately broken runtime or store. */
  readonly variant?: RuntimeVariant | undefined;
  /** A deliberately broken consensus core. */
  readonly coreVariant?: CoreVariant | undefined;
  readonly disk?: 'honest' | 'lying' | undefined;
  readonly mix?: MixName | undefined;
  readonly keepTrace?: boolean | undefined;
}

export interface RuntimeSimResult {
  readonly options: RuntimeSimOptions;
  readonly ok: boolean;
  readonly violation: { readonly invariant: InvariantName; readonly detail: string; readonly step: number; readonly timeMs: number; readonly traceTail: readonly string[] } | null;
  readonly traceHash: string;
  readonly steps: number;
  readonly healSteps: number;
  readonly simTimeMs: number;
  readonly stats: { readonly sends: number; readonly acknowledged: number; readonly reads: number; readonly crashes: number; readonly wipes: number; readonly leaderTerms: number; readonly snapshots: number; readonly batchedProposals: number };
  readonly trace: readonly string[] | null;
  readonly replay: string;
}

const PREFIX = 'sim';
/** Trace lines kept for a violation report. */
const TRACE_TAIL_LINES = 60;
/** The runtime's request deadline, in election timeouts: a request outlasts an election (config/schema.ts requires it). */
const REQUEST_DEADLINE_ELECTION_TIMEOUTS = 4;
/** After every fault heals, this many election timeouts for every send to be acknowledged. */
const LIVENESS_BOUND_ELECTION_TIMEOUTS = 30;
/** The latest configuration a disk holds durably (its log's last config entry, else its snapshot's), or null if neither. */
function durableConfig(durable: MemoryDisk<ChatModelState>['durable']): Configuration | null {
  for (let i = durable.entries.length - 1; i >= 0; i--) {
    const entry = durable.entries[i]!;
    if (entry.kind === 'config') return entry.config;
  }
  return durable.snapshot?.meta.config ?? null;
}

/** Disks lost per run: one of five (or of three) leaves a quorum that holds everything. */
const MAX_WIPES_PER_RUN = 1;
/** Heal-phase steps cap: a guard against a livelocked harness. */
const MAX_HEAL_STEPS = 400_000;

export function runtimeReplayCommand(options: RuntimeSimOptions): string {
  const parts = ['npm run sim --', `--seed ${options.seed}`, `--nodes ${options.nodes}`, `--steps ${options.steps}`];
  if (options.variant !== undefined) parts.push(`--variant ${options.variant}`);
  if (options.coreVariant !== undefined) parts.push(`--variant ${options.coreVariant}`);
  if (options.disk === 'lying') parts.push('--disk lying');
  if (options.mix !== undefined && options.mix !== 'swarm') parts.push(`--mix ${options.mix}`);
  return parts.join(' ');
}

export async function runRuntimeSimulation(options: RuntimeSimOptions): Promise<RuntimeSimResult> {
  return await new RuntimeSimulation(options).run();
}

interface Node {
  readonly id: ReplicaId;
  disk: MemoryDisk<ChatModelState>;
  /** Disks lost so far; each new disk has a new data identity. */
  wipes: number;
  /** Its disk was wiped: it is taken back in with `join` in the heal phase (it counts for nothing until then). */
  needsRejoin: boolean;
  /** What its lost disks held when they were lost: acknowledgements they sent before still counted, honestly. */
  lostDisks: MemoryDisk<ChatModelState>['durable'][];
  incarnation: number;
  alive: boolean;
  store: MemoryStore<ChatModelState> | null;
  clock: SimulatedClock | null;
  transport: SimulatedPeerTransport | null;
  replica: Replica | null;
  view: CoreView | null;
  /** Log entries seen (index → term), for log matching. */
  readonly seen: Map<Index, Term>;
  lastEntries: unknown;
  /** Highest message id already checked against the acknowledgements. */
  checkedId: number;
}

class RuntimeSimulation {
  readonly #o: RuntimeSimOptions;
  readonly #queue = new EventQueue();
  readonly #random: SeededRandom;
  readonly #faultRandom: SeededRandom;
  readonly #clientRandom: SeededRandom;
  readonly #mix: FaultMix;
  readonly #timing: RaftTiming;
  #limits: RaftLimits;
  readonly #peerNet: SimulatedNetwork<PeerWire>;
  readonly #busNet: SimulatedNetwork<BusWire>;
  readonly #bus: SimulatedBus;
  readonly #checker = new InvariantChecker();
  readonly #nodes: Node[];
  readonly #clients: SimulatedClients;
  /** appliedIndex → (store digest, model digest) first seen, and by whom. */
  readonly #digests = new Map<Index, { store: string; model: string; by: ReplicaId }>();
  readonly #tail: string[] = [];
  readonly #trace: string[] | null;
  #traceHash = 0;
  #steps = 0;
  #healSteps = 0;
  #phase: 'faults' | 'heal' = 'faults';
  #crashes = 0;
  /** Core events that carried two or more proposals (`proposeMany`), over every replica process of the run. */
  #batchedProposals = 0;
  readonly #newDisk: (id: ReplicaId, wipes: number) => MemoryDisk<ChatModelState>;
  #failure: InvariantViolation | null = null;
  readonly #faults: FaultInjector<Node>;

  constructor(options: RuntimeSimOptions) {
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) throw new RangeError(`nodes must be 1..9, got ${options.nodes}`);
    this.#o = options;
    this.#random = new SeededRandom(options.seed);
    this.#mix = drawMix(options.mix ?? 'swarm', this.#random.fork());
    this.#timing = this.#mix.timing ?? DEFAULT_TIMING;
    this.#faultRandom = this.#random.fork();
    this.#clientRandom = this.#random.fork();
    const diskRandom = this.#random.fork();
    this.#limits = {
      ...DEFAULT_LIMITS,
      maxEntriesPerAppend: this.#random.pick([1, 3, 64, 256]),
      maxInflightAppends: this.#random.pick([1, 2, 8]),
      maxUncommittedEntries: this.#random.pick([4, 32, 4096]),
    };
    if (this.#mix.maxEntriesPerAppend !== undefined) this.#limits = { ...this.#limits, maxEntriesPerAppend: this.#mix.maxEntriesPerAppend };
    this.#trace = options.keepTrace === true ? [] : null;
    const ids = Array.from({ length: options.nodes }, (_, i) => `r${i + 1}`);
    this.#peerNet = new SimulatedNetwork<PeerWire>(this.#queue, this.#random.fork(), CALM_NETWORK, (wire) => (wire.kind === 'message' ? wire.message.type : `snapshot ${wire.meta.index}`));
    this.#busNet = new SimulatedNetwork<BusWire>(this.#queue, this.#random.fork(), CALM_NETWORK, describeBusWire);
    this.#bus = new SimulatedBus(this.#queue, this.#random.fork(), this.#busNet, [...ids, CLIENT]);
    this.#clients = new SimulatedClients({
      queue: this.#queue,
      random: this.#clientRandom,
      bus: this.#bus,
      mix: this.#mix,
      timing: this.#timing,
      prefix: PREFIX,
      requestDeadlineMs: REQUEST_DEADLINE_ELECTION_TIMEOUTS * this.#timing.electionMaxMs,
      inFaultPhase: () => this.#phase === 'faults',
      record: (line) => this.#record(line),
      fail: (violation) => (this.#failure ??= violation),
      acknowledged: (id) => {
        for (const node of this.#nodes) node.checkedId = Math.min(node.checkedId, id - 1);
      },
    });
    const initialConfig = { voters: ids, learners: [] };
    const [low, high] = this.#mix.diskLatencyMs;
    this.#newDisk = (id, wipes) => {
      const random = diskRandom.fork();
      return new MemoryDisk<ChatModelState>({
        codec: chatModelCodec,
        initialConfig,
        // Derived from the id, not drawn: the seeded streams (and so every recorded seed) stay as they were.
        dataId: createHash('sha256').update(wipes === 0 ? `disk ${id}` : `disk ${id} ${wipes}`).digest('hex').slice(0, 16),
        mode: options.disk ?? 'honest',
        flushes: () => random.chance(0.2),
        latencyMs: () => random.int(low, high),
        sleep: async (ms) => await this.#sleepFor(id, ms),
        unsafe: { nonAtomicApply: options.variant === 'nonAtomicApply' },
      });
    };
    this.#nodes = ids.map((id) => {
      return {
        id,
        disk: this.#newDisk(id, 0),
        wipes: 0,
        needsRejoin: false,
        lostDisks: [],
        incarnation: 0,
        alive: false,
        store: null,
        clock: null,
        transport: null,
        replica: null,
        view: null,
        seen: new Map(),
        lastEntries: null,
        checkedId: 0,
      };
    });
    this.#faults = new FaultInjector<Node>({
      queue: this.#queue,
      random: this.#faultRandom,
      mix: this.#mix,
      timing: this.#timing,
      prefix: PREFIX,
      nodes: this.#nodes,
      peerNet: this.#peerNet,
      busNet: this.#busNet,
      bus: this.#bus,
      crash: (node, why) => this.#crash(node, why),
      start: (node) => this.#start(node),
      wipe: (node) => this.#wipe(node),
      inFaultPhase: () => this.#phase === 'faults',
      record: (line) => this.#record(line),
    });
  }

  async run(): Promise<RuntimeSimResult> {
    let violation: RuntimeSimResult['violation'] = null;
    try {
      this.#record(`start seed=${this.#o.seed} nodes=${this.#o.nodes} limits=${JSON.stringify(this.#limits)}`);
      for (const node of this.#nodes) this.#start(node);
      await this.#settle();
      this.#faults.schedule();
      this.#clients.schedule();
      while (this.#steps < this.#o.steps) await this.#step();
      await this.#heal();
    } catch (error) {
      if (!(error instanceof InvariantViolation)) throw error;
      violation = { invariant: error.invariant, detail: error.detail, step: this.#steps + this.#healSteps, timeMs: this.#queue.now, traceTail: [...this.#tail] };
    } finally {
      // Stop every replica's clock and transport so nothing of this run outlives it (not counted as a crash).
      for (const node of this.#nodes) this.#crash(node, 'end of run', false);
    }
    const acknowledged = this.#clients.sends.filter((send) => send.ack !== null).length;
    return {
      options: this.#o,
      ok: violation === null,
      violation,
      traceHash: this.#traceHash.toString(16).padStart(14, '0'),
      steps: this.#steps,
      healSteps: this.#healSteps,
      simTimeMs: this.#queue.now,
      stats: { sends: this.#clients.sends.length, acknowledged, reads: this.#clients.reads, crashes: this.#crashes, wipes: this.#nodes.reduce((n, node) => n + node.wipes, 0), leaderTerms: this.#checker.leaderTerms, snapshots: this.#nodes.reduce((n, node) => n + (node.store?.status().snapshotIndex ? 1 : 0), 0), batchedProposals: this.#batchedProposals },
      trace: this.#trace,
      replay: runtimeReplayCommand(this.#o),
    };
  }

  // ---- the loop ----

  async #step(): Promise<void> {
    const event = this.#queue.runNext();
    if (event === null) throw new InvariantViolation('liveness', 'the event queue ran dry: nothing left to happen');
    if (this.#phase === 'faults') this.#steps++;
    else this.#healSteps++;
    this.#record(`${event.time.toFixed(2)} ${event.label}`);
    await this.#settle();
  }

  /** Let every microtask the event started run to completion, then check. */
  async #settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#failure) throw this.#failure;
    this.#check();
  }

  async #heal(): Promise<void> {
    this.#phase = 'heal';
    this.#peerNet.heal();
    this.#busNet.heal();
    this.#peerNet.setConditions(CALM_NETWORK);
    this.#busNet.setConditions(CALM_NETWORK);
    for (const node of this.#nodes) {
      if (node.clock) node.clock.rate = 1;
      if (node.needsRejoin) this.#rejoin(node);
      else if (!node.alive) this.#start(node);
    }
    this.#record('  heal: network calm, every replica up');
    const deadline = this.#queue.now + LIVENESS_BOUND_ELECTION_TIMEOUTS * this.#timing.electionMaxMs;
    while (this.#clients.sends.some((send) => send.ack === null) || !this.#allCaughtUp()) {
      const next = this.#queue.peekTime();
      if (next === null || next > deadline || this.#healSteps >= MAX_HEAL_STEPS) {
        const pending = this.#clients.sends.filter((send) => send.ack === null).map((send) => send.requestId);
        throw new InvariantViolation('liveness', `${pending.length} sends never acknowledged (${pending.slice(0, 5).join(', ')}) or replicas not caught up (${this.#nodes.map((n) => `${n.id}@${n.store?.status().appliedIndex ?? '-'}`).join(' ')}) within ${LIVENESS_BOUND_ELECTION_TIMEOUTS} election timeouts of heal; ${this.#leaderProgress()}`);
      }
      await this.#step();
    }
    // No acknowledged send lost: every member holds every acknowledged send, exactly once.
    for (const node of this.#members()) {
      const state = node.store?.app;
      if (!state) continue;
      for (const send of this.#clients.sends) {
        const count = state.messages.filter((m) => m.from === send.from && m.requestId === send.requestId).length;
        if (send.ack !== null && count === 0) throw new InvariantViolation('acknowledged write lost', `${node.id} never applied acknowledged send ${send.requestId} (acknowledged at ${send.ack.at.toFixed(2)} ms)`);
        if (count > 1) throw new InvariantViolation('exactly once', `${node.id} holds send ${send.from}/${send.requestId} ${count} times`);
      }
    }
  }

  /** The leader's view of its peers, for a liveness report: `leader r3 t5 commit 21: r1 match 0 next 22, …`. */
  #leaderProgress(): string {
    const view = this.#nodes.find((node) => node.view?.role === 'leader')?.view;
    if (!view) return 'no leader';
    const peers = Object.entries(view.progress).map(([id, p]) => `${id} match ${p.matchIndex} next ${p.nextIndex}`);
    return `leader ${view.id} t${view.term} commit ${view.commitIndex} last ${view.lastIndex} config ${view.config.voters.join(',')}${view.config.learners.length ? `/${view.config.learners.join(',')}` : ''}: ${peers.join(', ')}`;
  }

  /** The replicas in the leader's configuration (voters and learners); all of them without a leader. */
  #members(config: Configuration | undefined = this.#nodes.find((node) => node.view?.role === 'leader')?.view?.config): Node[] {
    return config === undefined ? this.#nodes : this.#nodes.filter((node) => config.voters.includes(node.id) || config.learners.includes(node.id));
  }

  /** A leader in the highest term, and every member (voter or learner of its configuration) applied its commit index. */
  #allCaughtUp(): boolean {
    const leader = this.#nodes.find((node) => node.view?.role === 'leader');
    if (leader === undefined) return false;
    const { config, commitIndex } = leader.view!;
    return this.#members(config).every((node) => node.store?.status().appliedIndex === commitIndex);
  }

  // ---- replicas ----

  #start(node: Node, joined?: Configuration): void {
    node.incarnation++;
    node.alive = true;
    const incarnation = node.incarnation;
    const alive = (): boolean => node.alive && node.incarnation === incarnation;
    const clock = new SimulatedClock(this.#queue, node.id);
    const store = node.disk.open();
    node.clock = clock;
    node.store = store;
    node.transport = null;
    node.view = null;
    node.checkedId = 0;
    let uuids = 0;
    const random = this.#random.fork();
    const settings: ReplicaSettings = {
      id: node.id,
      prefix: PREFIX,
      peers: joined === undefined ? this.#nodes.map((n) => n.id) : [...joined.voters, ...joined.learners],
      timing: this.#timing,
      snapshotEvery: this.#mix.compactEvery ?? 1_000_000,
      requestDeadlineMs: REQUEST_DEADLINE_ELECTION_TIMEOUTS * this.#timing.electionMaxMs,
      limits: { ...this.#limits, maxRequestBytes: 64 * 1024 },
    };
    const loaded = store.load();
    void startReplica(settings, {
      bus: this.#bus.forNode(node.id, alive),
      clock: runtimeClock(this.#queue, clock, alive),
      random: { uuid: () => `${node.id}.${incarnation}.${++uuids}`, bytes: (n) => Uint8Array.from({ length: n }, () => random.int(0, 255)), coreSeed: () => random.nextUint32() },
      logger: silentRuntimeLogger,
      pid: 0,
      openStore: async () => ({
        store,
        // A replica that joined starts, like `replica --join`, from the configuration the leader answered with.
        start: { hardState: loaded.hardState, snapshot: joined !== undefined && loaded.snapshot.index === 0 && loaded.entries.length === 0 ? { ...loaded.snapshot, config: joined } : loaded.snapshot, entries: loaded.entries, commitIndex: loaded.appliedIndex },
        empty: loaded.empty,
        dataId: loaded.dataId,
        application: chatModel(() => store.app),
      }),
      // Attached only now, as the runtime subscribes to it: nothing arrives before anyone listens.
      createTransport: async () => {
        const transport = new SimulatedPeerTransport({ network: this.#peerNet, id: node.id });
        if (alive()) node.transport = transport;
        else void transport.close();
        return transport;
      },
      skipWipeCheck: true,
      ...(joined === undefined ? {} : { joined: true }),
      unsafe: unsafeOf(this.#o.variant),
      ...(this.#o.coreVariant === undefined ? {} : { unsafeCore: { [this.#o.coreVariant]: true } }),
    }).then(
      (replica) => {
        if (!alive()) return;
        node.replica = replica;
        void replica.failed.then((error) => {
          if (alive()) this.#failure ??= new InvariantViolation('core crashed', `${node.id}'s runtime stopped: ${error.message}`);
        });
      },
      (error: unknown) => {
        if (alive()) this.#failure ??= new InvariantViolation('core crashed', `${node.id} could not start: ${String(error)}`);
      },
    );
    this.#record(`  ${node.id} up (incarnation ${incarnation}, term ${loaded.hardState.term}, applied ${loaded.appliedIndex})`);
  }

  /**
   * A wipe: the disk is lost and the replica restarts empty under its old id,
   * with a new data identity. At most MAX_WIPES_PER_RUN per run, and only of a
   * replica whose identity every live replica's configuration records: before
   * that, only the runtime's start guard protects (docs/operators.md), and the
   * simulation skips it. Two replicas of five without their data is beyond
   * what Raft survives whatever it does.
   */
  #wipe(node: Node): boolean {
    if (this.#nodes.reduce((n, x) => n + x.wipes, 0) >= MAX_WIPES_PER_RUN) return false;
    const dataId = node.disk.options.dataId;
    // Every other replica's disk, up or down, must hold the record: a replica that never received it (down since
    // the cluster's birth, say) and the empty new disk could otherwise elect each other, two replicas without the data.
    const others = this.#nodes.filter((n) => n !== node);
    if (!others.every((n) => durableConfig(n.disk.durable)?.dataIds?.[node.id] === dataId)) return false;
    this.#crash(node, 'disk lost');
    node.lostDisks.push(node.disk.durable);
    node.wipes++;
    node.disk = this.#newDisk(node.id, node.wipes);
    node.needsRejoin = true;
    node.seen.clear();
    node.lastEntries = null;
    this.#start(node);
    return true;
  }

  /** Heal: a wiped replica asks in with `join` (actors/replica/join.ts) until a leader takes it back as a learner, then starts from the answer. */
  #rejoin(node: Node): void {
    this.#crash(node, 'rejoins', false);
    node.needsRejoin = false;
    const body = JSON.stringify({ id: node.id, intent: 'learner', dataId: node.disk.options.dataId });
    const attempt = (): void => {
      this.#bus.request(CLIENT, `${PREFIX}.admin.join`, body, REQUEST_DEADLINE_ELECTION_TIMEOUTS * this.#timing.electionMaxMs).then(
        (raw) => {
          const answer = JSON.parse(raw) as { ok?: boolean; voters?: ReplicaId[]; learners?: ReplicaId[] };
          if (answer.ok === true && answer.voters !== undefined && answer.learners !== undefined) {
            this.#record(`  ${node.id} rejoined as a learner (voters ${answer.voters.join(',')}; learners ${answer.learners.join(',')})`);
            this.#start(node, { voters: answer.voters, learners: answer.learners });
          } else this.#queue.schedule(this.#timing.electionMaxMs, `${node.id} asks to join again`, attempt);
        },
        () => this.#queue.schedule(this.#timing.electionMaxMs, `${node.id} asks to join again`, attempt),
      );
    };
    attempt();
  }

  /** Crash: the process dies; the disk keeps only what was durable. */
  #crash(node: Node, why: string, count = true): void {
    if (!node.alive) return;
    node.alive = false;
    if (node.replica !== null) this.#batchedProposals += node.replica.status().proposals.batched;
    node.clock?.stop();
    void node.transport?.close();
    this.#bus.dropNode(node.id);
    node.disk.crash();
    node.replica = null;
    node.view = null;
    if (count) this.#crashes++;
    this.#record(`  ${node.id} down (${why})`);
  }

  async #sleepFor(_id: ReplicaId, ms: number): Promise<void> {
    await new Promise<void>((resolve) => this.#queue.schedule(ms, 'disk', resolve));
  }

  // ---- invariants ----

  #check(): void {
    for (const node of this.#nodes) {
      if (!node.alive || node.replica === null || node.store === null) continue;
      const view = node.replica.view();
      const before = node.view;
      node.view = view;
      if (before === null || before.role !== view.role || before.term !== view.term || before.commitIndex !== view.commitIndex) {
        this.#record(`  ${node.id} ${view.role} t${view.term} lead=${view.leader ?? '-'} commit=${view.commitIndex} last=${view.lastIndex}`);
      }
      if (before !== null && view.commitIndex > before.commitIndex) this.#faults.react(node, view.role === 'leader' ? Math.max(this.#faults.crashOnCommit, this.#mix.crashAfterCommit) : this.#faults.crashOnCommit, 'just committed');
      if (view.role === 'leader' && before?.role !== 'leader') this.#faults.react(node, this.#mix.crashNewLeader, 'new leader');
      this.#checkLog(node, view);
      const termAt = (index: Index): Term | null | undefined => termInView(view, index);
      this.#checker.observeView(view, termAt);
      const commitTerm = termAt(view.commitIndex);
      if (typeof commitTerm === 'number') this.#checker.observeCommit(view, commitTerm);
      // Votes are per disk: a wiped replica's new disk starts at term 0 with no vote.
      this.#checker.observeHardState(node.wipes === 0 ? node.id : `${node.id}#${node.wipes}`, node.disk.durable.hardState);
      // Only an advance: a newly elected leader's commit index may name an entry committed under an older configuration
      // (e.g. with a voter since removed), which the current one need not hold (found as a false alarm in the membership mix).
      if (view.role === 'leader' && view.commitIndex > (before?.commitIndex ?? 0)) this.#checkCommitQuorum(node, view);
      this.#checkApplied(node);
    }
  }

  /** Log matching over each replica's log as its core holds it (persisted or about to be). */
  #checkLog(node: Node, view: CoreView): void {
    const entries = view.entries;
    if (entries === node.lastEntries) return;
    node.lastEntries = entries;
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (node.seen.get(entry.index) === entry.term) break;
      node.seen.set(entry.index, entry.term);
      const prev = i > 0 ? entries[i - 1]!.term : null;
      this.#checker.observeAppend(node.id, entry, prev);
    }
  }

  /** Raft §5.3: a leader commits an entry only once a majority of its voters hold it durably. */
  #checkCommitQuorum(leader: Node, view: CoreView): void {
    const index = view.commitIndex;
    const term = termInView(view, index);
    if (typeof term !== 'number') return;
    const holds = (durable: MemoryDisk<ChatModelState>['durable']): boolean =>
      (durable.snapshot?.meta.index ?? 0) >= index || durable.entries.some((entry) => entry.index === index && entry.term === term);
    // A disk lost after it acknowledged the entry was a holder when the leader counted it (the fault model allows
    // one lost disk per run); what its replacement holds counts only for itself, and the identity rules keep its
    // acknowledgements from being counted before it rejoins.
    const holders = view.config.voters.filter((id) => {
      const node = this.#nodes.find((n) => n.id === id);
      return node !== undefined && (holds(node.disk.durable) || node.lostDisks.some(holds));
    });
    if (holders.length * 2 <= view.config.voters.length) {
      throw new InvariantViolation('commit without quorum', `${leader.id} (leader, t${view.term}) committed index ${index} (t${term}) but only ${holders.join(', ')} of ${view.config.voters.join(', ')} hold it durably`);
    }
  }

  /** Digests equal at equal appliedIndex; ids dense and in commit order; every acknowledged send where its id says. */
  #checkApplied(node: Node): void {
    const store = node.store!;
    const { appliedIndex, digest } = store.status();
    const app = store.app;
    const known = this.#digests.get(appliedIndex);
    if (known === undefined) this.#digests.set(appliedIndex, { store: digest, model: app.digest, by: node.id });
    else if (known.store !== digest || known.model !== app.digest) {
      throw new InvariantViolation('state machine safety', `${node.id} at appliedIndex ${appliedIndex} has digest ${digest.slice(0, 12)}/model ${app.digest} but ${known.by} had ${known.store.slice(0, 12)}/model ${known.model}`);
    }
    if (app.messages.length < node.checkedId) node.checkedId = 0;
    for (let id = node.checkedId + 1; id <= app.messages.length; id++) {
      const message = app.messages[id - 1]!;
      if (message.id !== id) throw new InvariantViolation('state machine safety', `${node.id}'s message ids are not dense and in commit order: #${id} is ${message.id}`);
      const send = this.#clients.byId.get(id);
      if (send !== undefined && (send.from !== message.from || send.requestId !== message.requestId)) {
        throw new InvariantViolation('acknowledged write lost', `send ${send.from}/${send.requestId} was acknowledged as message ${id}, but ${node.id} applied ${message.from}/${message.requestId} there`);
      }
    }
    node.checkedId = app.messages.length;
  }

  #record(line: string): void {
    this.#traceHash = hash53(line, this.#traceHash);
    this.#tail.push(line);
    if (this.#tail.length > TRACE_TAIL_LINES) this.#tail.shift();
    this.#trace?.push(line);
  }
}

/** A replica's clock as the runtime sees it: the simulated clock, silent (never firing) once the replica crashed. */
function runtimeClock(queue: EventQueue, clock: SimulatedClock, alive: () => boolean): RuntimeClock {
  return {
    now: () => queue.now,
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => (alive() ? clock.setTimeout(fn, ms) : null),
    clearTimeout: (id: unknown) => {
      if (id !== null && alive()) clock.clearTimeout(id);
    },
    sleep: async (ms: number) =>
      await new Promise<void>((resolve) => {
        if (alive()) clock.setTimeout(() => resolve(), ms);
      }),
  };
}

function unsafeOf(variant: RuntimeVariant | undefined): UnsafeRuntimeVariants | undefined {
  switch (variant) {
    case 'ackBeforeDurable':
      return { ackBeforeDurable: true };
    case 'replyBeforeApply':
      return { replyBeforeApply: true };
    case 'readWithoutReadIndex':
      return { readWithoutReadIndex: true };
    default:
      return undefined;
  }
}

/** The term at `index` in a core's log: null if not held, undefined if its snapshot hides it. */
function termInView(view: CoreView, index: Index): Term | null | undefined {
  if (index === view.snapshot.index) return view.snapshot.term;
  if (index < view.snapshot.index) return undefined;
  return view.entries[index - view.snapshot.index - 1]?.term ?? null;
}
