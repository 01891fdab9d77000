/**
 * A tiny deterministic cluster for scenario transcripts: one SimulatedClock
 * per replica, an in-test FIFO of messages in flight, a per-replica "disk"
 * that records what each Ready persisted, and commands that read like the
 * paper's figures. Not the simulator (test/sim): no randomness beyond each
 * core's own seeded jitter, and every fault is scripted.
 */
import { SimulatedClock } from 'xstate';
import { createRaftActor, viewOf } from '../../actors/raft/index.ts';
import type { Entry, HardState, Message, RaftActor, RaftLimits, RaftTiming, Ready, SnapshotMeta, UnsafeVariants } from '../../actors/raft/index.ts';
import { sendsBeforePersist } from '../../actors/replica/pipeline.ts';

/** Timing for transcripts: short numbers keep the scripts readable. */
export const SCENARIO_TIMING: RaftTiming = { heartbeatMs: 10, electionMinMs: 100, electionMaxMs: 200 };
/** Small batches so batching and back-off show in transcripts. */
export const SCENARIO_LIMITS: RaftLimits = { maxEntriesPerAppend: 4, maxBytesPerAppend: 1024, maxInflightAppends: 2, maxUncommittedEntries: 64 };
/** A stabilize that has not gone quiet after this many delivery rounds is a livelock worth seeing. */
const MAX_STABILIZE_ROUNDS = 200;
/** `run` delivers everything in flight after each step of this many ms. */
const RUN_STEP_MS = 10;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

interface Disk {
  hardState: HardState;
  snapshot: SnapshotMeta;
  entries: Entry[];
  commitIndex: number;
  /** With `data-ids`: this disk's identity; a wipe makes a new disk with the next one. */
  dataId?: string;
}

interface Replica {
  readonly id: string;
  readonly seed: number;
  clock: SimulatedClock;
  actor: RaftActor | null;
  disk: Disk;
  /** Readies not yet persisted (stalled disk), and whether their messages already left; lost on crash. */
  held: { ready: Ready; sent: boolean }[];
  stalled: boolean;
  /** Outcomes (proposals, reads, commits) since the last command's report. */
  notes: string[];
}

export class Cluster {
  private readonly replicas = new Map<string, Replica>();
  private inFlight: Message[] = [];
  private groups: string[][] | null = null;
  private unsafe: UnsafeVariants = {};
  private limits: RaftLimits = SCENARIO_LIMITS;
  /** A leader's appends leave before their persist (pipeline.ts with `persisted` reports). */
  private earlySends = false;
  /** The core is told what is durable (RaftInput.persistedEvents); off with early sends only in the unsafe transcript. */
  private persistedEvents = false;
  /** Each replica's disk has a data identity (RaftInput.dataId). */
  private dataIds = false;
  /** The bootstrap configuration, which a wiped disk starts from again. */
  private bootstrap: SnapshotMeta | null = null;

