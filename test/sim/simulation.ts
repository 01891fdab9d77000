/**
 * The deterministic simulation: a whole cluster in one process, driven by one
 * seed over one event queue. Each replica is the real consensus core with a
 * simulated clock; its Readies are carried out in order (persist on a
 * simulated disk, then send on the simulated network, then apply to a toy
 * state machine). Faults are injected throughout, clients propose throughout,
 * and every safety invariant is checked after every step. After `steps`
 * steps every fault heals and the cluster must recover within a bound.
 */
import { DEFAULT_LIMITS, DEFAULT_TIMING } from '../../actors/raft/limits.ts';
import type { CoreView, Index, RaftLimits, RaftTiming, ReplicaId, UnsafeVariants } from '../../actors/raft/types.ts';
import { EventQueue } from '../../actors/transport/sim-clock.ts';
import { SeededRandom } from '../../actors/transport/sim-random.ts';
import { CALM_NETWORK, SimulatedNetwork } from '../../actors/transport/simulated.ts';
import { SimulatedClients } from './client.ts';
import { SimulatedDisk, type DiskMode } from './disk.ts';
import { FaultInjector } from './fault-injector.ts';
import { drawMix, type FaultKind, type FaultMix, type MixName } from './faults.ts';
import { InvariantChecker, InvariantViolation, type InvariantName } from './invariants.ts';
import { ReadChecker, type ReadMode } from './reads.ts';
import { describeWire, SimulatedReplica, termAt, type ReplicaEnvironment, type Wire } from './replica.ts';
import { hash53 } from './state-machine.ts';

export type VariantName = keyof UnsafeVariants;
export const VARIANT_NAMES: readonly VariantName[] = ['quorumOverReachable', 'commitEarlierTermByCount', 'voteWithoutLogCheck'];

export interface SimOptions {
  readonly seed: number;
  /** Cluster size (3, 5 or 7 in CI; any size from 1 to 9 works). */
  readonly nodes: number;
  /** Steps (executed events) of the fault phase; the heal phase follows. */
  readonly steps: number;
  /** A deliberately broken core, to prove the simulation can fail. */
  readonly variant?: VariantName | undefined;
  readonly disk?: DiskMode | undefined;
  readonly mix?: MixName | undefined;
  /** `local`: a broken runtime that serves reads from its own state without a read index. */
  readonly reads?: ReadMode | undefined;
  /** Keep the whole trace in the result (for `--trace`); otherwise only the tail. */
  readonly keepTrace?: boolean | undefined;
}

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
  readonly step: number;
  readonly timeMs: number;
  readonly traceTail: readonly string[];
}

export interface SimResult {
  readonly options: SimOptions;
  readonly ok: boolean;
  readonly violation: Violation | null;
  /** Hash of the whole trace: the same seed and options always give the same hash. */
  readonly traceHash: string;
  readonly steps: number;
  readonly healSteps: number;
  readonly simTimeMs: number;
  /** Simulated time from heal until the cluster was live again, or null if it never was. */
  readonly recoveryMs: number | null;
  /** Simulated time from heal until every replica in the configuration applied every acknowledged proposal; null if not within the bound. */
  readonly catchUpMs: number | null;
  readonly mix: FaultMix;
  readonly stats: {
    readonly proposed: number;
    readonly acknowledged: number;
    readonly leaderTerms: number;
    readonly crashes: number;
    readonly snapshotsTaken: number;
    readonly snapshotsInstalled: number;
    readonly readsServed: number;
    /** Membership changes committed (config entries applied somewhere). */
    readonly configsCommitted: number;
    readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
    readonly messagesSent: number;
    readonly messagesLost: number;
  };
  readonly trace: readonly string[] | null;
  /** One command that replays this run exactly. */
  readonly replay: string;
}

