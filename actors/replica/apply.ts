/**
 * The apply stage's work: committed entries → the application, in the same
 * store transaction that advances appliedIndex and the digest (`store.apply`),
 * then local callers are answered and live frames published.
 */
import type { Entry, Index, ReplicaId } from '../raft/types.ts';
import { Internal, isProtocolError } from '../chat/index.ts';
import type { AppliedCommand, CommandEntry, CommandReply, ReplicaApplication, RuntimeLogger, RuntimeStore, WireReply } from './ports.ts';
import type { Waiters } from './waiters.ts';

export type { CommandReply } from './ports.ts';

/** docs/protocol.md §2.3 rule 2: publish an entry's live frames only if its leader-assigned ts is at most this old. */
export const LIVE_MAX_AGE_MS = 10_000;
/** docs/protocol.md §2.3 rule 3: a replica this far behind its commit index is catching up and publishes nothing. */
export const LIVE_MAX_APPLY_LAG = 1_000;

/**
 * docs/protocol.md §2.3 rule 4: who publishes live frames. The leader does,
 * and one follower as a backup (the voter after the leader in id order), so
 * a frame still goes out if the leader crashes between commit and publish
 * while the other three replicas skip the sessions lookup and the publishes.
 * Without a known leader every replica publishes (the client de-duplicates).
 */
export function publishesLiveFrames(self: ReplicaId, leader: ReplicaId | null, voters: readonly ReplicaId[]): boolean {
  if (leader === null || leader === self) return true;
  const ordered = [...voters].sort();
  const at = ordered.indexOf(leader);
  if (at < 0) return true;
  return ordered.length > 1 && ordered[(at + 1) % ordered.length] === self;
}

export interface ApplyStageDeps<Tx, Live> {
  readonly store: RuntimeStore<Tx>;
  readonly application: ReplicaApplication<Tx, Live>;
  readonly waiters: Waiters<CommandReply>;
  /** Publishes one live frame (fire and forget). */
  readonly publish: (subject: string, body: unknown) => void;
  readonly now: () => number;
  readonly log: Pick<RuntimeLogger, 'error' | 'warn'>;
  /** Called after every applied batch with the new appliedIndex (snapshot scheduling). */
  readonly afterApply: (appliedIndex: Index) => void;
  /** Whether this replica publishes live frames right now (`publishesLiveFrames`). */
  readonly publishesLive: () => boolean;
  /**
   * Runs `task` after the ones handed over before it, off the apply stage: looking up the
   * sessions to publish to must not hold up the next apply (measured: a third of the
   * leader's apply stage at 16 senders went to it).
   */
  readonly inOrderLater: (task: () => Promise<void>) => void;
}

interface Applied<Live> {
  readonly entry: Entry;
  readonly outcome: AppliedCommand<Live> | null;
}

/** Apply `committed` (skipping what a snapshot already covers), then answer waiters and publish live frames. */
export async function applyCommitted<Tx, Live>(deps: ApplyStageDeps<Tx, Live>, committed: readonly Entry[], commitIndex: Index): Promise<void> {
  const appliedBefore = deps.store.status().appliedIndex;
  // An installed snapshot may already cover part of this batch (Raft §7): those entries are in the state machine.
  const entries = committed.filter((entry) => entry.index > appliedBefore);
  if (entries.length === 0) return;
  const applyCommand = commandApplier(deps.application, entries);
  const applied = await deps.store.apply(entries, async (tx, entry): Promise<Applied<Live>> =>
    // noop and config entries are Raft bookkeeping: storage advances appliedIndex, digest and config for them.
    entry.kind === 'command' ? { entry, outcome: await applyCommand(tx, entry) } : { entry, outcome: null },
  );
  deps.application.committed?.();
  for (const done of applied) deps.waiters.onApplied({ index: done.entry.index, term: done.entry.term, result: done.outcome?.reply });
  const last = entries[entries.length - 1];
  if (last) deps.afterApply(last.index);
  // docs/protocol.md §2.3: publish after the transaction committed, and only fresh entries while not catching up.
  if (commitIndex - (last?.index ?? commitIndex) > LIVE_MAX_APPLY_LAG || !deps.publishesLive()) return;
  const fresh = applied.flatMap(({ outcome }) => (outcome && outcome.live.length > 0 && outcome.ts !== null && deps.now() - outcome.ts <= LIVE_MAX_AGE_MS ? outcome.live : []));
  if (fresh.length === 0) return;
  deps.inOrderLater(async () => {
    try {
      for (const { subject, body } of await deps.application.publications(fresh)) deps.publish(subject, body);
    } catch (error) {
      // Live frames are best effort (clients repair from history); never fail the apply stage for them.
      deps.log.warn({ err: error }, 'could not publish live frames');
    }
  });
}

/**
 * Applies one command entry at a time for the store, which asks in index order inside its
 * transaction; with `applyMany`, the first entry of each run of consecutive command entries
 * applies the whole run, and the rest of the run is answered from that.
 */
function commandApplier<Tx, Live>(application: ReplicaApplication<Tx, Live>, entries: readonly Entry[]): (tx: Tx, entry: CommandEntry) => Promise<AppliedCommand<Live>> {
  const applyMany = application.applyMany?.bind(application);
  if (applyMany === undefined) return async (tx, entry) => await application.apply(tx, entry);
  const done = new Map<Index, AppliedCommand<Live>>();
  const positionOf = new Map(entries.map((entry, i) => [entry.index, i]));
  return async (tx, entry) => {
    const known = done.get(entry.index);
    if (known !== undefined) return known;
    const run: CommandEntry[] = [];
    for (let i = positionOf.get(entry.index) ?? entries.length; i < entries.length; i += 1) {
      const next = entries[i]!;
      if (next.kind !== 'command') break;
      run.push(next);
    }
    if (run[0]?.index !== entry.index) return await application.apply(tx, entry);
    const results = await applyMany(tx, run);
    if (results.length !== run.length) throw new Error(`applyMany answered ${results.length} results for ${run.length} entries`);
    run.forEach((applied, i) => done.set(applied.index, results[i]!));
    return results[0]!;
  };
}

/** The wire body of a command reply. */
export function wireReply(reply: CommandReply | undefined): WireReply {
  if (reply === undefined) return new Internal('the entry produced no reply').toReply();
  return isProtocolError(reply) ? reply.toReply() : reply;
}
