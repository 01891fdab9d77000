/**
 * The Ready pipeline: carries out the core's effects strictly in order, in
 * two serial stages so that heartbeats never wait behind apply work.
 *
 *   stage 1 (durability + send): for every queued Ready, in seq order,
 *     persist (all Readys queued so far group-committed in ONE transaction),
 *     then send their messages and snapshots, then answer local callers.
 *   stage 2 (apply): applies each Ready's committed entries, in order,
 *     only after stage 1 has made that Ready durable.
 *
 * Stage 1 never waits for stage 2, so a leader's heartbeat with nothing to
 * persist leaves as soon as the earlier persists are durable. Stage 2 never
 * runs ahead of stage 1, so an entry is applied only after everything that
 * came before it in the same Ready is durable.
 *
 * A leader's appends go out while it persists (thesis §10.2.1), when the
 * effects include `persisted` (the core then runs with
 * `RaftInput.persistedEvents`): before a group's transaction, the pipeline
 * sends the messages of its leading Readys that carry only AppendEntries and
 * change no hard state, truncate nothing, install no snapshot and stream no
 * snapshot (`sendsBeforePersist`); after the fsync it reports the last entry
 * written, and only then may the leader count its own copy toward commit.
 * Everything else (votes, vote answers, a follower's answers, anything after
 * a hard-state change) still leaves only once durable. The early sends are
 * a prefix of the group's sends, so each peer still sees them in order.
 */
import type { Entry, HardState, Index, Message, ProposalOutcome, ReadOutcome, Ready, ReplicaId, SnapshotMeta } from '../raft/types.ts';
import { coalesceAppends, type CoalesceLimits } from './coalesce.ts';
import type { UnsafeRuntimeVariants } from './ports.ts';

/** What one group commit writes, in one transaction. */
export interface PersistBatch {
  readonly hardState?: HardState;
  readonly truncateFrom?: Index;
  readonly entries: readonly Entry[];
}

/** The side effects the pipeline drives; the Replica supplies the real ones, tests supply fakes. */
export interface PipelineEffects {
  /** Durably write hard state, truncation and appends in one transaction. */
  persist(batch: PersistBatch): Promise<void>;
  /** Follower side: the core adopted a received snapshot (already installed in the store before the core saw it). */
  adoptSnapshot(meta: SnapshotMeta): Promise<void>;
  /**
   * Optional: resolves once the I/O already waiting has been handled (production: one
   * `setImmediate`). Awaited before each group is taken, so the proposals and messages of
   * one event-loop turn persist, and their appends leave, as one group instead of one each.
   */
  gather?(): Promise<void>;
  send(messages: readonly Message[], snapshotsToSend: readonly { readonly to: ReplicaId; readonly meta: SnapshotMeta }[]): void;
  answer(proposals: readonly ProposalOutcome[], reads: readonly ReadOutcome[]): void;
  /**
   * Optional: before each apply transaction, given how many committed entries are queued,
   * a promise to wait on first (more commits then join the same transaction), or null to
   * apply now. A follower that nobody reads from uses it to apply in fewer, larger batches.
   */
  applyPause?(queuedEntries: number): Promise<void> | null;
  /** Apply newly committed entries in index order; resolves when they are applied durably. */
  apply(committed: readonly Entry[], commitIndex: Index): Promise<void>;
  /** A stage failed: the replica can no longer guarantee durability order and must stop. */
  fail(error: unknown): void;
  /**
   * Optional: the log is durable through entry `index` of `term` (fed to the core as a
   * `persisted` event). Given, a leader's appends leave before its own persist; the core
   * must then have been created with `RaftInput.persistedEvents`, or it would count
   * entries it does not hold durably.
   */
  persisted?(index: Index, term: Index): void;
}

/** Group commits at most this many Readys at once, so one transaction stays short and a heartbeat behind it is not delayed long. */
export const MAX_READYS_PER_GROUP_COMMIT = 256;
/** Applies at most this many committed entries in one transaction: bounds how long appliedIndex waits for one batch. */
export const MAX_ENTRIES_PER_APPLY = 1_024;