  /** Run one script line; returns the lines to print after it. */
  run(line: string): string[] {
    const [cmd, ...args] = line.trim().split(/\s+/);
    switch (cmd) {
      case 'unsafe': // unsafe <variant>...: switch on deliberately broken behaviours (before cluster)
        this.beforeCluster();
        this.unsafe = Object.fromEntries(args.map((k) => [k, true]));
        return [];
      case 'persisted-events': // [unreported] the runtime of pipeline.ts: a leader's appends leave before its own persist, which it reports (before cluster)
        this.beforeCluster();
        this.earlySends = true;
        // UNSAFE with `unreported`: the early sends without telling the core, which then counts its undurable entries.
        this.persistedEvents = args[0] !== 'unreported';
        return [];
      case 'data-ids': // every disk gets a data identity, shown as its incarnation: r3.0, then r3.1 after a wipe (before cluster)
        this.beforeCluster();
        this.dataIds = true;
        return [];
      case 'limits': // limits <name> <value>: override one flow-control limit (before cluster)
        this.beforeCluster();
        if (!(args[0]! in this.limits)) throw new ScenarioError(`no limit ${args[0]}`);
        this.limits = { ...this.limits, [args[0]!]: Number(args[1]) };
        return [];
      case 'cluster':
        this.create(args, args);
        break;
      case 'cluster-with-learners': {
        const bar = args.indexOf('|');
        if (bar < 0) throw new ScenarioError('cluster-with-learners voters... | learners...');
        this.create(args.slice(0, bar), args.slice(bar + 1), args.filter((a) => a !== '|'));
        break;
      }
      case 'log-of': // log-of r1 1@1 2@1 3@2 ... : replace a stopped replica's disk log (Figure 7/8 setups)
        this.setLog(this.stopped(args[0]), args.slice(1));
        break;
      case 'wipe': // wipe r3: a stopped replica's disk is lost; it comes back empty, with a new data identity
        this.wipe(this.stopped(args[0]));
        break;
      case 'term-of': // term-of r1 3 [votedFor]
        this.stopped(args[0]).disk.hardState = { term: Number(args[1]), votedFor: args[2] ?? null };
        break;
      case 'advance':
        this.advanceAll(parseMs(args[0]));
        break;
      case 'run': // run 5s: time passes on every clock, and every message is delivered as it goes (heartbeats are not listed)
        for (let left = parseMs(args[0]); left > 0; left -= RUN_STEP_MS) {
          this.advanceAll(Math.min(RUN_STEP_MS, left));
          this.stabilize();
        }
        break;
      case 'tick':
        this.tick(this.replica(args[0]), parseMs(args[1]));
        break;
      case 'timeout':
        this.timeout(this.replica(args[0]));
        break;
      case 'deliver':
        this.deliver(args[0] ?? '*->*');
        break;
      case 'stabilize':
        this.stabilize();
        break;
      case 'drop':
        this.drop(args[0] ?? '*->*');
        break;
      case 'partition':
        this.partition(args);
        break;
      case 'heal':
        this.groups = null;
        break;
      case 'propose':
        this.live(args[0]).send({ type: 'propose', id: args[1] ?? 'x', data: new TextEncoder().encode(args[1] ?? 'x') });
        break;
      case 'read':
        this.live(args[0]).send({ type: 'readIndex', id: args[1] ?? 'q' });
        break;
      case 'transfer':
        this.live(args[0]).send({ type: 'transferLeadership', to: args[1] ?? '' });
        break;
      case 'add-learner':
      case 'add-voter':
      case 'remove': {
        const r = this.live(args[0]);
        const view = viewOf(r.getSnapshot());
        const who = args[1] ?? '';
        const voters = view.config.voters.filter((v) => v !== who);
        const learners = view.config.learners.filter((v) => v !== who);
        if (cmd === 'add-voter') voters.push(who);
        if (cmd === 'add-learner') learners.push(who);
        r.send({ type: 'proposeConfig', id: `${cmd} ${who}`, config: { voters, learners } });
        break;
      }
      case 'compact': {
        const r = this.replica(args[0]);
        const view = viewOf(this.live(args[0]).getSnapshot());
        const index = Number(args[1] ?? view.commitIndex);
        const entry = view.entries.find((e) => e.index === index);
        if (entry === undefined) throw new ScenarioError(`compact: ${r.id} has no entry ${index}`);
        const meta: SnapshotMeta = { index, term: entry.term, config: view.config };
        r.disk.snapshot = meta;
        r.disk.entries = r.disk.entries.filter((e) => e.index > index);
        this.live(args[0]).send({ type: 'compacted', meta });
        break;
      }
      case 'delivered': // delivered r1 r3 <bytes>: r1's runtime reports its snapshot stream to r3 complete
        this.live(args[0]).send({ type: 'snapshotDelivered', peer: args[1] ?? '', bytes: Number(args[2] ?? 0) });
        break;
      case 'stall':
        this.replica(args[0]).stalled = true;
        break;
      case 'sync': {
        const r = this.replica(args[0]);
        // Still stalled while draining: a Ready the core emits meanwhile (say, on a `persisted`
        // report) queues behind the held ones, so every Ready is carried out in order.
        for (let next = r.held.shift(); next !== undefined; next = r.held.shift()) this.carryOut(r, next.ready, next.sent);
        r.stalled = false;
        break;
      }
      case 'crash':
        this.crash(this.replica(args[0]));
        break;
      case 'restart':
        this.start(this.replica(args[0]));
        break;
      case 'log':
        return this.logs();
      case 'state':
        break;
      default:
        throw new ScenarioError(`unknown command: ${line}`);
    }
    return [...this.takeNotes(), ...this.states(), ...this.flight()];
  }

