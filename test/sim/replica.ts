/**
 * One simulated replica: the real consensus core plus the simulation's
 * minimal runtime around it. Readies are checked against the core's contract
 * as they are emitted, mirrored into a model of the core's log, and carried
 * out strictly in order: persist (simulated disk, seeded latency), then send
 * (simulated network), then apply (hash-chain state machine), then answer.
 */
import type { CoreView, Entry, Index, Message, RaftInput, RaftLimits, RaftTiming, Ready, ReplicaId, SnapshotMeta, Term, UnsafeVariants } from '../../actors/raft/types.ts';
import { SimulatedClock, type EventQueue, type ScheduledEvent } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import type { SimulatedNetwork } from '../../actors/transport/simulated.ts';
import type { SimulatedClients } from './client.ts';
import { startCore, type SimCore } from './core.ts';
import { describeMeta, SimulatedDisk, StorageContractError, type StoredSnapshot } from './disk.ts';
import type { FaultMix } from './faults.ts';
import { InvariantViolation, type InvariantChecker } from './invariants.ts';
import type { ReadChecker } from './reads.ts';
import type { AppliedState } from './state-machine.ts';

/** How long a leader's runtime waits before it notices a snapshot stream failed. */
const SNAPSHOT_STREAM_FAILURE_MS = 100;
/** Received snapshots a replica keeps staged until its core asks to install one (older ones are dropped). */
const MAX_STAGED_SNAPSHOTS = 4;

/** What crosses the simulated network between simulated replicas. */
export type Wire =
  | { readonly kind: 'raft'; readonly message: Message }
  | { readonly kind: 'snapshot'; readonly snapshot: StoredSnapshot; readonly term: Term };

/** The cluster around a replica: shared by every replica of one simulation. */
export interface ReplicaEnvironment {
  readonly queue: EventQueue;
  readonly network: SimulatedNetwork<Wire>;
  readonly checker: InvariantChecker;
  readonly clients: SimulatedClients;
  readonly reads: ReadChecker;
  /** Draws persist latencies. */
  readonly diskRandom: SeededRandom;
  readonly mix: FaultMix;
  readonly timing: RaftTiming;
  readonly limits: RaftLimits;
  readonly unsafe: UnsafeVariants | undefined;
  readonly counters: { crashes: number; snapshotsTaken: number; snapshotsInstalled: number; readonly configsCommitted: Set<Index> };
  /** A fresh seed for a (re)started core. */
  nextCoreSeed(): number;
  /** This replica's core got an event during the current step: check it after the step. */
  touch(id: ReplicaId): void;
  record(line: string): void;
  /** A read was refused with a leader hint: the client asks that replica. */
  retryRead(hint: ReplicaId): void;
}

/** The core's log as its Readies describe it (persisted or about to be). */
export interface LogMirror {
  snapshot: SnapshotMeta;
  entries: Entry[];
}

export class SimulatedReplica {
  readonly id: ReplicaId;
  readonly disk: SimulatedDisk;
  readonly #env: ReplicaEnvironment;
  incarnation = 0;
  core: SimCore | null = null;
  clock: SimulatedClock | null = null;
  /** The core's view after the last step that touched it; null while down. */
  view: CoreView | null = null;
  /** Readies the core emitted during the current step, not yet taken in. */
  emitted: Ready[] = [];
  /** Readies taken in, waiting for their persist (strictly in order). */
  persistQueue: Ready[] = [];
  persisting: ScheduledEvent | null = null;
  log: LogMirror;
  lastSeq = -1;
  /** Highest index handed over for apply in this incarnation. */
  lastCommitted: Index = 0;
  commitIndex: Index = 0;
  applied: AppliedState;
  readonly staged = new Map<string, StoredSnapshot>();
  /**
   * Snapshots a taken-in Ready will install, by Ready seq: pinned when the core
   * asks, so newer arrivals cannot evict them while the persist is queued.
   */
  readonly #installs = new Map<number, StoredSnapshot>();

  constructor(id: ReplicaId, disk: SimulatedDisk, env: ReplicaEnvironment) {
    this.id = id;
    this.disk = disk;
    this.#env = env;
    this.log = { snapshot: disk.snapshot.meta, entries: [] };
    this.applied = disk.applied;
  }