export interface Pipeline {
  push(ready: Ready): void;
  /** Resolves once every Ready pushed so far has been persisted, sent and applied. */
  drain(): Promise<void>;
  /** Stop taking Readys; resolves after the in-flight persist and apply finish. */
  stop(): Promise<void>;
  readonly stats: PipelineStats;
}

export interface PipelineStats {
  /** Readys persisted (group commits count each Ready once). */
  readys: number;
  /** Transactions written by group commit. */
  groupCommits: number;
  /** The most Readys folded into one group commit. */
  largestGroup: number;
  /** Readys waiting for stage 1 right now. */
  queued: number;
  /** Apply transactions (each applies the committed entries of one or more Readys). */
  applyBatches: number;
  /** AppendEntries that left joined to the one before them (coalesce.ts) instead of on their own. */
  appendsJoined: number;
}

/**
 * `limits`, when given, joins each follower's consecutive appends in a send batch
 * (coalesce.ts), within the core's own per-message limits.
 */
export function createPipeline(effects: PipelineEffects, unsafe: Pick<UnsafeRuntimeVariants, 'ackBeforeDurable'> = {}, limits?: CoalesceLimits): Pipeline {
  const durabilityQueue: Ready[] = [];
  const applyQueue: { committed: readonly Entry[]; commitIndex: Index }[] = [];
  const stats: PipelineStats = { readys: 0, groupCommits: 0, largestGroup: 0, queued: 0, applyBatches: 0, appendsJoined: 0 };
  let durabilityRunning: Promise<void> | null = null;
  let applyRunning: Promise<void> | null = null;
  let stopped = false;
  let failed = false;
  let lastSeq = -1;

  /** After the fsync: tell the core how far the log is durable (the last entry written). */
  const reportPersisted = (batch: PersistBatch): void => {
    const last = batch.entries[batch.entries.length - 1];
    if (last !== undefined) effects.persisted?.(last.index, last.term);
  };

  const fail = (error: unknown): void => {
    if (failed) return;
    failed = true;
    effects.fail(error);
  };

  const runApply = (): void => {
    if (applyRunning || failed) return;
    applyRunning = (async () => {
      // Yield first so the assignment above happens before the finally below clears it.
      await null;
      try {
        while (applyQueue.length > 0 && !failed) {
          const pause = effects.applyPause?.(queuedEntries(applyQueue)) ?? null;
          if (pause !== null) await pause;
          // Everything committed meanwhile goes in one apply transaction (one fsync), up to a bound.
          const batch = takeApplyBatch(applyQueue);
          stats.applyBatches += 1;
          await effects.apply(batch.committed, batch.commitIndex);
        }
      } catch (error) {
        fail(error);
      } finally {
        applyRunning = null;
      }
      if (applyQueue.length > 0 && !failed) runApply();
    })();
  };

  // Every Ready's messages in order, with each follower's consecutive appends joined into one (coalesce.ts).
  const sendAll = (readys: readonly Ready[]): void => {
    if (readys.length === 0) return;
    if (readys.length === 1) {
      const only = readys[0]!;
      effects.send(only.messages, only.snapshotsToSend);
      return;
    }
    const messages = readys.flatMap((ready) => ready.messages);
    const snapshots = readys.flatMap((ready) => ready.snapshotsToSend);
    const sent = limits === undefined ? messages : coalesceAppends(messages, limits);
    stats.appendsJoined += messages.length - sent.length;
    effects.send(sent, snapshots);
  };

  const runDurability = (): void => {
    if (durabilityRunning || failed) return;
    durabilityRunning = (async () => {
      // Yield first so the assignment above happens before the finally below clears it.
      await null;
      try {
        while (durabilityQueue.length > 0 && !failed) {
          if (effects.gather !== undefined) await effects.gather();
          const group = takeGroup(durabilityQueue);
          stats.queued = durabilityQueue.length;
          for (const part of splitAtSnapshots(group)) {
            // UNSAFE variant: acknowledgements leave before the entries they acknowledge are durable.
            const sendBeforePersist = unsafe.ackBeforeDurable === true && part.kind === 'plain';
            // Thesis §10.2.1: the leading Readys that only carry a leader's appends leave now.
            const sentEarly = part.kind === 'plain' && effects.persisted !== undefined ? sendsBeforePersist(part.readys) : 0;
            if (part.kind === 'snapshot') {
              // Raft §7: the snapshot replaces the state machine; let queued applies finish first, in order.
              await waitFor(() => applyRunning);
              await effects.adoptSnapshot(part.meta);
              if (part.persist) {
                await effects.persist(part.persist);
                reportPersisted(part.persist);
              }
            } else {
              sendAll(sendBeforePersist ? part.readys : part.readys.slice(0, sentEarly));
              const batch = mergePersists(part.readys);
              if (batch) {
                await effects.persist(batch);
                reportPersisted(batch);
              }
            }
            stats.groupCommits += 1;
            stats.largestGroup = Math.max(stats.largestGroup, part.readys.length);
            if (!sendBeforePersist) sendAll(part.readys.slice(sentEarly));
            for (const ready of part.readys) {
              stats.readys += 1;
              effects.answer(ready.proposals, ready.reads);
              if (ready.committed.length > 0) {
                applyQueue.push({ committed: ready.committed, commitIndex: ready.commitIndex });
                runApply();
              }
            }
          }
        }
      } catch (error) {
        fail(error);
      } finally {
        durabilityRunning = null;
      }
      if (durabilityQueue.length > 0 && !failed) runDurability();
    })();
  };

  return {
    stats,
    push(ready) {
      if (stopped || failed) return;
      if (ready.seq <= lastSeq) {
        fail(new PipelineOrderError(lastSeq, ready.seq));
        return;
      }
      lastSeq = ready.seq;
      durabilityQueue.push(ready);
      stats.queued = durabilityQueue.length;
      runDurability();
    },
    async drain() {
      // Each stage restarts itself while work is queued, so waiting until neither runs means both queues are empty.
      while (durabilityRunning || applyRunning) {
        await durabilityRunning;
        await applyRunning;
      }
    },
    async stop() {
      stopped = true;
      // Finish the in-flight persist (and what it already made durable), then the applies it queued.
      await durabilityRunning;
      durabilityQueue.length = 0;
      await applyRunning;
    },
  };
}

