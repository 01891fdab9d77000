/**
 * Client proposals at the leader: commands and single-server configuration
 * changes (thesis §4.1, §4.3). Non-leaders refuse with a pointer to the leader.
 */
import type { Configuration, DataId, Entry, ProposalOutcome, RefusalReason, ReplicaId } from './types.ts';
import type { Draft, Out } from './state.ts';
import { dataIdProblem, recordedDataId, sameDataIds } from './identity.ts';
import { lastIndex } from './log.ts';
import { leaderAppend } from './roles.ts';
import { broadcastAppend, maybeCommit } from './replication.ts';

export function onPropose(s: Draft, out: Out, id: string, data: Uint8Array): void {
  onProposeMany(s, out, [{ id, data }]);
}

/**
 * Commands in one step (the runtime gathers a turn's): each is checked and appended in order,
 * and the followers then get one round of appends for all of them instead of one per command.
 */
export function onProposeMany(s: Draft, out: Out, proposals: readonly { readonly id: string; readonly data: Uint8Array }[]): void {
  let appended = false;
  for (const { id, data } of proposals) {
    const refusal = refuse(s);
    if (refusal !== null) {
      out.proposals.push({ id, accepted: false, reason: refusal });
      continue;
    }
    const entry: Entry = { index: lastIndex(s.log) + 1, term: s.term, kind: 'command', data };
    leaderAppend(s, out, entry);
    out.proposals.push({ id, accepted: true, index: entry.index, term: entry.term });
    appended = true;
  }
  if (!appended) return;
  broadcastAppend(s, out, { allowEmpty: false, round: 0 });
  maybeCommit(s, out);
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
  accept(s, out, id, { index: lastIndex(s.log) + 1, term: s.term, kind: 'config', config: copyConfig(config) });
}

/**
 * The leader records the data identities it has heard from members that have
 * none recorded, and its own, in one configuration entry that changes no one's
 * role (identity.ts). It waits, like any change, until the previous
 * configuration is committed, and until an entry of its own term is (so the
 * configuration it extends is surely the cluster's).
 */
export function recordDataIds(s: Draft, out: Out): void {
  const ls = s.leaderState;
  if (s.role !== 'leader' || ls === null) return;
  // Called after every message a leader handles: once everyone is recorded, nothing is heard (noteDataId) and this stops here.
  const selfPending = s.dataId !== null && recordedDataId(s.config, s.id) === undefined;
  if (!selfPending && Object.keys(ls.heardDataIds).length === 0) return;
  if (!ls.committedOwnTerm || ls.transfer !== null || s.configIndex > s.commitIndex || refuse(s) !== null) return;
  const pending: Record<ReplicaId, DataId> = {};
  const members = [...s.config.voters, ...s.config.learners];
  for (const member of members) {
    if (recordedDataId(s.config, member) !== undefined) continue;
    const heard = member === s.id ? s.dataId : ls.heardDataIds[member];
    if (heard !== undefined && heard !== null) pending[member] = heard;
  }
  if (Object.keys(pending).length === 0) return;
  s.leaderState = { ...ls, heardDataIds: {} };
  const config = { voters: s.config.voters, learners: s.config.learners, dataIds: { ...(s.config.dataIds ?? {}), ...pending } };
  leaderAppend(s, out, { index: lastIndex(s.log) + 1, term: s.term, kind: 'config', config: copyConfig(config) });
  broadcastAppend(s, out, { allowEmpty: false, round: 0 });
  maybeCommit(s, out);
}

function copyConfig(config: Configuration): Configuration {
  const copy = { voters: [...config.voters], learners: [...config.learners] };
  return config.dataIds === undefined || Object.keys(config.dataIds).length === 0 ? copy : { ...copy, dataIds: { ...config.dataIds } };
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
 * Exactly one replica may be added, removed, or moved between voter and learner;
 * or no one's role changes and only data identities are recorded (identity.ts).
 */
export function configProblem(current: Configuration, next: Configuration): string | null {
  const ids = [...next.voters, ...next.learners];
  if (ids.some((id) => typeof id !== 'string' || id.length === 0)) return 'replica ids must be non-empty strings';
  if (new Set(ids).size !== ids.length) return 'a replica appears twice in the configuration';
  if (next.voters.length === 0) return 'a configuration needs at least one voter';
  const roleIn = (c: Configuration, id: string): string => (c.voters.includes(id) ? 'voter' : c.learners.includes(id) ? 'learner' : 'none');
  const everyone = new Set([...current.voters, ...current.learners, ...ids]);
  const changed = [...everyone].filter((id) => roleIn(current, id) !== roleIn(next, id));
  if (changed.length === 0 && sameDataIds(current, next)) return 'the configuration is unchanged';
  if (changed.length > 1) return `only one replica may change at a time (changing: ${changed.join(', ')})`;
  return dataIdProblem(current, next);
}
