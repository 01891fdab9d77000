/**
 * Client proposals at the leader: commands and single-server configuration
 * changes (thesis §4.1, §4.3). Non-leaders refuse with a pointer to the leader.
 */
import type { Configuration, Entry, ProposalOutcome, RefusalReason } from './types.ts';
import type { Draft, Out } from './state.ts';
import { lastIndex } from './log.ts';
import { leaderAppend } from './roles.ts';
import { broadcastAppend, maybeCommit } from './replication.ts';

export function onPropose(s: Draft, out: Out, id: string, data: Uint8Array): void {
  const refusal = refuse(s);
  if (refusal !== null) {
    out.proposals.push({ id, accepted: false, reason: refusal });
    return;
  }
  accept(s, out, id, { index: lastIndex(s.log) + 1, term: s.term, kind: 'command', data });
}

export function onProposeConfig(s: Draft, out: Out, id: string, config: Configuration): void {
  const refusal = refuse(s);
  if (refusal !== null) {
    out.proposals.push({ id, accepted: false, reason: refusal });
    return;
  }
  // Thesis §4.1: one change at a time; the next waits until the previous commits.
  if (s.configIndex > s.commitIndex) {
    out.proposals.push(dropped(id, 'a previous configuration change is not committed yet'));
    return;
  }
  const problem = configProblem(s.config, config);
  if (problem !== null) {
    out.proposals.push(dropped(id, problem));
    return;
  }
  accept(s, out, id, { index: lastIndex(s.log) + 1, term: s.term, kind: 'config', config: { voters: [...config.voters], learners: [...config.learners] } });
}

function accept(s: Draft, out: Out, id: string, entry: Entry): void {
  leaderAppend(s, out, entry);
  out.proposals.push({ id, accepted: true, index: entry.index, term: entry.term });
  broadcastAppend(s, out, { allowEmpty: false, round: 0 });
  maybeCommit(s, out);
}

function refuse(s: Draft): RefusalReason | null {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null) return { kind: 'not_leader', leader: s.leader };
  if (ls.transfer !== null) return { kind: 'dropped', detail: `leadership transfer to ${ls.transfer.to} in progress` };
  if (lastIndex(s.log) - s.commitIndex >= s.limits.maxUncommittedEntries) {
    return { kind: 'dropped', detail: `more than ${s.limits.maxUncommittedEntries} entries await commit` };
  }
  return null;
}

function dropped(id: string, detail: string): ProposalOutcome {
  return { id, accepted: false, reason: { kind: 'dropped', detail } };
}

/**
 * Why `next` is not a valid single-server change from `current`, or null.
 * Exactly one replica may be added, removed, or moved between voter and learner.
 */
export function configProblem(current: Configuration, next: Configuration): string | null {
  const ids = [...next.voters, ...next.learners];
  if (ids.some((id) => typeof id !== 'string' || id.length === 0)) return 'replica ids must be non-empty strings';
  if (new Set(ids).size !== ids.length) return 'a replica appears twice in the configuration';
  if (next.voters.length === 0) return 'a configuration needs at least one voter';
  const roleIn = (c: Configuration, id: string): string => (c.voters.includes(id) ? 'voter' : c.learners.includes(id) ? 'learner' : 'none');
  const everyone = new Set([...current.voters, ...current.learners, ...ids]);
  const changed = [...everyone].filter((id) => roleIn(current, id) !== roleIn(next, id));
  if (changed.length === 0) return 'the configuration is unchanged';
  if (changed.length > 1) return `only one replica may change at a time (changing: ${changed.join(', ')})`;
  return null;
}
