/**
 * Linearizable reads by read index (thesis §6.4): the leader notes its
 * commit index, proves it still leads with a heartbeat round a quorum
 * acknowledges, and only then answers; the caller reads once that index is
 * applied. A new leader first waits for an entry of its own term to commit,
 * since until then its commit index may lag the true one.
 *
 * Batched (thesis §6.4, "the leader can amortize the cost of confirming its
 * leadership"; etcd's readOnly): while one confirmation round is in flight,
 * new reads do not start rounds of their own. They queue and go together
 * with the next round the leader sends: the periodic heartbeat, or the one
 * started as soon as the in-flight round is confirmed. Any round sent after
 * a read arrived proves leadership after its arrival, which is all step 3
 * asks. Each read keeps the commit index it found on arrival (step 1): a
 * later index would also be safe, but the caller would wait longer to apply.
 */
import type { ReplicaId } from './types.ts';
import type { Draft, Out, QueuedRead } from './state.ts';
import { hasQuorum } from './quorum.ts';
import { broadcastHeartbeat } from './replication.ts';
import { MAX_PENDING_READS } from './limits.ts';

/** A `readIndex` request. */
export function onReadIndex(s: Draft, out: Out, id: string): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null) {
    out.reads.push({ id, ok: false, reason: { kind: 'not_leader', leader: s.leader } });
    return;
  }
  if (ls.reads.length + ls.readsNextRound.length + ls.readsAwaitingCommit.length >= MAX_PENDING_READS) {
    out.reads.push({ id, ok: false, reason: { kind: 'dropped', detail: `more than ${MAX_PENDING_READS} reads are waiting` } });
    return;
  }
  if (!ls.committedOwnTerm) {
    s.leaderState = { ...ls, readsAwaitingCommit: [...ls.readsAwaitingCommit, id] };
    return;
  }
  queueReads(s, out, [{ id, index: s.commitIndex }]);
}

/** The leader's first own-term entry committed: its commit index is now current, so the waiting reads take it. */
export function startAwaitingReads(s: Draft, out: Out): void {
  const ls = s.leaderState;
  if (ls === null || ls.readsAwaitingCommit.length === 0) return;
  const index = s.commitIndex;
  const reads = ls.readsAwaitingCommit.map((id) => ({ id, index }));
  s.leaderState = { ...ls, readsAwaitingCommit: [] };
  queueReads(s, out, reads);
}

/**
 * A heartbeat round was just sent (the periodic tick): the queued reads
 * arrived before it, so it confirms them too.
 */
export function readsJoinRound(s: Draft, round: number): void {
  const ls = s.leaderState;
  if (ls === null || ls.readsNextRound.length === 0) return;
  const joining = ls.readsNextRound.map((r) => ({ ...r, round }));
  s.leaderState = { ...ls, reads: [...ls.reads, ...joining], readsNextRound: [] };
}

/** Answer every pending read whose round a quorum of voters has acknowledged (the leader counts itself). */
export function checkReads(s: Draft, out: Out): void {
  const ls = s.leaderState;
  if (ls === null || ls.reads.length === 0) return;
  const remaining = [];
  for (const read of ls.reads) {
    const confirmed = hasQuorum(s.config.voters, (v) => v === s.id || (ls.progress[v]?.ackedRound ?? 0) >= read.round);
    if (confirmed) out.reads.push({ id: read.id, ok: true, index: read.index });
    else remaining.push(read);
  }
  s.leaderState = { ...ls, reads: remaining };
  // The round in flight is confirmed: the reads that queued behind it get the next one now.
  if (remaining.length === 0) queueReads(s, out, []);
}

/** Stepping down: every pending read fails, pointing at whoever we now believe leads. */
export function failAllReads(s: Draft, out: Out, leader: ReplicaId | null): void {
  const ls = s.leaderState;
  if (ls === null) return;
  const ids = [...ls.reads.map((r) => r.id), ...ls.readsNextRound.map((r) => r.id), ...ls.readsAwaitingCommit];
  for (const id of ids) out.reads.push({ id, ok: false, reason: { kind: 'not_leader', leader } });
}

/**
 * Add reads to the queue, and send a round for the whole queue unless one
 * is already in flight (then they wait for the next).
 */
function queueReads(s: Draft, out: Out, reads: readonly QueuedRead[]): void {
  // A sole voter is its own quorum: nothing to confirm.
  const ls = s.leaderState!;
  if (s.config.voters.length === 1 && s.config.voters[0] === s.id) {
    for (const read of [...ls.readsNextRound, ...reads]) out.reads.push({ id: read.id, ok: true, index: read.index });
    s.leaderState = { ...ls, readsNextRound: [] };
    return;
  }
  const queued = [...ls.readsNextRound, ...reads];
  s.leaderState = { ...ls, readsNextRound: queued };
  if (queued.length === 0 || ls.reads.length > 0) return;
  readsJoinRound(s, broadcastHeartbeat(s, out));
}
