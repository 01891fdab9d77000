/**
 * The runtime's world, as ports. `actors/replica` never reaches for the wall
 * clock, timers, `crypto`, NATS or Knex itself: whoever starts a replica
 * plugs in adapters (cli/commands/replica.ts: the system clock, node:crypto,
 * NATS; a simulator: a simulated clock, a seeded generator, an in-memory bus),
 * so the same runtime code runs in production and under simulation.
 *
 * The peer transport is a port too (actors/transport/types.ts `PeerTransport`),
 * and so is the store (`RuntimeStore`, storage/replica-store.ts implements it).
 */
import type { ChatRequest, OkReply, ProtocolError, ReadRequest, WriteRequest } from '../chat/index.ts';
import type { ErrorReply } from '../protocol/index.ts';
import type { Entry, Index, SnapshotMeta } from '../raft/types.ts';
import type { PersistRequest, SnapshotStream, StoreStatus } from '../../storage/index.ts';
import type { Clock } from '../transport/sim-clock.ts';
import type { LinkStatus } from '../transport/nats-connection.ts';

/** Time as the runtime sees it: XState's timer interface (the core's timers) plus now and sleep. */
export interface RuntimeClock extends Clock {
  /** Milliseconds since some fixed origin; only differences and leader-decided timestamps use it. */
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** Every random decision the runtime makes. */
export interface RuntimeRandom {
  /** A unique id for a proposal or read (waiters key by it). */
  uuid(): string;
  /** `n` random bytes (password salts, session tokens: decided once by the leader). */
  bytes(n: number): Uint8Array;
  /** The consensus core's seed for a (re)started replica (election jitter). */
  coreSeed(): number;
}

/** One request on a served subject; `reply` is undefined when the sender expects no answer. */
export interface BusRequest {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The subject the reply goes to (a NATS inbox): sealed replies are bound to it (docs/protocol.md §2.5). */
  readonly reply?: string;
}

/** The NATS subset the runtime uses for the client protocol, operator and forward subjects. */
export interface ClientBus {
  /**
   * Serve `subject` (a trailing `*` matches one token), in `queue` (each request
   * reaches one member of the group) or, with null, on this replica alone.
   * `handle` returns the reply's text, or null to answer nothing.
   * Returns a function that stops serving.
   */
  serve(subject: string, queue: string | null, handle: (request: BusRequest) => Promise<string | null>): () => void;
  /** One request/reply; rejects on no responders, a timeout or a closed connection. */
  request(subject: string, data: string, timeoutMs: number): Promise<string>;
  /** Fire and forget; never throws (best effort: live frames, inspection records). */
  publish(subject: string, data: string): void;
  /** The connection's state for the status reply. */
  status(): BusStatus;
}

/** The NATS link states; a simulated bus is always `connected`. */
export type BusStatus = LinkStatus;

/** The subset of a pino logger the runtime uses (pino's `(obj, msg)` form). */
export interface RuntimeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  fatal(obj: object, msg: string): void;
}

/** A logger that drops everything (simulation, unit tests). */
export const silentRuntimeLogger: RuntimeLogger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
});

/** Races `promise` against `ms` of `clock` time; the timer is always cleared. */
export async function withTimeout<T>(clock: RuntimeClock, promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: unknown;
  const expired = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(onTimeout()), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clock.clearTimeout(timer);
  }
}

/** A reply on the wire (PROTOCOL.md): success with its body, or an error code and message. */
export type WireReply = OkReply | ErrorReply;

/** What the leader decided for a write: the entry's bytes, or an answer without proposing anything. */
export type PreparedWrite =
  | {
      readonly kind: 'propose';
      readonly data: Uint8Array;
      /** Added to the proposer's ok reply once applied, and never replicated (a new session's token: the entry holds its hash). */
      readonly reveal?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'answer'; readonly reply: WireReply };

/** What applying one command entry produced. */
export interface AppliedCommand<Live> {
  /** The reply for the replica that proposed it. */
  readonly reply: CommandReply;
  /** Live frames to publish after the apply transaction committed (empty when the application has none). */
  readonly live: readonly Live[];
  /** The leader-assigned timestamp of the entry, or null (live frames are published only for fresh entries). */
  readonly ts: number | null;
}