/** The core emitted Readys out of order: carrying them out would break durability order. */
export class PipelineOrderError extends Error {
  constructor(last: number, got: number) {
    super(`Ready seq ${got} arrived after seq ${last}; Readys must be carried out strictly in order`);
    this.name = 'PipelineOrderError';
  }
}

function queuedEntries(queue: readonly { committed: readonly Entry[] }[]): number {
  let n = 0;
  for (const run of queue) n += run.committed.length;
  return n;
}

/** Joins queued committed runs (each contiguous, in index order) into one, up to MAX_ENTRIES_PER_APPLY entries. */
function takeApplyBatch(queue: { committed: readonly Entry[]; commitIndex: Index }[]): { committed: Entry[]; commitIndex: Index } {
  const committed: Entry[] = [];
  let commitIndex = 0;
  while (queue.length > 0) {
    const next = queue[0];
    if (!next || (committed.length > 0 && committed.length + next.committed.length > MAX_ENTRIES_PER_APPLY)) break;
    queue.shift();
    committed.push(...next.committed);
    commitIndex = Math.max(commitIndex, next.commitIndex);
  }
  return { committed, commitIndex };
}

/**
 * How many of a group's leading Readys may be sent before the group is persisted: each
 * carries only AppendEntries (only a leader sends them; thesis §10.2.1 lets a leader send
 * them before its own copy is durable), and neither it nor any Ready before it changes hard
 * state (a message must never carry a term or vote not yet durable), truncates, installs a
 * snapshot or streams one. Stopping at the first other Ready keeps every peer's messages in
 * the order the core emitted them.
 */
export function sendsBeforePersist(readys: readonly Ready[]): number {
  let n = 0;
  for (const ready of readys) {
    if (ready.hardState || ready.truncateFrom !== undefined || ready.installSnapshot || ready.snapshotsToSend.length > 0) break;
    if (!ready.messages.every((m) => m.type === 'AppendEntries')) break;
    n += 1;
  }
  return n;
}