  /** Every replica's role, term, vote, leader, commit and log, one line each. */
  states(): string[] {
    const width = Math.max(...[...this.replicas.keys()].map((id) => id.length));
    return [...this.replicas.values()].map((r) => {
      const id = r.id.padEnd(width);
      if (r.actor === null) return `${id} down          log ${formatLog(r.disk.snapshot, r.disk.entries)}`;
      const v = viewOf(r.actor.getSnapshot());
      const lead = v.leader === null ? '-' : v.leader;
      return `${id} ${v.role.padEnd(13)} term ${v.term} vote ${v.votedFor ?? '-'} lead ${lead} commit ${v.commitIndex} log ${formatLog(v.snapshot, v.entries)}`;
    });
  }

  logs(): string[] {
    return [...this.replicas.values()].map((r) => {
      const v = r.actor === null ? null : viewOf(r.actor.getSnapshot());
      const progress = v === null ? '' : Object.entries(v.progress).map(([p, x]) => `${p}:${x.matchIndex}/${x.nextIndex}`).join(' ');
      const config = v === null ? '' : ` config ${v.config.voters.join(',')}${v.config.learners.length ? `/${v.config.learners.join(',')}` : ''}`;
      return `${r.id} disk term ${r.disk.hardState.term} vote ${r.disk.hardState.votedFor ?? '-'} log ${formatLog(r.disk.snapshot, r.disk.entries)}${config}${progress ? ` progress ${progress}` : ''}`;
    });
  }

  // ------------------------------------------------------------- internals

  private beforeCluster(): void {
    if (this.replicas.size > 0) throw new ScenarioError('only before the cluster is created');
  }

  private create(voters: string[], learners: string[], all: string[] = voters): void {
    if (this.replicas.size > 0) throw new ScenarioError('cluster already created');
    const config = { voters, learners: learners === voters ? [] : learners };
    this.bootstrap = { index: 0, term: 0, config };
    all.forEach((id, i) => {
      const r: Replica = {
        id,
        seed: i + 1,
        clock: new SimulatedClock(),
        actor: null,
        disk: { ...this.emptyDisk(), ...(this.dataIds ? { dataId: dataIdOf(i, 0) } : {}) },
        held: [],
        stalled: false,
        notes: [],
      };
      this.replicas.set(id, r);
    });
    for (const r of this.replicas.values()) this.start(r);
  }

  private start(r: Replica): void {
    if (r.actor !== null) throw new ScenarioError(`${r.id} is already running`);
    r.clock = new SimulatedClock();
    const actor = createRaftActor(
      {
        id: r.id,
        hardState: r.disk.hardState,
        snapshot: r.disk.snapshot,
        entries: r.disk.entries,
        commitIndex: r.disk.commitIndex,
        timing: SCENARIO_TIMING,
        limits: this.limits,
        seed: r.seed,
        unsafe: this.unsafe,
        persistedEvents: this.persistedEvents,
        ...(r.disk.dataId === undefined ? {} : { dataId: r.disk.dataId }),
      },
      { clock: r.clock },
    );
    actor.on('ready', (e) => {
      if (!r.stalled) {
        this.carryOut(r, e.ready);
        return;
      }
      // A stalled disk: a leader's appends still leave (as pipeline.ts sends them), the rest waits for `sync`.
      const early = this.earlySends && r.held.every((h) => h.sent) && sendsBeforePersist([e.ready]) === 1;
      if (early) this.send(r, e.ready);
      r.held.push({ ready: e.ready, sent: early });
    });
    r.actor = actor;
    actor.start();
  }

  private crash(r: Replica): void {
    r.actor?.stop();
    r.actor = null;
    r.held = [];
    r.stalled = false;
  }

  private emptyDisk(): Disk {
    if (this.bootstrap === null) throw new ScenarioError('no cluster yet');
    return { hardState: { term: 0, votedFor: null }, snapshot: this.bootstrap, entries: [], commitIndex: 0 };
  }

  private wipe(r: Replica): void {
    const old = r.disk.dataId;
    r.disk = { ...this.emptyDisk(), ...(old === undefined ? {} : { dataId: dataIdOf(Number.parseInt(old.slice(0, 2), 16), Number.parseInt(old.slice(-2), 16) + 1) }) };
  }

  private setLog(r: Replica, spec: string[]): void {
    r.disk.entries = spec.map((s) => {
      const [index, term] = s.split('@').map(Number);
      return { index: index!, term: term!, kind: 'command', data: new TextEncoder().encode(`${index}@${term}`) };
    });
  }