  /** The core's view after a step must agree with its Readies; then the cluster-wide checks. */
  checkView(view: CoreView): void {
    const log = this.log;
    const mirrorLast = log.entries.at(-1)?.index ?? log.snapshot.index;
    if (view.lastIndex !== mirrorLast || view.snapshot.index !== log.snapshot.index) {
      throw new InvariantViolation(
        'core contract',
        `${this.id}'s view has log (snapshot ${view.snapshot.index}, last ${view.lastIndex}) but its Readies and compactions give (snapshot ${log.snapshot.index}, last ${mirrorLast})`,
      );
    }
    if (view.commitIndex < this.commitIndex) {
      throw new InvariantViolation('core contract', `${this.id}'s commitIndex went back from ${this.commitIndex} to ${view.commitIndex}`);
    }
    this.commitIndex = view.commitIndex;
    const commitTerm = termAt(log, view.commitIndex);
    if (commitTerm === null || commitTerm === undefined) {
      throw new InvariantViolation('core contract', `${this.id}'s commitIndex ${view.commitIndex} is outside its log (snapshot ${log.snapshot.index}, last ${mirrorLast})`);
    }
    this.#env.checker.observeCommit(view, commitTerm);
    this.#env.checker.observeView(view, (index) => termAt(log, index));
  }

  /** Readies just emitted: check them against the core's contract, mirror the log, queue their persist. */
  takeIn(): void {
    if (this.emitted.length === 0) return;
    const emitted = this.emitted;
    this.emitted = [];
    for (const ready of emitted) {
      if (ready.seq <= this.lastSeq) throw new InvariantViolation('core contract', `${this.id} emitted Ready #${ready.seq} after #${this.lastSeq}`);
      this.lastSeq = ready.seq;
      const log = this.log;
      if (ready.installSnapshot !== undefined) {
        const snapshot = this.staged.get(snapshotKey(ready.installSnapshot));
        if (snapshot === undefined) {
          throw new InvariantViolation('core contract', `${this.id} installs snapshot ${describeMeta(ready.installSnapshot)}, which its runtime never received`);
        }
        this.#installs.set(ready.seq, snapshot);
        log.snapshot = ready.installSnapshot;
        log.entries = [];
        this.lastCommitted = Math.max(this.lastCommitted, ready.installSnapshot.index);
      }
      if (ready.truncateFrom !== undefined) {
        const from = ready.truncateFrom;
        if (from <= log.snapshot.index) throw new InvariantViolation('core contract', `${this.id} truncates from ${from}, inside its snapshot at ${log.snapshot.index}`);
        if (from <= this.lastCommitted) {
          throw new InvariantViolation('state machine safety', `${this.id} truncates its log from ${from} though it already committed through ${this.lastCommitted}`);
        }
        log.entries = log.entries.filter((entry) => entry.index < from);
      }
      for (const entry of ready.entries) {
        const expected = (log.entries.at(-1)?.index ?? log.snapshot.index) + 1;
        if (entry.index !== expected) throw new InvariantViolation('core contract', `${this.id} appends index ${entry.index} where ${expected} comes next`);
        const prevTerm = termAt(log, entry.index - 1);
        this.#env.checker.observeAppend(this.id, entry, prevTerm === undefined ? null : prevTerm);
        log.entries.push(entry);
      }
      for (const entry of ready.committed) {
        if (entry.index !== this.lastCommitted + 1) {
          throw new InvariantViolation('state machine safety', `${this.id} hands index ${entry.index} to apply right after ${this.lastCommitted}`);
        }
        if (termAt(log, entry.index) !== entry.term) {
          throw new InvariantViolation('core contract', `${this.id} commits (${entry.index}, t${entry.term}) which its log does not hold`);
        }
        this.lastCommitted = entry.index;
      }
      if (ready.committed.length > 0 && ready.commitIndex < this.lastCommitted) {
        throw new InvariantViolation('core contract', `${this.id}'s Ready commits through ${this.lastCommitted} but says commitIndex ${ready.commitIndex}`);
      }
      this.persistQueue.push(ready);
    }
    if (this.persisting === null) this.#schedulePersist();
  }

