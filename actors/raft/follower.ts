/**
 * The follower's side of log replication (Raft Figure 2 AppendEntries
 * receiver, Figure 13 InstallSnapshot receiver): consistency check, conflict
 * truncation that never cuts committed entries, commit, fast back-off hints.
 */
import type { AppendEntries, AppendEntriesResponse, Index, InstallSnapshot } from './types.ts';
import type { Draft, Out } from './state.ts';
import { commitTo, forgetPersistedFrom, heardFromLeader, persistTruncate } from './state.ts';
import { applyMerge, entriesBetween, firstIndexOfTerm, lastIndex, logFrom, planMerge, termAt } from './log.ts';
import { becomeFollower, syncConfig } from './roles.ts';

/** Raft Figure 2, AppendEntries receiver (the term was already settled by the caller). */
export function onAppendEntries(s: Draft, out: Out, m: AppendEntries): void {
  if (s.role === 'leader') return; // two leaders in one term cannot happen; ignore rather than trust it
  if (s.role === 'pre-candidate' || s.role === 'candidate' || s.leader !== m.from) becomeFollower(s, out, s.term, m.from);
  heardFromLeader(s);

  let prev = m.prevLogIndex;
  let prevTerm = m.prevLogTerm;
  let entries = m.entries;
  if (prev < s.commitIndex) {
    // Entries up to commitIndex are committed, hence in this leader's log too
    // (Leader Completeness): skip them and check from our commit point.
    entries = entries.filter((e) => e.index > s.commitIndex);
    prev = s.commitIndex;
    prevTerm = termAt(s.log, prev) ?? -1;
  }
  const ourPrevTerm = termAt(s.log, prev);
  if (ourPrevTerm === undefined || ourPrevTerm !== prevTerm) {
    out.messages.push(rejectAppend(s, m, prev, ourPrevTerm));
    return;
  }
  const plan = planMerge(s.log, entries);
  if (plan.truncateFrom !== null && plan.truncateFrom <= s.commitIndex) return; // never cut committed entries
  if (plan.truncateFrom !== null || plan.append.length > 0) {
    s.log = applyMerge(s.log, plan);
    if (plan.truncateFrom !== null) {
      persistTruncate(out, plan.truncateFrom);
      forgetPersistedFrom(s, plan.truncateFrom);
    }
    out.entries.push(...plan.append);
    if (plan.truncateFrom !== null || plan.append.some((e) => e.kind === 'config')) syncConfig(s, out);
  }
  const matchIndex = prev + entries.length;
  commitTo(s, out, Math.min(m.leaderCommit, matchIndex));
  out.messages.push({
    type: 'AppendEntriesResponse',
    from: s.id,
    to: m.from,
    term: s.term,
    success: true,
    matchIndex,
    conflictTerm: 0,
    conflictIndex: 0,
    round: m.round,
  });
}

/** A rejection with the fast back-off hint; matchIndex echoes the rejected prevLogIndex. */
function rejectAppend(s: Draft, m: AppendEntries, prev: Index, ourPrevTerm: number | undefined): AppendEntriesResponse {
  const base = { type: 'AppendEntriesResponse', from: s.id, to: m.from, term: s.term, success: false, matchIndex: m.prevLogIndex, round: m.round } as const;
  if (ourPrevTerm === undefined) return { ...base, conflictTerm: 0, conflictIndex: lastIndex(s.log) + 1 };
  const first = Math.max(s.commitIndex + 1, firstIndexOfTerm(s.log, ourPrevTerm, prev));
  return { ...base, conflictTerm: ourPrevTerm, conflictIndex: first };
}

/** Answer a stale leader so it learns our newer term and steps down. */
export function rejectStale(s: Draft, out: Out, m: AppendEntries | InstallSnapshot): void {
  if (m.type === 'AppendEntries') {
    out.messages.push({ type: 'AppendEntriesResponse', from: s.id, to: m.from, term: s.term, success: false, matchIndex: m.prevLogIndex, conflictTerm: 0, conflictIndex: 0, round: m.round });
  } else {
    out.messages.push({ type: 'InstallSnapshotResponse', from: s.id, to: m.from, term: s.term, matchIndex: 0, success: false });
  }
}

/**
 * Raft Figure 13: install a fully received snapshot newer than our commit
 * point. If our log holds the snapshot's last entry, the entries after it
 * are kept; otherwise the whole log goes. The Ready says: install the
 * snapshot, delete entries from meta.index + 1 on, then append the kept ones.
 */
export function onInstallSnapshot(s: Draft, out: Out, m: InstallSnapshot): void {
  if (s.role === 'leader') return;
  if (s.role === 'pre-candidate' || s.role === 'candidate' || s.leader !== m.from) becomeFollower(s, out, s.term, m.from);
  heardFromLeader(s);
  const meta = m.snapshot;
  if (meta.index <= s.commitIndex) {
    out.messages.push({ type: 'InstallSnapshotResponse', from: s.id, to: m.from, term: s.term, matchIndex: s.commitIndex, success: true });
    return;
  }
  const kept = termAt(s.log, meta.index) === meta.term ? entriesBetween(s.log, meta.index + 1, lastIndex(s.log)) : [];
  s.log = logFrom(meta, kept);
  // The runtime installed the snapshot durably before we saw it; the kept entries are written again.
  s.persistedIndex = meta.index;
  out.installSnapshot = meta;
  out.entries = [];
  out.truncateFrom = meta.index + 1;
  out.entries.push(...kept);
  out.committed = [];
  s.commitIndex = meta.index;
  syncConfig(s, out);
  out.messages.push({ type: 'InstallSnapshotResponse', from: s.id, to: m.from, term: s.term, matchIndex: meta.index, success: true });
}