/** The reply an applied command produced for whoever proposed it. */
export type CommandReply = OkReply | ProtocolError;

/**
 * The replicated application the runtime drives (docs/replica.md, "Ports"):
 * parse a request, prepare a write on the leader, read on any replica after
 * its read index, and apply committed command entries inside the store's
 * apply transaction (`Tx`). The real one is the chat state machine over Knex
 * (chat-application.ts); the simulation plugs in a deterministic model
 * (test/sim/chat-model.ts). Every method is deterministic given its inputs:
 * whatever is nondeterministic (time, randomness) comes in as an argument.
 */
export interface ReplicaApplication<Tx, Live = unknown> {
  /**
   * A request body already parsed as JSON (the runtime reads it once, also for `replyKey`): a
   * client's on `<prefix>.api.<op>` (size already checked), or a write forwarded by another
   * replica (parsed there, re-checked here). The request, or why it is bad.
   */
  parse(op: string, body: unknown): ChatRequest | ProtocolError;
  /** Leader only, after it applied every earlier acknowledged write: decide the entry (time, salts, tokens) or answer at once. */
  prepare(request: WriteRequest, now: number, randomBytes: (n: number) => Uint8Array): Promise<PreparedWrite>;
  /** A read on the applied state (the caller waited for its read index). */
  read(request: ReadRequest, now: number): Promise<WireReply>;
  /** Apply one committed command entry in the store's transaction. Must not throw on bad bytes: answer `internal` instead. */
  apply(tx: Tx, entry: CommandEntry): Promise<AppliedCommand<Live>>;
  /**
   * Optional: apply consecutive command entries at once, with exactly the results (and
   * tables) of `apply` on each in order; replicas cut their apply batches at different
   * places, so anything else would split their state.
   */
  applyMany?(tx: Tx, entries: readonly CommandEntry[]): Promise<readonly AppliedCommand<Live>[]>;
  /** Resolve live frames to (subject, body) publications after the apply committed. */
  publications(live: readonly Live[]): Promise<readonly { readonly subject: string; readonly body: unknown }[]>;
  /** Optional: told after each apply transaction committed (whatever it held), before the callers are answered. */
  committed?(): void;
}

/** A command entry as the application sees it. */
export type CommandEntry = Extract<Entry, { kind: 'command' }>;

/**
 * The store as the runtime uses it (storage/replica-store.ts over SQLite, or
 * storage/memory-store.ts in the simulation): persist the Raft log and hard
 * state, apply committed entries atomically with appliedIndex and the digest,
 * take, compact, send and install snapshots.
 */
export interface RuntimeStore<Tx> {
  status(): StoreStatus;
  persist(request: PersistRequest): Promise<void>;
  /** Applies `entries` (contiguous, right after appliedIndex) in ONE transaction that also advances appliedIndex and the digest. */
  apply<R>(entries: readonly Entry[], applyOne: (tx: Tx, entry: Entry) => Promise<R>): Promise<R[]>;
  createSnapshot(): Promise<{ readonly meta: SnapshotMeta; readonly bytes: number }>;
  compact(index: Index): Promise<void>;
  openSnapshot(): Promise<SnapshotStream | null>;
  /** Replace the state machine with a received, verified snapshot (a file path or its chunks). */
  installSnapshot(meta: SnapshotMeta, source: string | AsyncIterable<Uint8Array>): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * UNSAFE, deliberately broken runtimes: only test/sim sets these, to prove
 * the simulation catches each (docs/simulation.md, "Broken variants"). No
 * configuration or CLI flag reaches them (cli/commands/replica.ts never sets
 * `ReplicaWorld.unsafe`).
 */
export interface UnsafeRuntimeVariants {
  /** Send a Ready's messages (a follower's append acknowledgement) before its persist is durable. */
  readonly ackBeforeDurable?: boolean;
  /** Answer a write as soon as the core took the proposal, before its entry is committed and applied. */
  readonly replyBeforeApply?: boolean;
  /** Serve reads from the local applied state without a read index from the leader. */
  readonly readWithoutReadIndex?: boolean;
}
