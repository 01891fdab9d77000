/**
 * Linearizable reads by read index (thesis §6.4): the leader notes its
 * commit index, proves it still leads with a heartbeat round a quorum
 * acknowledges, and only then answers; the caller reads once that index is
 * applied. A new leader first waits for an entry of its own term to commit,
 * since until then its commit index may lag the true one.
 */
import type { ReplicaId } from './types.ts';
import type { Draft, Out } from './state.ts';
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
  if (ls.reads.length + ls.readsAwaitingCommit.length >= MAX_PENDING_READS) {
    out.reads.push({ id, ok: false, reason: { kind: 'dropped', detail: `more than ${MAX_PENDING_READS} reads are waiting` } });
    return;
  }
  if (!ls.committedOwnTerm) {
    s.leaderState = { ...ls, readsAwaitingCommit: [...ls.readsAwaitingCommit, id] };
    return;
  }
  startReads(s, out, [id]);
}

/** The leader's first own-term entry committed: start the reads that waited for it. */
export function startAwaitingReads(s: Draft, out: Out): void {
  const ls = s.leaderState;
  if (ls === null || ls.readsAwaitingCommit.length === 0) return;
  const ids = ls.readsAwaitingCommit;
  s.leaderState = { ...ls, readsAwaitingCommit: [] };
  startReads(s, out, ids);
}

function startReads(s: Draft, out: Out, ids: readonly string[]): void {
  const index = s.commitIndex;
  // A sole voter is its own quorum: nothing to confirm.
  if (s.config.voters.length === 1 && s.config.voters[0] === s.id) {
    for (const id of ids) out.reads.push({ id, ok: true, index });
    return;
  }
  const round = broadcastHeartbeat(s, out);
  const ls = s.leaderState!;
  s.leaderState = { ...ls, reads: [...ls.reads, ...ids.map((id) => ({ id, index, round }))] };
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
}

/** Stepping down: every pending read fails, pointing at whoever we now believe leads. */
export function failAllReads(s: Draft, out: Out, leader: ReplicaId | null): void {
  const ls = s.leaderState;
  if (ls === null) return;
  for (const read of ls.reads) out.reads.push({ id: read.id, ok: false, reason: { kind: 'not_leader', leader } });
  for (const id of ls.readsAwaitingCommit) out.reads.push({ id, ok: false, reason: { kind: 'not_leader', leader } });
}
