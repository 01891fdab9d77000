/**
 * Leadership transfer (thesis §3.10): stop taking proposals, bring the
 * target's log up to date, then send it TimeoutNow so it campaigns at once.
 * Abandoned if it has not happened within an election timeout.
 */
import type { ReplicaId } from './types.ts';
import type { Draft, Out } from './state.ts';
import { lastIndex } from './log.ts';
import { isVoter } from './quorum.ts';
import { replicateTo } from './replication.ts';

export function onTransferLeadership(s: Draft, out: Out, to: ReplicaId): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null) return;
  if (to === s.id || !isVoter(s.config, to) || ls.progress[to] === undefined) return;
  if (ls.transfer?.to === to) return;
  s.leaderState = { ...ls, transfer: { to, deadlineMs: ls.nowMs + s.timing.electionMinMs, timeoutNowSent: false } };
  maybeSendTimeoutNow(s, out, to);
  replicateTo(s, out, to);
}

/** Send TimeoutNow once the target holds our whole log. */
export function maybeSendTimeoutNow(s: Draft, out: Out, peer: ReplicaId): void {
  const ls = s.leaderState;
  const transfer = ls?.transfer;
  if (ls == null || transfer == null || transfer.to !== peer || transfer.timeoutNowSent) return;
  if ((ls.progress[peer]?.matchIndex ?? 0) !== lastIndex(s.log)) return;
  out.messages.push({ type: 'TimeoutNow', from: s.id, to: peer, term: s.term });
  s.leaderState = { ...ls, transfer: { ...transfer, timeoutNowSent: true } };
}
