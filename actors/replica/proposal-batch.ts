/**
 * Gathers the commands proposed in one run of the microtask queue into one
 * core event. Requests that arrive in one read from NATS are handled side by
 * side, so their proposals come within the same run; sent one by one, each
 * was an XState macrostep, a core step, a Ready and a round of appends to
 * every follower, which the pipeline then joined again (docs/notebook.md,
 * "Three small levers, measured one at a time").
 *
 * The flush is a microtask, not a timer: it adds no wait, and it keeps the
 * simulation deterministic. A read or configuration change made in the same
 * run reaches the core before the proposals gathered so far; none of them has
 * been answered yet, so no client can tell.
 */
import { MAX_PROPOSALS_PER_EVENT } from '../raft/index.ts';
import type { RaftEvent } from '../raft/types.ts';

/** What the batcher handed the core since the replica started (the status reply's `proposals`). */
export interface ProposalBatchStats {
  /** Core events carrying proposals (`propose` or `proposeMany`). */
  events: number;
  /** Proposals in them: proposals / events is the batching factor. */
  proposals: number;
  /** Events that carried more than one proposal (`proposeMany`). */
  batched: number;
  /** The most proposals one event carried. */
  largest: number;
}

export interface ProposalBatcher {
  /** Queue a command; the core gets it, with the others of this run, before the next macrotask. */
  propose(id: string, data: Uint8Array): void;
  readonly stats: Readonly<ProposalBatchStats>;
}

/** `deliver` hands one event to the core; `schedule` runs the flush later in this turn (default queueMicrotask). */
export function createProposalBatcher(deliver: (event: RaftEvent) => void, schedule: (flush: () => void) => void = queueMicrotask): ProposalBatcher {
  let pending: { readonly id: string; readonly data: Uint8Array }[] = [];
  const stats: ProposalBatchStats = { events: 0, proposals: 0, batched: 0, largest: 0 };
  const flush = (): void => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    stats.events += 1;
    stats.proposals += batch.length;
    if (batch.length > 1) stats.batched += 1;
    stats.largest = Math.max(stats.largest, batch.length);
    deliver(batch.length === 1 ? { type: 'propose', id: batch[0]!.id, data: batch[0]!.data } : { type: 'proposeMany', proposals: batch });
  };
  return {
    stats,
    propose(id, data) {
      pending.push({ id, data });
      if (pending.length === 1) schedule(flush);
      // A full event leaves now; the flush already scheduled finds what came after it.
      else if (pending.length >= MAX_PROPOSALS_PER_EVENT) flush();
    },
  };
}