/** Election timeouts the cluster gets, after every fault heals, to elect a leader and commit every pending proposal. */
export const LIVENESS_BOUND_ELECTION_TIMEOUTS = 10;
/** Trace lines kept for a violation report: enough to see the last few rounds of messages. */
const TRACE_TAIL_LINES = 60;
/** A client gives up on an attempt after this many election timeouts: long enough for one election plus a commit. */
const CLIENT_TIMEOUT_ELECTION_TIMEOUTS = 2;
/** Proposals in flight at once (a modest, bounded client population). */
const MAX_OUTSTANDING_PROPOSALS = 24;
/** Share of client operations that are reads rather than proposals. */
const READ_SHARE = 0.3;
/** Heal-phase steps cap: far beyond any honest recovery, a guard against a livelocked harness. */
const MAX_HEAL_STEPS = 2_000_000;

export function runSimulation(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

export function replayCommand(options: SimOptions): string {
  const parts = ['npm run sim --', `--seed ${options.seed}`, `--nodes ${options.nodes}`, `--steps ${options.steps}`];
  if (options.variant !== undefined) parts.push(`--variant ${options.variant}`);
  if (options.disk !== undefined && options.disk !== 'honest') parts.push(`--disk ${options.disk}`);
  if (options.mix !== undefined && options.mix !== 'swarm') parts.push(`--mix ${options.mix}`);
  if (options.reads !== undefined && options.reads !== 'correct') parts.push(`--reads ${options.reads}`);
  return parts.join(' ');
}

class Simulation {
  readonly #options: SimOptions;
  readonly #queue = new EventQueue();
  readonly #random: SeededRandom;
  readonly #faultRandom: SeededRandom;
  readonly #diskRandom: SeededRandom;
  readonly #mix: FaultMix;
  readonly #timing: RaftTiming;
  readonly #limits: RaftLimits;
  readonly #network: SimulatedNetwork<Wire>;
  readonly #checker = new InvariantChecker();
  readonly #clients: SimulatedClients;
  readonly #reads: ReadChecker;
  readonly #replicas = new Map<ReplicaId, SimulatedReplica>();
  readonly #ids: ReplicaId[];
  readonly #touched = new Set<ReplicaId>();
  readonly #tail: string[] = [];
  readonly #trace: string[] | null;
  #traceHash = 0;
  #steps = 0;
  #healSteps = 0;
  #phase: 'faults' | 'heal' = 'faults';
  readonly #faults: FaultInjector;
  readonly #counters: ReplicaEnvironment['counters'] = { crashes: 0, snapshotsTaken: 0, snapshotsInstalled: 0, configsCommitted: new Set<Index>() };

  constructor(options: SimOptions) {
    if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${options.seed}`);
    if (!Number.isInteger(options.nodes) || options.nodes < 1 || options.nodes > 9) throw new RangeError(`nodes must be 1..9, got ${options.nodes}`);
    if (!Number.isInteger(options.steps) || options.steps < 0) throw new RangeError(`steps must be a non-negative integer, got ${options.steps}`);
    this.#options = options;
    this.#reads = new ReadChecker();
    this.#random = new SeededRandom(options.seed);
    this.#mix = drawMix(options.mix ?? 'swarm', this.#random.fork());
    this.#timing = this.#mix.timing ?? DEFAULT_TIMING;
    this.#faultRandom = this.#random.fork();
    this.#diskRandom = this.#random.fork();
    const limits = drawLimits(this.#random.fork());
    this.#limits = this.#mix.maxEntriesPerAppend === undefined ? limits : { ...limits, maxEntriesPerAppend: this.#mix.maxEntriesPerAppend };
    this.#trace = options.keepTrace === true ? [] : null;
    this.#ids = Array.from({ length: options.nodes }, (_, i) => `r${i + 1}`);
    this.#network = new SimulatedNetwork<Wire>(this.#queue, this.#random.fork(), CALM_NETWORK, describeWire);
    this.#clients = new SimulatedClients(
      this.#queue,
      this.#random.fork(),
      this.#ids,
      {
        propose: (replica, attemptId, data) => this.#propose(replica, attemptId, data),
        acknowledged: (proposal, digest, index, term) => this.#checker.observeAck(proposal, digest, index, term),
      },
      { attemptTimeoutMs: CLIENT_TIMEOUT_ELECTION_TIMEOUTS * this.#timing.electionMaxMs, retryBackoffMs: [5, 50] },
    );
    const config = { voters: this.#ids, learners: [] };
    const env: ReplicaEnvironment = {
      queue: this.#queue,
      network: this.#network,
      checker: this.#checker,
      clients: this.#clients,
      reads: this.#reads,
      diskRandom: this.#diskRandom,
      mix: this.#mix,
      timing: this.#timing,
      limits: this.#limits,
      unsafe: options.variant === undefined ? undefined : { [options.variant]: true },
      counters: this.#counters,
      nextCoreSeed: () => this.#random.nextUint32(),
      touch: (id) => this.#touched.add(id),
      record: (line) => this.#record(line),
      retryRead: (hint) => this.#queue.schedule(this.#faultRandom.int(1, 5), `client read at ${hint}`, () => this.#issueRead(hint)),
    };
    for (const id of this.#ids) this.#replicas.set(id, new SimulatedReplica(id, new SimulatedDisk(config, options.disk ?? 'honest', this.#diskRandom.fork()), env));
    this.#faults = new FaultInjector({
      ids: this.#ids,
      replicas: [...this.#replicas.values()],
      network: this.#network,
      queue: this.#queue,
      random: this.#faultRandom,
      mix: this.#mix,
      timing: this.#timing,
      leader: () => this.#leader(),
      crash: (replica) => this.#crash(replica),
      touch: (id) => this.#touched.add(id),
      inFaultPhase: () => this.#phase === 'faults',
      nextConfigId: () => `config${this.#steps}`,
      record: (line) => this.#record(line),
    });
  }

  run(): SimResult {
    let violation: Violation | null = null;
    let recoveryMs: number | null = null;
    let catchUpMs: number | null = null;
    try {
      this.#record(`start seed=${this.#options.seed} nodes=${this.#options.nodes} mix=${this.#mix.name} limits=${JSON.stringify(this.#limits)}`);
      for (const replica of this.#replicas.values()) replica.start();
      this.#afterStep();
      this.#scheduleFault();
      this.#scheduleProposal();
      while (this.#steps < this.#options.steps) this.#step();
      const healedAt = this.#heal();
      const deadline = healedAt + this.#livenessBoundMs();
      for (;;) {
        if (this.#isLive()) {
          recoveryMs = this.#queue.now - healedAt;
          break;
        }
        const next = this.#queue.peekTime();
        if (next === null || next > deadline || this.#healSteps >= MAX_HEAL_STEPS) {
          throw new InvariantViolation('liveness', this.#describeNotLive(this.#livenessBoundMs()));
        }
        this.#step();
        this.#healSteps++;
      }
      // Not an invariant (a follower may lag a while, e.g. behind a lost snapshot answer), but measured:
      // how long until every member replica has applied every acknowledged proposal.
      for (;;) {
        if (this.#allCaughtUp()) {
          catchUpMs = this.#queue.now - healedAt;
          break;
        }
        const next = this.#queue.peekTime();
        if (next === null || next > deadline || this.#healSteps >= MAX_HEAL_STEPS) break;
        this.#step();
        this.#healSteps++;
      }
    } catch (error) {
      violation = this.#violation(error);
    }
    const network = this.#network.stats;
    return {
      options: this.#options,
      ok: violation === null,
      violation,
      traceHash: this.#traceHash.toString(16).padStart(14, '0'),
      steps: this.#steps,
      healSteps: this.#healSteps,
      simTimeMs: this.#queue.now,
      recoveryMs,
      catchUpMs,
      mix: this.#mix,
      stats: {
        proposed: this.#clients.stats.proposed,
        acknowledged: this.#clients.stats.acknowledged,
        leaderTerms: this.#checker.leaderTerms,
        crashes: this.#counters.crashes,
        snapshotsTaken: this.#counters.snapshotsTaken,
        snapshotsInstalled: this.#counters.snapshotsInstalled,
        readsServed: this.#reads.stats.served,
        configsCommitted: this.#counters.configsCommitted.size,
        faults: this.#faults.counts,
        messagesSent: network.sent,
        messagesLost: network.dropped + network.partitioned + network.undeliverable,
      },
      trace: this.#trace,
      replay: replayCommand(this.#options),
    };
  }

  // ---- the step loop ----

  #step(): void {
    const event = this.#queue.runNext();
    if (event === null) throw new InvariantViolation('liveness', 'the event queue ran dry: nothing left to happen');
    if (this.#phase === 'faults') this.#steps++;
    this.#record(`${event.time.toFixed(2)} ${event.label}`);
    this.#afterStep();
  }

  /** Take in what the step's cores emitted, then check every invariant on the replicas it touched. */
  #afterStep(): void {
    for (const id of this.#touched) {
      const replica = this.#replica(id);
      const core = replica.core;
      if (core === null) continue;
      if (core.failure !== undefined) {
        const failure = core.failure;
        const text = failure instanceof Error ? `${failure.name}: ${failure.message}\n${failure.stack?.split('\n').slice(1, 6).join('\n') ?? ''}` : String(failure);
        throw new InvariantViolation('core crashed', `${id}'s machine threw: ${text}`);
      }
      replica.takeIn();
      const view = core.view();
      const before = replica.view;
      replica.view = view;
      this.#faults.react(replica, before, view);
      replica.checkView(view);
      if (view.role === 'leader' && view.commitIndex > (before?.commitIndex ?? 0)) this.#checkCommitQuorum(replica, view);
      this.#record(`  ${id} ${view.role} t${view.term} lead=${view.leader ?? '-'} commit=${view.commitIndex} last=${view.lastIndex} snap=${view.snapshot.index}`);
    }
    this.#touched.clear();
  }

  // ---- a replica's runtime: take in Readies, persist, send, apply ----

  #propose(id: ReplicaId, attemptId: string, data: Uint8Array): boolean {
    const replica = this.#replica(id);
    if (replica.core === null) return false;
    this.#touched.add(id);
    replica.core.send({ type: 'propose', id: attemptId, data });
    return true;
  }

  /**
   * Raft §5.3: a leader commits an entry only once a majority of the voters
   * of its configuration store it. Followers count if their disk holds it (they
   * acknowledge only after persisting); the leader by its own log, since its
   * followers cannot have an entry before the leader's own persist of it.
   */
  #checkCommitQuorum(leader: SimulatedReplica, view: CoreView): void {
    const index = view.commitIndex;
    const term = termAt(leader.log, index);
    const holders = view.config.voters.filter((id) => {
      if (id === leader.id) return true;
      const disk = this.#replicas.get(id)?.disk;
      return disk !== undefined && (disk.snapshot.meta.index >= index || disk.entryAt(index)?.term === term);
    });
    if (holders.length * 2 <= view.config.voters.length) {
      throw new InvariantViolation(
        'commit without quorum',
        `${leader.id} (leader, t${view.term}) committed index ${index} (t${term}) but only ${holders.join(', ')} of voters ${view.config.voters.join(', ')} hold it durably`,
      );
    }
  }

  // ---- faults and workload ----

  #crash(replica: SimulatedReplica): void {
    replica.crash();
    this.#touched.delete(replica.id);
  }

  #scheduleFault(): void {
    const [low, high] = this.#mix.faultIntervalMs;
    this.#queue.schedule(this.#faultRandom.int(low, high), 'fault', () => {
      if (this.#phase !== 'faults') return;
      this.#faults.inject();
      this.#scheduleFault();
    });
  }

  #scheduleProposal(): void {
    const [low, high] = this.#mix.proposalIntervalMs;
    this.#queue.schedule(this.#faultRandom.int(low, high), 'client', () => {
      if (this.#phase !== 'faults') return;
      if (this.#faultRandom.chance(READ_SHARE)) this.#issueRead();
      else if (this.#clients.outstanding < MAX_OUTSTANDING_PROPOSALS) this.#clients.submit();
      this.#scheduleProposal();
    });
  }

  /** A linearizable read to a random replica (refusals are not retried: reads have no effect to lose). */
  #issueRead(to?: ReplicaId): void {
    const replica = this.#replica(to ?? this.#faultRandom.pick(this.#ids));
    if (replica.core === null) return;
    let committed = 0;
    for (const other of this.#replicas.values()) if (other.view !== null) committed = Math.max(committed, other.view.commitIndex);
    const id = this.#reads.issue(replica.id, this.#queue.now, committed);
    if (this.#options.reads === 'local') {
      this.#reads.serveLocally(id, replica.applied.appliedIndex);
      return;
    }
    this.#touched.add(replica.id);
    replica.core.send({ type: 'readIndex', id });
  }

  /** End of the fault phase: heal the network, calm the weather, fix clocks, restart everyone. */
  #heal(): number {
    this.#phase = 'heal';
    this.#network.heal();
    this.#network.setConditions(CALM_NETWORK);
    for (const replica of this.#replicas.values()) {
      if (replica.clock !== null) replica.clock.rate = 1;
      if (replica.core === null) replica.start();
    }
    this.#clients.onHeal();
    this.#record(`${this.#queue.now.toFixed(2)} heal: network healed, every replica up, no new proposals`);
    this.#afterStep();
    return this.#queue.now;
  }

  // ---- liveness ----

  /**
   * Simulated time the cluster gets after heal: 10 election timeouts, of the
   * default timing at least (a mix with short timeouts still has a backlog of
   * retried proposals to commit).
   */
  #livenessBoundMs(): number {
    return LIVENESS_BOUND_ELECTION_TIMEOUTS * Math.max(this.#timing.electionMaxMs, DEFAULT_TIMING.electionMaxMs);
  }

  #allCaughtUp(): boolean {
    const leader = this.#leader();
    if (leader?.view == null) return false;
    const { voters, learners } = leader.view.config;
    const target = this.#checker.maxAckedIndex;
    return [...voters, ...learners].every((id) => this.#replica(id).applied.appliedIndex >= target);
  }

  /** A leader in the highest term and every proposal acknowledged. */
  #isLive(): boolean {
    return this.#leader() !== null && this.#clients.outstanding === 0;
  }

  #describeNotLive(boundMs: number): string {
    const views = [...this.#replicas.values()].map((r) => (r.view === null ? `${r.id} down` : `${r.id} ${r.view.role} t${r.view.term} commit=${r.view.commitIndex} last=${r.view.lastIndex}`));
    const leader = this.#leader();
    return (
      `${boundMs}ms after every fault healed, ` +
      `${leader === null ? 'there is no leader in the highest term' : `${leader.id} leads`} and ${this.#clients.outstanding} proposals are unacknowledged` +
      (this.#clients.outstanding > 0 ? ` (${this.#clients.describeOutstanding()})` : '') +
      `; replicas: ${views.join('; ')}`
    );
  }

  /** The up replica that leads in the highest term any up replica has, if any. */
  #leader(): SimulatedReplica | null {
    let highest = -1;
    let leader: SimulatedReplica | null = null;
    for (const replica of this.#replicas.values()) {
      const view = replica.view;
      if (view === null || replica.core === null) continue;
      if (view.term > highest) {
        highest = view.term;
        leader = null;
      }
      if (view.term === highest && view.role === 'leader') leader = replica;
    }
    return leader;
  }

  // ---- trace ----

  #record(line: string): void {
    this.#traceHash = hash53(line, this.#traceHash >>> 0);
    this.#tail.push(line);
    if (this.#tail.length > TRACE_TAIL_LINES) this.#tail.shift();
    this.#trace?.push(line);
  }

  #violation(error: unknown): Violation {
    const base = { step: this.#steps + this.#healSteps, timeMs: this.#queue.now, traceTail: [...this.#tail] };
    if (error instanceof InvariantViolation) return { ...base, invariant: error.invariant, detail: error.detail };
    const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    return { ...base, invariant: 'harness error', detail: text };
  }

  #replica(id: ReplicaId): SimulatedReplica {
    const replica = this.#replicas.get(id);
    if (replica === undefined) throw new Error(`unknown replica ${id}`);
    return replica;
  }
}

/** Flow-control limits vary per seed, small ones included, so batching and back-pressure paths run too. */
function drawLimits(random: SeededRandom): RaftLimits {
  return {
    maxEntriesPerAppend: random.pick([1, 3, 64, DEFAULT_LIMITS.maxEntriesPerAppend]),
    maxBytesPerAppend: random.pick([16, DEFAULT_LIMITS.maxBytesPerAppend]),
    maxInflightAppends: random.pick([1, 2, DEFAULT_LIMITS.maxInflightAppends]),
    maxUncommittedEntries: random.pick([4, 32, DEFAULT_LIMITS.maxUncommittedEntries]),
  };
}