function takeGroup(queue: Ready[]): Ready[] {
  return queue.splice(0, Math.min(queue.length, MAX_READYS_PER_GROUP_COMMIT));
}

async function waitFor(current: () => Promise<void> | null): Promise<void> {
  for (let running = current(); running; running = current()) await running;
}

type GroupPart =
  | { readonly kind: 'plain'; readonly readys: readonly Ready[] }
  | { readonly kind: 'snapshot'; readonly meta: SnapshotMeta; readonly persist: PersistBatch | null; readonly readys: readonly Ready[] };

/** A Ready that installs a snapshot cannot share a transaction with the Readys before it. */
function splitAtSnapshots(group: readonly Ready[]): GroupPart[] {
  const parts: GroupPart[] = [];
  let plain: Ready[] = [];
  for (const ready of group) {
    if (ready.installSnapshot) {
      if (plain.length > 0) parts.push({ kind: 'plain', readys: plain });
      plain = [];
      parts.push({ kind: 'snapshot', meta: ready.installSnapshot, persist: mergePersists([ready]), readys: [ready] });
    } else {
      plain.push(ready);
    }
  }
  if (plain.length > 0) parts.push({ kind: 'plain', readys: plain });
  return parts;
}

/**
 * Folds consecutive Readys' persist effects into one batch with the same end
 * result as writing them one by one: the latest hard state wins; a later
 * truncation drops the earlier batch entries it covers and lowers truncateFrom.
 * Returns null when there is nothing to write (e.g. a pure heartbeat).
 */
export function mergePersists(readys: readonly Ready[]): PersistBatch | null {
  let hardState: HardState | undefined;
  let truncateFrom: Index | undefined;
  let entries: Entry[] = [];
  for (const ready of readys) {
    if (ready.hardState) hardState = ready.hardState;
    if (ready.truncateFrom !== undefined) {
      const from = ready.truncateFrom;
      entries = entries.filter((entry) => entry.index < from);
      truncateFrom = truncateFrom === undefined ? from : Math.min(truncateFrom, from);
    }
    for (const entry of ready.entries) {
      const last = entries[entries.length - 1];
      if (last && entry.index !== last.index + 1) {
        // The core promises contiguous appends; an overlap without truncateFrom means an earlier batch entry is replaced.
        entries = entries.filter((kept) => kept.index < entry.index);
        truncateFrom = truncateFrom === undefined ? entry.index : Math.min(truncateFrom, entry.index);
      }
      entries.push(entry);
    }
  }
  if (!hardState && truncateFrom === undefined && entries.length === 0) return null;
  return {
    ...(hardState ? { hardState } : {}),
    ...(truncateFrom !== undefined ? { truncateFrom } : {}),
    entries,
  };
}

/**
 * A persist batch made before the core learned of a snapshot the installer
 * already put in the store (the installer runs beside the pipeline): entries
 * at or below that snapshot are covered by it (committed, so identical by log
 * matching) and are dropped, a truncation inside it is dropped, and what is
 * left is written over the store's log from its first index. Without this, the
 * store refuses the batch and the replica stops (found by the simulation).
 * Returns null when nothing is left to write.
 */
export function trimBelowInstalled(batch: PersistBatch, installedIndex: Index, lastIndex: Index): PersistBatch | null {
  if (installedIndex === 0) return batch;
  const entries = batch.entries.filter((entry) => entry.index > installedIndex);
  let truncateFrom = batch.truncateFrom !== undefined && batch.truncateFrom > installedIndex ? batch.truncateFrom : undefined;
  const first = entries[0];
  if (first !== undefined && first.index <= lastIndex) truncateFrom = Math.min(truncateFrom ?? first.index, first.index);
  if (truncateFrom !== undefined && truncateFrom > lastIndex) truncateFrom = undefined;
  if (!batch.hardState && truncateFrom === undefined && entries.length === 0) return null;
  return { ...(batch.hardState ? { hardState: batch.hardState } : {}), ...(truncateFrom !== undefined ? { truncateFrom } : {}), entries };
}