  #schedulePersist(): void {
    const ready = this.persistQueue[0];
    if (ready === undefined) return;
    const writes = ready.hardState !== undefined || ready.installSnapshot !== undefined || ready.truncateFrom !== undefined || ready.entries.length > 0;
    const [low, high] = this.#env.mix.diskLatencyMs;
    const latency = writes ? this.#env.diskRandom.int(low, high) : 0;
    this.persisting = this.#env.queue.schedule(latency, `persist ${this.id} #${ready.seq}`, () => {
      this.persisting = null;
      this.persistQueue.shift();
      this.#env.touch(this.id);
      this.#carryOut(ready);
      if (this.persisting === null) this.#schedulePersist();
    });
  }

  /** Durability order: persist, then send, then apply, then answer. */
  #carryOut(ready: Ready): void {
    const { id, disk } = this;
    try {
      disk.persist(ready, (meta) => {
        const pinned = this.#installs.get(ready.seq);
        return pinned !== undefined && snapshotKey(pinned.meta) === snapshotKey(meta) ? pinned : undefined;
      });
      this.#installs.delete(ready.seq);
    } catch (error) {
      if (error instanceof StorageContractError) throw new InvariantViolation('storage contract', `${id}: ${error.message}`);
      throw error;
    }
    if (ready.hardState !== undefined) this.#env.checker.observeHardState(id, ready.hardState);
    if (ready.installSnapshot !== undefined) {
      this.applied = disk.applied;
      this.#env.checker.observeState(id, this.applied, 'snapshot install');
      this.#env.clients.onSkipped(id, ready.installSnapshot.index);
      this.#env.reads.onApplied(id, this.applied.appliedIndex);
      this.#env.counters.snapshotsInstalled++;
    }
    for (const message of ready.messages) {
      if (message.from !== id) throw new InvariantViolation('core contract', `${id} sends a ${message.type} signed from ${message.from}`);
      this.#env.network.send(id, message.to, { kind: 'raft', message });
    }
    for (const { to } of ready.snapshotsToSend) {
      // Send what storage holds: the latest durable snapshot, with the term this replica had when it asked.
      const incarnation = this.incarnation;
      this.#env.network.send(id, to, { kind: 'snapshot', snapshot: disk.snapshot, term: disk.hardState.term }, () => {
        this.#env.queue.schedule(SNAPSHOT_STREAM_FAILURE_MS, `stream failed ${id}->${to}`, () => {
          if (this.incarnation !== incarnation || this.core === null) return;
          this.#env.touch(id);
          this.core.send({ type: 'unreachable', peer: to });
        });
      });
    }
    for (const entry of ready.committed) {
      const logged = disk.entryAt(entry.index);
      if (logged === undefined || logged.term !== entry.term) {
        throw new InvariantViolation('core contract', `${id} applies (${entry.index}, t${entry.term}) which is not on its disk`);
      }
      this.applied = this.#env.checker.observeApply(id, this.applied, entry);
      if (entry.kind === 'config') this.#env.counters.configsCommitted.add(entry.index);
      disk.setApplied(this.applied);
      this.#env.clients.onApplied(id, entry);
    }
    if (ready.committed.length > 0) this.#env.reads.onApplied(id, this.applied.appliedIndex);
    for (const outcome of ready.proposals) this.#env.clients.onOutcome(id, outcome);
    for (const outcome of ready.reads) {
      const hint = this.#env.reads.onOutcome(id, outcome, this.applied.appliedIndex);
      if (hint !== null) this.#env.retryRead(hint);
    }
    this.#maybeCompact();
  }

  #maybeCompact(): void {
    const every = this.#env.mix.compactEvery;
    const applied = this.applied;
    if (every === null || this.core === null || applied.appliedIndex - this.disk.snapshot.meta.index < every) return;
    // A received snapshot already newer than what we applied is on its way to disk: nothing to compact.
    if (applied.appliedIndex <= this.log.snapshot.index) return;
    const meta: SnapshotMeta = { index: applied.appliedIndex, term: applied.appliedTerm, config: applied.config };
    this.disk.saveSnapshot({ meta, state: applied });
    this.log.entries = this.log.entries.filter((entry) => entry.index > meta.index);
    this.log.snapshot = meta;
    this.#env.counters.snapshotsTaken++;
    this.#env.record(`  ${this.id} compacted through ${meta.index}`);
    this.core.send({ type: 'compacted', meta });
  }

  #receive(wire: Wire, from: ReplicaId): void {
    const core = this.core;
    if (core === null) return;
    this.#env.touch(this.id);
    if (wire.kind === 'raft') {
      if (wire.message.to !== this.id) throw new InvariantViolation('harness error', `message for ${wire.message.to} reached ${this.id}`);
      core.send({ type: 'message', message: wire.message });
      return;
    }
    const meta = wire.snapshot.meta;
    this.staged.set(snapshotKey(meta), wire.snapshot);
    if (this.staged.size > MAX_STAGED_SNAPSHOTS) this.staged.delete(this.staged.keys().next().value!);
    core.send({ type: 'message', message: { type: 'InstallSnapshot', from, to: this.id, term: wire.term, snapshot: meta } });
  }

  /** Come up from what the disk recovered, with a new core (new seed) and clock. */
  start(): void {
    const recovered = this.disk.recover();
    this.#env.checker.observeState(this.id, recovered.applied, 'recovery');
    this.incarnation++;
    this.applied = recovered.applied;
    this.log = { snapshot: recovered.snapshot.meta, entries: [...recovered.entries] };
    this.lastSeq = -1;
    this.lastCommitted = recovered.applied.appliedIndex;
    this.commitIndex = recovered.applied.appliedIndex;
    this.emitted = [];
    const clock = new SimulatedClock(this.#env.queue, this.id, () => this.#env.touch(this.id));
    const input: RaftInput = {
      id: this.id,
      hardState: recovered.hardState,
      snapshot: recovered.snapshot.meta,
      entries: recovered.entries,
      commitIndex: recovered.applied.appliedIndex,
      timing: this.#env.timing,
      limits: this.#env.limits,
      seed: this.#env.nextCoreSeed(),
      ...(this.#env.unsafe === undefined ? {} : { unsafe: this.#env.unsafe }),
    };
    this.clock = clock;
    this.core = startCore(input, clock, (ready) => this.emitted.push(ready));
    this.#env.network.attach(this.id, (wire, from) => this.#receive(wire, from));
    this.#env.touch(this.id);
    this.#env.record(`  ${this.id} up (incarnation ${this.incarnation}, term ${recovered.hardState.term}, applied ${recovered.applied.appliedIndex}, last ${this.log.entries.at(-1)?.index ?? this.log.snapshot.index})`);
  }

  /** Crash: drop the core, its timers and everything not yet persisted. */
  crash(): void {
    this.core?.stop();
    this.clock?.stop();
    this.core = null;
    this.clock = null;
    this.view = null;
    this.#env.network.detach(this.id);
    if (this.persisting !== null) this.#env.queue.cancel(this.persisting);
    this.persisting = null;
    this.persistQueue = [];
    this.emitted = [];
    this.staged.clear();
    this.#installs.clear();
    this.disk.crash();
    this.#env.clients.onCrash(this.id);
    this.#env.reads.onCrash(this.id);
    this.#env.counters.crashes++;
      }
}

/** The term at `index` in a log: null if it does not hold it, undefined if its snapshot hides it. */
export function termAt(log: LogMirror, index: Index): Term | null | undefined {
  if (index === log.snapshot.index) return log.snapshot.term;
  if (index < log.snapshot.index) return undefined;
  return log.entries[index - log.snapshot.index - 1]?.term ?? null;
}

function snapshotKey(meta: SnapshotMeta): string {
  return `${meta.index}:${meta.term}`;
}

/** A short label for a message in the trace. */
export function describeWire(wire: Wire): string {
  if (wire.kind === 'snapshot') return `snapshot(${wire.snapshot.meta.index},t${wire.snapshot.meta.term}) t${wire.term}`;
  const m = wire.message;
  switch (m.type) {
    case 'AppendEntries':
      return `AE t${m.term} prev=${m.prevLogIndex}/${m.prevLogTerm} n=${m.entries.length} commit=${m.leaderCommit}`;
    case 'AppendEntriesResponse':
      return `AER t${m.term} ${m.success ? 'ok' : 'no'} match=${m.matchIndex}${m.success ? '' : ` conflict=${m.conflictIndex}/${m.conflictTerm}`}`;
    case 'RequestVote':
      return `${m.preVote ? 'PreVote' : 'Vote'} t${m.term} last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case 'RequestVoteResponse':
      return `${m.preVote ? 'PreVoteR' : 'VoteR'} t${m.term} ${m.granted ? 'yes' : 'no'}`;
    case 'InstallSnapshot':
      return `IS t${m.term} (${m.snapshot.index},t${m.snapshot.term})`;
    case 'InstallSnapshotResponse':
      return `ISR t${m.term} match=${m.matchIndex}`;
    case 'TimeoutNow':
      return `TimeoutNow t${m.term}`;
  }
}