  /** Persist (and report it), then send, then note what was applied and answered: the runtime's order. */
  private carryOut(r: Replica, ready: Ready, sent = false): void {
    const d = r.disk;
    if (ready.hardState) d.hardState = ready.hardState;
    if (ready.installSnapshot) {
      d.snapshot = ready.installSnapshot;
      d.entries = d.entries.filter((e) => e.index > ready.installSnapshot!.index);
    }
    if (ready.truncateFrom !== undefined) d.entries = d.entries.filter((e) => e.index < ready.truncateFrom!);
    d.entries.push(...ready.entries);
    const last = ready.entries.at(-1);
    if (this.persistedEvents && last !== undefined) r.actor?.send({ type: 'persisted', index: last.index, term: last.term });
    if (!sent) this.send(r, ready);
    if (ready.committed.length > 0) {
      d.commitIndex = ready.commitIndex;
      r.notes.push(`${r.id} applies ${ready.committed.map(formatEntry).join(' ')}`);
    } else if (ready.installSnapshot) d.commitIndex = ready.installSnapshot.index;
    for (const p of ready.proposals) {
      r.notes.push(p.accepted ? `${r.id} accepted ${p.id} at ${p.index}@${p.term}` : `${r.id} refused ${p.id}: ${p.reason.kind === 'not_leader' ? `not leader (leader ${p.reason.leader ?? '?'})` : p.reason.detail}`);
    }
    for (const q of ready.reads) {
      r.notes.push(q.ok ? `${r.id} read ${q.id} ok at ${q.index}` : `${r.id} read ${q.id} refused: ${q.reason.kind}`);
    }
  }

  /** A Ready's messages and snapshot streams leave. */
  private send(r: Replica, ready: Ready): void {
    for (const m of ready.messages) if (this.connected(m.from, m.to)) this.inFlight.push(m);
    for (const s of ready.snapshotsToSend) r.notes.push(`${r.id} streams snapshot ${s.meta.index}@${s.meta.term} to ${s.to}`);
    for (const s of ready.snapshotsToSend) {
      // The runtime streams the bytes, then hands the receiving core an InstallSnapshot.
      const term = r.actor === null ? 0 : viewOf(r.actor.getSnapshot()).term;
      if (this.connected(r.id, s.to)) this.inFlight.push({ type: 'InstallSnapshot', from: r.id, to: s.to, term, snapshot: s.meta });
    }
  }

  private takeNotes(): string[] {
    const notes: string[] = [];
    for (const r of this.replicas.values()) {
      notes.push(...r.notes);
      r.notes = [];
    }
    return notes;
  }

  private flight(): string[] {
    return this.inFlight.map((m) => `  ${formatMessage(m)}`);
  }

  private advanceAll(ms: number): void {
    for (let t = 0; t < ms; t += 1) {
      for (const r of this.replicas.values()) if (r.actor !== null) r.clock.increment(1);
    }
  }

  private tick(r: Replica, ms: number): void {
    if (r.actor === null) throw new ScenarioError(`${r.id} is down`);
    for (let t = 0; t < ms; t += 1) r.clock.increment(1);
  }

  /** Advance one replica's clock until its election timer fires. */
  private timeout(r: Replica): void {
    const actor = this.live(r.id);
    const before = actor.getSnapshot().context;
    if (before.role === 'leader' || before.role === 'learner') throw new ScenarioError(`${r.id} has no election timer as ${before.role}`);
    // A follower counts its timeout in whole ticks (heartbeatMs) after the leader was last heard: up to two ticks late.
    for (let t = 0; t <= SCENARIO_TIMING.electionMaxMs + 2 * SCENARIO_TIMING.heartbeatMs; t += 1) {
      r.clock.increment(1);
      const now = actor.getSnapshot().context;
      if (now.role !== before.role || now.term !== before.term || now.votes !== before.votes) return;
    }
    throw new ScenarioError(`${r.id}'s election timer did not fire`);
  }

  private matches(m: Message, pattern: string): boolean {
    const [from, to] = pattern.split('->');
    if (from === undefined || to === undefined) throw new ScenarioError(`bad pattern ${pattern} (want a->b, a->*, *->b)`);
    return (from === '*' || from === m.from) && (to === '*' || to === m.to);
  }

  private deliver(pattern: string): void {
    const batch = this.inFlight.filter((m) => this.matches(m, pattern));
    this.inFlight = this.inFlight.filter((m) => !this.matches(m, pattern));
    for (const m of batch) {
      const r = this.replicas.get(m.to);
      if (r?.actor == null || !this.connected(m.from, m.to)) continue;
      r.actor.send({ type: 'message', message: m });
    }
  }

