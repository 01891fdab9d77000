/**
 * The hot-path check of every decoded peer message: exactly what
 * `MessageSchema` (codec.ts) accepts, written by hand. zod walked every
 * message through generic parsers and built issue objects; on a follower at
 * one writer it was about 3.5% of CPU for checks this file does in a few
 * comparisons. The schema stays the reference: test/unit/transport-codec.test.ts
 * checks with fast-check that both accept and refuse the same values and give
 * the same result.
 *
 * Like the schema, a valid message comes back as a fresh object holding only
 * the contract's fields (unknown keys dropped), with command bytes copied out
 * of the receive buffer so the core may keep them.
 */
import type { Configuration, DataId, Entry, Message, SnapshotMeta } from '../raft/types.ts';
import { DATA_ID_PATTERN } from '../raft/identity.ts';
import { REPLICA_ID_PATTERN } from '../protocol/index.ts';

/** No AppendEntries carries more entries than this; bigger arrays are hostile, not a batch. */
export const MAX_ENTRIES_PER_MESSAGE = 100_000;
/** A configuration naming more replicas than this is not one of ours. */
export const MAX_CONFIG_MEMBERS = 64;
/** Strings in drop details are cut to this many characters: enough to recognize, too short to flood a log. */
const DESCRIBED_STRING_CHARS = 40;

/** A valid message, or why the value is not one (a path and a reason, for the drop log). */
export type Validated = { readonly ok: true; readonly message: Message } | { readonly ok: false; readonly detail: string };

/**
 * Thrown inside the validator only, to leave a nested check at once with its
 * reason; never escapes `validateMessage`.
 */
class Invalid {
  constructor(readonly detail: string) {}
}

/** Checks `value` against the peer-message contract (actors/raft/types.ts). Never throws. */
export function validateMessage(value: unknown): Validated {
  try {
    return { ok: true, message: message(value) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, detail: err.detail };
    throw err;
  }
}

function message(v: unknown): Message {
  const o = object(v, 'message');
  const m = body(o);
  // Optional: like zod's output, the key is there exactly when it was sent (msgpack cannot send undefined).
  if ('dataId' in o) (m as { dataId?: DataId | undefined }).dataId = o.dataId === undefined ? undefined : dataId(o.dataId, 'dataId');
  return m;
}

function body(o: Record<string, unknown>): Message {
  const from = replicaId(o.from, 'from');
  const to = replicaId(o.to, 'to');
  const term = natural(o.term, 'term');
  switch (o.type) {
    case 'RequestVote':
      return {
        type: 'RequestVote',
        from,
        to,
        term,
        lastLogIndex: natural(o.lastLogIndex, 'lastLogIndex'),
        lastLogTerm: natural(o.lastLogTerm, 'lastLogTerm'),
        preVote: boolean(o.preVote, 'preVote'),
        transfer: boolean(o.transfer, 'transfer'),
      };
    case 'RequestVoteResponse':
      return { type: 'RequestVoteResponse', from, to, term, preVote: boolean(o.preVote, 'preVote'), granted: boolean(o.granted, 'granted') };
    case 'AppendEntries':
      return appendEntries(o, from, to, term);
    case 'AppendEntriesResponse':
      return {
        type: 'AppendEntriesResponse',
        from,
        to,
        term,
        success: boolean(o.success, 'success'),
        matchIndex: natural(o.matchIndex, 'matchIndex'),
        conflictTerm: natural(o.conflictTerm, 'conflictTerm'),
        conflictIndex: natural(o.conflictIndex, 'conflictIndex'),
        round: natural(o.round, 'round'),
      };
    case 'InstallSnapshot':
      return { type: 'InstallSnapshot', from, to, term, snapshot: snapshotMeta(o.snapshot, 'snapshot') };
    case 'InstallSnapshotResponse':
      return { type: 'InstallSnapshotResponse', from, to, term, matchIndex: natural(o.matchIndex, 'matchIndex'), success: boolean(o.success, 'success') };
    case 'TimeoutNow':
      return { type: 'TimeoutNow', from, to, term };
    default:
      throw new Invalid(`type: not a peer message type (${describe(o.type)})`);
  }
}

/** Raft §5.3: entries follow prevLogIndex contiguously; no entry is newer than its leader's term, and terms never decrease along a log. */
function appendEntries(o: Record<string, unknown>, from: string, to: string, term: number): Message {
  const prevLogIndex = natural(o.prevLogIndex, 'prevLogIndex');
  const prevLogTerm = natural(o.prevLogTerm, 'prevLogTerm');
  const leaderCommit = natural(o.leaderCommit, 'leaderCommit');
  const round = natural(o.round, 'round');
  const raw = o.entries;
  if (!Array.isArray(raw)) throw new Invalid(`entries: expected an array, got ${describe(raw)}`);
  if (raw.length > MAX_ENTRIES_PER_MESSAGE) throw new Invalid(`entries: more than ${MAX_ENTRIES_PER_MESSAGE}`);
  const entries: Entry[] = new Array<Entry>(raw.length);
  for (let i = 0; i < raw.length; i += 1) entries[i] = entry(raw[i], i);
  if (prevLogTerm > term) throw new Invalid('prevLogTerm: newer than the message term');
  let prevTerm = prevLogTerm;
  for (let i = 0; i < entries.length; i += 1) {
    const e = entries[i]!;
    if (e.index !== prevLogIndex + 1 + i) throw new Invalid(`entries.${i}.index: ${e.index} is not contiguous after ${prevLogIndex + i}`);
    if (e.term > term || e.term < prevTerm) throw new Invalid(`entries.${i}.term: ${e.term} is out of order (previous ${prevTerm}, message ${term})`);
    prevTerm = e.term;
  }
  return { type: 'AppendEntries', from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, round };
}

