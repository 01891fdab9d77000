/**
 * The apply stage's work: committed entries → chat tables, in the same
 * transaction that advances appliedIndex and the digest (storage's `apply`),
 * then local callers are answered and live frames published.
 */
import type { Knex } from 'knex';
import type { Entry, Index } from '../raft/types.ts';
import type { ReplicaStore } from '../../storage/index.ts';
import { applyCommand, decodeCommand, Internal, isProtocolError, resolveDeliveries, type Delivery, type OkReply, type ProtocolError, type Publication } from '../chat/index.ts';
import type { Waiters } from './waiters.ts';

/** The reply an applied command produced for whoever proposed it. */
export type CommandReply = OkReply | ProtocolError;

/** docs/protocol.md §2.3 rule 2: publish an entry's live frames only if its leader-assigned ts is at most this old. */
export const LIVE_MAX_AGE_MS = 10_000;
/** docs/protocol.md §2.3 rule 3: a replica this far behind its commit index is catching up and publishes nothing. */
export const LIVE_MAX_APPLY_LAG = 1_000;

export interface ApplyStageDeps {
  readonly store: ReplicaStore;
  readonly waiters: Waiters<CommandReply>;
  /** Publishes one live frame (fire and forget). */
  readonly publish: (publication: Publication) => void;
  readonly now: () => number;
  readonly log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Called after every applied batch with the new appliedIndex (snapshot scheduling). */
  readonly afterApply: (appliedIndex: Index) => void;
}

interface Applied {
  readonly entry: Entry;
  readonly reply: CommandReply | undefined;
  readonly deliveries: readonly Delivery[];
  readonly ts: number | null;
}

/** Apply `committed` (skipping what a snapshot already covers), then answer waiters and publish live frames. */
export async function applyCommitted(deps: ApplyStageDeps, committed: readonly Entry[], commitIndex: Index): Promise<void> {
  const appliedBefore = deps.store.status().appliedIndex;
  // An installed snapshot may already cover part of this batch (Raft §7): those entries are in the state machine.
  const entries = committed.filter((entry) => entry.index > appliedBefore);
  if (entries.length === 0) return;
  const applied = await deps.store.apply(entries, (trx, entry) => applyOne(trx, entry, deps));
  for (const done of applied) deps.waiters.onApplied({ index: done.entry.index, term: done.entry.term, result: done.reply });
  const last = entries[entries.length - 1];
  if (last) deps.afterApply(last.index);
  // docs/protocol.md §2.3: publish after the transaction committed, and only fresh entries while not catching up.
  if (commitIndex - (last?.index ?? commitIndex) > LIVE_MAX_APPLY_LAG) return;
  const fresh = applied.filter((done) => done.deliveries.length > 0 && done.ts !== null && deps.now() - done.ts <= LIVE_MAX_AGE_MS);
  if (fresh.length === 0) return;
  try {
    const publications = await resolveDeliveries(deps.store.reader, fresh.flatMap((done) => done.deliveries));
    for (const publication of publications) deps.publish(publication);
  } catch (error) {
    // Live frames are best effort (clients repair from history); never fail the apply stage for them.
    deps.log.warn({ err: error }, 'could not publish live frames');
  }
}

async function applyOne(trx: Knex.Transaction, entry: Entry, deps: ApplyStageDeps): Promise<Applied> {
  // noop and config entries are Raft bookkeeping: storage advances appliedIndex, digest and config for them.
  if (entry.kind !== 'command') return { entry, reply: undefined, deliveries: [], ts: null };
  let command;
  try {
    command = decodeCommand(entry.data);
  } catch (error) {
    // Every replica decodes the same bytes the same way, so skipping it keeps them identical; the proposer gets `internal`.
    deps.log.error({ err: error, index: entry.index }, 'committed entry is not a chat command; applied as a no-op');
    return { entry, reply: new Internal(`entry ${entry.index} could not be decoded`), deliveries: [], ts: null };
  }
  const result = await applyCommand(trx, command, { index: entry.index, term: entry.term });
  return { entry, reply: result.reply, deliveries: result.deliveries, ts: command.ts };
}

/** The wire body of a command reply. */
export function wireReply(reply: CommandReply | undefined): object {
  if (reply === undefined) return new Internal('the entry produced no reply').toReply();
  return isProtocolError(reply) ? reply.toReply() : reply;
}