  private stabilize(): void {
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round += 1) {
      if (this.inFlight.length === 0) return;
      this.deliver('*->*');
    }
    throw new ScenarioError('stabilize did not go quiet');
  }

  private drop(pattern: string): void {
    this.inFlight = this.inFlight.filter((m) => !this.matches(m, pattern));
  }

  private partition(args: string[]): void {
    const groups: string[][] = [[]];
    for (const a of args) {
      if (a === '|') groups.push([]);
      else groups.at(-1)!.push(a);
    }
    this.groups = groups;
    this.inFlight = this.inFlight.filter((m) => this.connected(m.from, m.to));
  }

  private connected(a: string, b: string): boolean {
    if (this.groups === null) return true;
    const ga = this.groups.findIndex((g) => g.includes(a));
    const gb = this.groups.findIndex((g) => g.includes(b));
    return ga === gb;
  }

  private replica(id: string | undefined): Replica {
    const r = this.replicas.get(id ?? '');
    if (r === undefined) throw new ScenarioError(`no replica ${id}`);
    return r;
  }

  private stopped(id: string | undefined): Replica {
    const r = this.replica(id);
    if (r.actor !== null) throw new ScenarioError(`crash ${r.id} before rewriting its disk`);
    return r;
  }

  private live(id: string | undefined): RaftActor {
    const r = this.replica(id);
    if (r.actor === null) throw new ScenarioError(`${r.id} is down`);
    return r.actor;
  }
}

function parseMs(s: string | undefined): number {
  const n = Number((s ?? '').replace(/ms$/, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new ScenarioError(`bad duration ${s}`);
  return n;
}

/** A disk's identity in transcripts: the replica's number and the disk's incarnation, as 16 hex digits. */
function dataIdOf(replica: number, incarnation: number): string {
  return `${replica.toString(16).padStart(2, '0')}${'0'.repeat(12)}${incarnation.toString(16).padStart(2, '0')}`;
}

/** Recorded identities as `r1.0 r3.1` (id, then the disk's incarnation). */
function formatDataIds(dataIds: Readonly<Record<string, string>> | undefined): string {
  const recorded = Object.entries(dataIds ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return recorded.length === 0 ? '' : ` ids ${recorded.map(([id, d]) => `${id}.${Number.parseInt(d.slice(-2), 16)}`).join(' ')}`;
}

export function formatEntry(e: Entry): string {
  const base = `${e.index}@${e.term}`;
  if (e.kind === 'noop') return base;
  if (e.kind === 'config') return `${base}:cfg(${e.config.voters.join(',')}${e.config.learners.length ? `/${e.config.learners.join(',')}` : ''}${formatDataIds(e.config.dataIds)})`;
  const text = new TextDecoder().decode(e.data);
  return text === base ? base : `${base}:${text}`;
}

function formatLog(snapshot: SnapshotMeta, entries: readonly Entry[]): string {
  const head = snapshot.index > 0 ? [`[snap ${snapshot.index}@${snapshot.term}]`] : [];
  const all = [...head, ...entries.map(formatEntry)];
  return all.length === 0 ? '(empty)' : all.join(' ');
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'RequestVote':
      return `${head} ${m.preVote ? 'PreVote' : 'Vote'} last ${m.lastLogIndex}@${m.lastLogTerm}${m.transfer ? ' transfer' : ''}`;
    case 'RequestVoteResponse':
      return `${head} ${m.preVote ? 'PreVoteResp' : 'VoteResp'} ${m.granted ? 'granted' : 'rejected'}`;
    case 'AppendEntries':
      return `${head} App prev ${m.prevLogIndex}@${m.prevLogTerm} [${m.entries.map(formatEntry).join(' ')}] commit ${m.leaderCommit}${m.round ? ` round ${m.round}` : ''}`;
    case 'AppendEntriesResponse':
      return `${head} AppResp ${m.success ? `ok match ${m.matchIndex}` : `reject prev ${m.matchIndex} hint ${m.conflictIndex}@${m.conflictTerm}`}${m.round ? ` round ${m.round}` : ''}`;
    case 'InstallSnapshot':
      return `${head} Snapshot ${m.snapshot.index}@${m.snapshot.term}`;
    case 'InstallSnapshotResponse':
      return `${head} SnapshotResp ${m.success ? 'ok' : 'failed'} match ${m.matchIndex}`;
    case 'TimeoutNow':
      return `${head} TimeoutNow`;
  }
}
