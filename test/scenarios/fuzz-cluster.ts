/**
 * A randomized small cluster for property tests of the core: a list of
 * operations (advance time, deliver/drop/duplicate a message in flight,
 * propose, read, crash, restart, transfer, compact, reconfigure) run against real cores,
 * checking Raft's safety properties after every step.
 *
 * Persistence is synchronous (each Ready is on disk before its messages
 * leave), or asynchronous as pipeline.ts does it with `persisted` reports: a
 * node's Readys wait for a `persist` op, a leader's appends leave before it,
 * and a crash loses whatever was not persisted yet.
 */
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { createRaftActor, viewOf } from '../../actors/raft/index.ts';
import type { Entry, HardState, Message, RaftActor, RaftLimits, RaftTiming, Ready, SnapshotMeta, UnsafeVariants } from '../../actors/raft/index.ts';
import { sendsBeforePersist } from '../../actors/replica/pipeline.ts';

export const TIMING: RaftTiming = { heartbeatMs: 10, electionMinMs: 100, electionMaxMs: 200 };
export const LIMITS: RaftLimits = { maxEntriesPerAppend: 3, maxBytesPerAppend: 64, maxInflightAppends: 2, maxUncommittedEntries: 20 };

interface Node {
  id: string;
  clock: SimulatedClock;
  actor: RaftActor | null;
  disk: { hardState: HardState; snapshot: SnapshotMeta; entries: Entry[]; commitIndex: number };
  seq: number;
  /** Asynchronous persistence: Readys not yet on disk, oldest first, and whether their messages left. */
  pending: { ready: Ready; sent: boolean }[];
}

/**
 * sync: each Ready persisted at once, then its messages sent.
 * async: as pipeline.ts with `persisted` reports (the core runs with persistedEvents).
 */
export type Persistence = 'sync' | 'async';

const fingerprint = (e: Entry) =>
  `${e.term}:${e.kind}:${e.kind === 'command' ? Array.from(e.data).join(',') : e.kind === 'config' ? JSON.stringify(e.config) : ''}`;

export type Op =
  | { kind: 'advance'; ms: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'flush' }
  | { kind: 'isolate'; node: number }
  | { kind: 'heal' }
  | { kind: 'drop'; pick: number }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'propose'; node: number; value: number }
  /** Several commands in one core event, as the runtime gathers a turn's proposals. */
  | { kind: 'proposeMany'; node: number; values: number[] }
  | { kind: 'read'; node: number }
  | { kind: 'crash'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'transfer'; node: number; to: number }
  | { kind: 'compact'; node: number }
  | { kind: 'persist'; node: number }
  | { kind: 'reconfigure'; node: number; who: number; change: 'voter' | 'learner' | 'remove' };

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 80 }) }) },
  { weight: 24, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('isolate' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('propose' as const), node: fc.nat(4), value: fc.nat(255) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('proposeMany' as const), node: fc.nat(4), values: fc.array(fc.nat(255), { minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), node: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('transfer' as const), node: fc.nat(4), to: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), node: fc.nat(4) }) },
);

/** opArb plus a node's disk catching up (asynchronous persistence; a no-op when synchronous). */
export const persistOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: opArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('persist' as const), node: fc.nat(4) }) },
);

/** opArb plus single-server membership changes (proposed at a random replica). */
export const membershipOpArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: opArb },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reconfigure' as const), node: fc.nat(6), who: fc.nat(6), change: fc.constantFrom('voter' as const, 'learner' as const, 'remove' as const) }),
  },
);

export interface RunResult {
  readonly failure: string | null;
  /** The highest index any replica applied: shows the run got somewhere. */
  readonly maxApplied: number;
  readonly leaderTerms: number;
  /** How many configuration entries were applied (distinct indices). */
  readonly configsApplied: number;
}

/**
 * Run `ops` on `size` voters plus `spares` replicas that start outside the
 * configuration (they sit as learners until a reconfigure adds them).
 */