function entry(v: unknown, i: number): Entry {
  const o = object(v, `entries.${i}`);
  const index = positive(o.index, `entries.${i}.index`);
  const term = positive(o.term, `entries.${i}.term`);
  switch (o.kind) {
    case 'noop':
      return { index, term, kind: 'noop' };
    case 'command': {
      const data = o.data;
      if (!(data instanceof Uint8Array)) throw new Invalid(`entries.${i}.data: expected bytes, got ${describe(data)}`);
      // Copied out of the receive buffer: the core may keep entry data long after the NATS message is gone.
      return { index, term, kind: 'command', data: new Uint8Array(data) };
    }
    case 'config':
      return { index, term, kind: 'config', config: configuration(o.config, `entries.${i}.config`) };
    default:
      throw new Invalid(`entries.${i}.kind: not an entry kind (${describe(o.kind)})`);
  }
}

function snapshotMeta(v: unknown, path: string): SnapshotMeta {
  const o = object(v, path);
  return { index: natural(o.index, `${path}.index`), term: natural(o.term, `${path}.term`), config: configuration(o.config, `${path}.config`) };
}

function configuration(v: unknown, path: string): Configuration {
  const o = object(v, path);
  const voters = replicaIds(o.voters, `${path}.voters`);
  const learners = replicaIds(o.learners, `${path}.learners`);
  if (new Set([...voters, ...learners]).size !== voters.length + learners.length) throw new Invalid(`${path}: a replica is listed twice in a configuration`);
  if (!('dataIds' in o)) return { voters, learners };
  if (o.dataIds === undefined) return { voters, learners, dataIds: undefined };
  return { voters, learners, dataIds: dataIds(o.dataIds, `${path}.dataIds`, new Set([...voters, ...learners])) };
}

/** Recorded data identities (actors/raft/identity.ts): only of members, one each. */
function dataIds(v: unknown, path: string, members: ReadonlySet<string>): Record<string, DataId> {
  const o = object(v, path);
  const pairs = Object.keys(o).map((key): [string, DataId] => {
    if (!members.has(key)) throw new Invalid(`${path}: ${describe(key)} is not a member of the configuration`);
    return [key, dataId(o[key], `${path}.${key}`)];
  });
  // fromEntries defines own properties, so even a replica named __proto__ is a plain key.
  return Object.fromEntries(pairs);
}

function dataId(v: unknown, path: string): DataId {
  if (typeof v !== 'string' || !DATA_ID_PATTERN.test(v)) throw new Invalid(`${path}: not a data identity (16 hex digits), got ${describe(v)}`);
  return v;
}

function replicaIds(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new Invalid(`${path}: expected an array, got ${describe(v)}`);
  if (v.length > MAX_CONFIG_MEMBERS) throw new Invalid(`${path}: more than ${MAX_CONFIG_MEMBERS} replicas`);
  const ids = new Array<string>(v.length);
  for (let i = 0; i < v.length; i += 1) ids[i] = replicaId(v[i], `${path}.${i}`);
  return ids;
}

// ---- leaves ----

/** An object that is not an array (what zod's z.object accepts); its keys are read like zod reads them. */
function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Invalid(`${path}: expected an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** Terms and indices: non-negative safe integers (actors/raft/types.ts). */
function natural(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Invalid(`${path}: expected a non-negative safe integer, got ${describe(v)}`);
  return v;
}

/** Entry indices and terms start at 1 (index 0 and term 0 belong to the empty log's sentinel). */
function positive(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new Invalid(`${path}: expected a positive safe integer, got ${describe(v)}`);
  return v;
}

function boolean(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new Invalid(`${path}: expected a boolean, got ${describe(v)}`);
  return v;
}

/** A replica id is one NATS subject token (actors/protocol/replica-id.ts). */
function replicaId(v: unknown, path: string): string {
  if (typeof v !== 'string' || !REPLICA_ID_PATTERN.test(v)) throw new Invalid(`${path}: not a replica id (1 to 64 characters of A-Z a-z 0-9 _ -), got ${describe(v)}`);
  return v;
}

/** A short, bounded description of a bad value for the drop log (never the whole value). */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return JSON.stringify(v.length > DESCRIBED_STRING_CHARS ? `${v.slice(0, DESCRIBED_STRING_CHARS)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}