export function runCluster(size: number, ops: readonly Op[], unsafe: UnsafeVariants = {}, spares = 0, persistence: Persistence = 'sync'): RunResult {
  const voters = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  const ids = [...voters, ...Array.from({ length: spares }, (_, i) => `r${size + i + 1}`)];
  const config = { voters, learners: [] };
  let inFlight: Message[] = [];
  /** Replicas cut off from everyone: what they send and what is sent to them is lost. */
  const isolated = new Set<string>();
  const send = (m: Message) => {
    if (isolated.has(m.from) || isolated.has(m.to)) return;
    nodes.find((n) => n.id === m.to)?.actor?.send({ type: 'message', message: m });
  };
  const leaders = new Map<number, string>();
  const applied = new Map<number, string>();
  let failure: string | null = null;
  const fail = (why: string) => {
    failure ??= why;
  };
  const nodes: Node[] = ids.map((id) => ({
    id,
    clock: new SimulatedClock(),
    actor: null,
    disk: { hardState: { term: 0, votedFor: null }, snapshot: { index: 0, term: 0, config }, entries: [], commitIndex: 0 },
    seq: 0,
    pending: [],
  }));
  const sendOf = (n: Node, ready: Ready) => {
    inFlight.push(...ready.messages);
    for (const s of ready.snapshotsToSend) {
      const term = n.actor?.getSnapshot().context.term ?? 0;
      inFlight.push({ type: 'InstallSnapshot', from: n.id, to: s.to, term, snapshot: s.meta });
    }
  };
  /** Carry out one Ready: persist, report it (async), send unless already sent, apply. */
  const carryOut = (n: Node, ready: Ready, sent: boolean) => {
    const d = n.disk;
    if (ready.hardState) d.hardState = ready.hardState;
    if (ready.installSnapshot) {
      const meta = ready.installSnapshot;
      d.snapshot = meta;
      d.entries = d.entries.filter((e) => e.index > meta.index);
      d.commitIndex = meta.index;
    }
    if (ready.truncateFrom !== undefined) {
      if (ready.truncateFrom <= d.commitIndex) fail(`${n.id}: truncates committed entry ${ready.truncateFrom} (commit ${d.commitIndex})`);
      d.entries = d.entries.filter((e) => e.index < ready.truncateFrom!);
    }
    const expected = d.snapshot.index + d.entries.length + 1;
    if (ready.entries.length > 0 && ready.entries[0]!.index !== expected) fail(`${n.id}: appends at ${ready.entries[0]!.index}, disk ends at ${expected - 1}`);
    d.entries.push(...ready.entries);
    const last = ready.entries.at(-1);
    if (persistence === 'async' && last !== undefined) n.actor?.send({ type: 'persisted', index: last.index, term: last.term });
    if (!sent) sendOf(n, ready);
    for (const e of ready.committed) {
      if (e.index !== d.commitIndex + 1) fail(`${n.id}: applies ${e.index} after ${d.commitIndex}`);
      const seen = applied.get(e.index);
      if (seen !== undefined && seen !== fingerprint(e)) fail(`state machine safety: index ${e.index} applied as ${seen} and ${fingerprint(e)}`);
      applied.set(e.index, fingerprint(e));
      d.commitIndex = e.index;
    }
  };
  /** A node's disk catches up: its pending Readys in order (and any the reports cause). */
  const persistPending = (n: Node) => {
    for (let next = n.pending.shift(); next !== undefined; next = n.pending.shift()) carryOut(n, next.ready, next.sent);
  };
  const start = (n: Node, seed: number) => {
    n.clock = new SimulatedClock();
    n.seq = 0;
    n.pending = [];
    const actor = createRaftActor(
      { id: n.id, ...n.disk, timing: TIMING, limits: LIMITS, seed, entries: [...n.disk.entries], unsafe, persistedEvents: persistence === 'async' },
      { clock: n.clock },
    );
    actor.on('ready', ({ ready }) => {
      if (ready.seq <= n.seq) fail(`${n.id}: Ready seq ${ready.seq} after ${n.seq}`);
      n.seq = ready.seq;
      if (persistence === 'sync') {
        carryOut(n, ready, false);
        return;
      }
      // As pipeline.ts: the leading Readys that carry only a leader's appends leave before their persist.
      const early = n.pending.every((p) => p.sent) && sendsBeforePersist([ready]) === 1;
      if (early) sendOf(n, ready);
      n.pending.push({ ready, sent: early });
    });
    actor.subscribe({ error: (err) => fail(`${n.id} crashed: ${String(err)}`) });
    n.actor = actor;
    actor.start();
  };
  nodes.forEach((n, i) => start(n, i + 1));
  let restarts = 0;
  const checkLeaders = () => {
    for (const n of nodes) {
      if (n.actor === null) continue;
      const v = viewOf(n.actor.getSnapshot());
      if (v.role !== 'leader') continue;
      const other = leaders.get(v.term);
      if (other !== undefined && other !== v.id) fail(`election safety: ${other} and ${v.id} both lead term ${v.term}`);
      leaders.set(v.term, v.id);
    }
  };
  for (const op of ops) {
    const node = 'node' in op ? nodes[op.node % nodes.length]! : null;
    switch (op.kind) {
      case 'advance':
        for (let t = 0; t < op.ms; t += 1) for (const n of nodes) if (n.actor !== null) n.clock.increment(1);
        break;
      case 'deliver': {
        if (inFlight.length === 0) break;
        const [m] = inFlight.splice(op.pick % inFlight.length, 1);
        send(m!);
        break;
      }
      case 'flush': {
        // Everything now in flight arrives, in order (a calm network for a moment).
        const batch = inFlight;
        inFlight = [];
        for (const m of batch) send(m);
        break;
      }
      case 'isolate':
        isolated.add(node!.id);
        break;
      case 'heal':
        isolated.clear();
        break;
      case 'drop':
        if (inFlight.length > 0) inFlight.splice(op.pick % inFlight.length, 1);
        break;
      case 'duplicate':
        if (inFlight.length > 0) inFlight.push(inFlight[op.pick % inFlight.length]!);
        break;
      case 'propose':
        node!.actor?.send({ type: 'propose', id: `p${op.value}`, data: new Uint8Array([op.value]) });
        break;
      case 'proposeMany':
        node!.actor?.send({ type: 'proposeMany', proposals: op.values.map((value) => ({ id: `p${value}`, data: new Uint8Array([value]) })) });
        break;
      case 'read':
        node!.actor?.send({ type: 'readIndex', id: 'q' });
        break;
      case 'persist':
        persistPending(node!);
        break;
      case 'crash':
        node!.actor?.stop();
        node!.actor = null;
        // What the disk had not written yet is lost.
        node!.pending = [];
        inFlight = inFlight.filter((m) => m.to !== node!.id);
        break;
      case 'restart':
        if (node!.actor === null) start(node!, 100 + (restarts += 1));
        break;
      case 'transfer':
        node!.actor?.send({ type: 'transferLeadership', to: ids[op.to % ids.length]! });
        break;
      case 'reconfigure': {
        const actor = node!.actor;
        if (actor === null) break;
        const current = viewOf(actor.getSnapshot()).config;
        const who = ids[op.who % ids.length]!;
        const next = {
          voters: current.voters.filter((v) => v !== who),
          learners: current.learners.filter((v) => v !== who),
        };
        if (op.change === 'voter') next.voters.push(who);
        if (op.change === 'learner') next.learners.push(who);
        actor.send({ type: 'proposeConfig', id: `cfg-${op.change}-${who}`, config: next });
        break;
      }
      case 'compact': {
        const actor = node!.actor;
        if (actor === null) break;
        const v = viewOf(actor.getSnapshot());
        const index = node!.disk.commitIndex;
        const entry = v.entries.find((e) => e.index === index);
        if (entry === undefined || index <= v.snapshot.index) break;
        const meta = { index, term: entry.term, config: v.config };
        node!.disk.snapshot = meta;
        node!.disk.entries = node!.disk.entries.filter((e) => e.index > index);
        actor.send({ type: 'compacted', meta });
        break;
      }
    }
    checkLeaders();
    if (failure !== null) break;
  }
  const configsApplied = [...applied.values()].filter((f) => f.includes(':config:')).length;
  return { failure, maxApplied: Math.max(0, ...applied.keys()), leaderTerms: leaders.size, configsApplied };
}
