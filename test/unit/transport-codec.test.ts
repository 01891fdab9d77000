import test from 'ava';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import type { Entry, Message } from '../../actors/raft/types.ts';
import { encodeMessage, MessageDecoder, MessageEncoder, MessageSchema, MAX_CONFIG_MEMBERS, MAX_ENTRIES_PER_MESSAGE } from '../../actors/transport/codec.ts';
import { validateMessage } from '../../actors/transport/message-validator.ts';
import { RateLimitedLog } from '../../actors/transport/rate-limited-log.ts';

const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const nat = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const dataId = fc.stringMatching(/^[0-9a-f]{16}$/);
const config = fc.uniqueArray(id, { minLength: 1, maxLength: 6 }).chain((ids) =>
  fc
    .record({ split: fc.integer({ min: 0, max: ids.length - 1 }), recorded: fc.option(fc.subarray(ids), { nil: undefined }), dataIds: fc.array(dataId, { minLength: ids.length, maxLength: ids.length }) })
    .map(({ split, recorded, dataIds }) => {
      const roles = { voters: ids.slice(0, split + 1), learners: ids.slice(split + 1) };
      // Configurations older than data identities carry none; newer ones record some or all members.
      return recorded === undefined ? roles : { ...roles, dataIds: Object.fromEntries(recorded.map((member) => [member, dataIds[ids.indexOf(member)]!])) };
    }),
);

/** AppendEntries whose entries respect the log invariants the decoder checks. */
const appendEntries = fc
  .record({ from: id, to: id, prevLogIndex: fc.nat({ max: 1e9 }), leaderCommit: nat, round: nat, termSteps: fc.array(fc.nat({ max: 3 }), { maxLength: 8 }), kinds: fc.array(fc.oneof(fc.constant('noop' as const), fc.uint8Array({ maxLength: 64 }), config), { maxLength: 8 }), base: fc.nat({ max: 1e6 }) })
  .map((r): Message => {
    let term = r.base;
    const entries: Entry[] = r.kinds.map((k, i) => {
      term += r.termSteps[i] ?? 0;
      const index = r.prevLogIndex + 1 + i;
      const t = Math.max(term, 1);
      if (k === 'noop') return { index, term: t, kind: 'noop' };
      if (k instanceof Uint8Array) return { index, term: t, kind: 'command', data: k };
      return { index, term: t, kind: 'config', config: k };
    });
    const maxTerm = Math.max(r.base, ...entries.map((e) => e.term));
    return { type: 'AppendEntries', from: r.from, to: r.to, term: maxTerm + 1, prevLogIndex: r.prevLogIndex, prevLogTerm: r.base, entries, leaderCommit: r.leaderCommit, round: r.round };
  });

const bareMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('RequestVote' as const), from: id, to: id, term: nat, lastLogIndex: nat, lastLogTerm: nat, preVote: fc.boolean(), transfer: fc.boolean() }),
  fc.record({ type: fc.constant('RequestVoteResponse' as const), from: id, to: id, term: nat, preVote: fc.boolean(), granted: fc.boolean() }),
  appendEntries,
  fc.record({ type: fc.constant('AppendEntriesResponse' as const), from: id, to: id, term: nat, success: fc.boolean(), matchIndex: nat, conflictTerm: nat, conflictIndex: nat, round: nat }),
  fc.record({ type: fc.constant('InstallSnapshot' as const), from: id, to: id, term: nat, snapshot: fc.record({ index: nat, term: nat, config }) }),
  fc.record({ type: fc.constant('InstallSnapshotResponse' as const), from: id, to: id, term: nat, matchIndex: nat, success: fc.boolean() }),
  fc.record({ type: fc.constant('TimeoutNow' as const), from: id, to: id, term: nat }),
);

/** A sender names its data identity, or (a bare core, an older build) does not. */
const message: fc.Arbitrary<Message> = fc.tuple(bareMessage, fc.option(dataId, { nil: undefined })).map(([m, sender]) => (sender === undefined ? m : { ...m, dataId: sender }));

test('every valid message decodes to itself', (t) => {
  const decoder = new MessageDecoder(1024 * 1024);
  fc.assert(
    fc.property(message, (m) => {
      const decoded = decoder.decode(encodeMessage(m));
      t.true(decoded.ok, decoded.ok ? '' : decoded.detail);
      t.deepEqual(decoded.ok ? decoded.value : null, m);
    }),
    { numRuns: 300 },
  );
});

test('a reused MessageEncoder (one per transport) writes every message as encodeMessage does', (t) => {
  const encoder = new MessageEncoder();
  const decoder = new MessageDecoder(1024 * 1024);
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encoder.encode(m);
      t.deepEqual(Buffer.from(bytes), Buffer.from(encodeMessage(m)));
      const decoded = decoder.decode(bytes);
      t.deepEqual(decoded.ok ? decoded.value : null, m);
    }),
    { numRuns: 300 },
  );
});

test('arbitrary bytes and arbitrary msgpack values never throw, and never pass as a message by accident', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const r = decoder.decode(bytes);
      if (r.ok) t.fail(`random bytes decoded as ${JSON.stringify(r.value)}`);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.anything(), (value) => {
      let bytes: Uint8Array;
      try {
        bytes = encode(value);
      } catch {
        return; // not encodable: not a case
      }
      t.notThrows(() => decoder.decode(bytes));
    }),
    { numRuns: 500 },
  );
});

test('mutating one field of a valid message out of range is caught', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  const base = { type: 'AppendEntriesResponse', from: 'r1', to: 'r2', term: 3, success: true, matchIndex: 4, conflictTerm: 0, conflictIndex: 0, round: 1 };
  const bad: Record<string, unknown>[] = [
    { term: -1 }, { term: 1.5 }, { term: '3' }, { matchIndex: Number.MAX_SAFE_INTEGER + 2 }, { success: 1 },
    { from: '' }, { from: 'a b' }, { to: 'x'.repeat(65) }, { type: 'appendentriesresponse' }, { round: null },
  ];
  for (const change of bad) {
    const r = decoder.decode(encode({ ...base, ...change }));
    t.false(r.ok, JSON.stringify(change));
  }
  t.true(decoder.decode(encode(base)).ok);
  const tooMany = { type: 'AppendEntries', from: 'r1', to: 'r2', term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, entries: Array.from({ length: MAX_ENTRIES_PER_MESSAGE + 1 }, (_, i) => ({ index: i + 1, term: 1, kind: 'noop' })) };
  t.false(new MessageDecoder(16 * 1024 * 1024).decode(encode(tooMany)).ok);
  const dupConfig = { type: 'InstallSnapshot', from: 'r1', to: 'r2', term: 1, snapshot: { index: 1, term: 1, config: { voters: ['r1'], learners: ['r1'] } } };
  t.false(decoder.decode(encode(dupConfig)).ok);
});

// ---- the hand-written validator against its reference, the zod schema ----

/** Values a hostile or buggy peer might put anywhere: edges of every check the schema makes. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Infinity, -Infinity, NaN, null, undefined, true, false),
  fc.constantFrom('', 'r1', 'a b', 'r.1', '*', 'x'.repeat(64), 'x'.repeat(65), 'noop', 'command', 'config', 'AppendEntries', 'TimeoutNow', '0123456789abcdef', '0123456789ABCDEF', '0123456789abcde'),
  fc.constantFrom([], {}, [1], { voters: [], learners: [] }, { voters: ['r1'], learners: ['r1'] }, new Uint8Array([1, 2])),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(id, { maxLength: MAX_CONFIG_MEMBERS + 2 }),
  // Distinct ids at and just over the configuration size limit.
  fc.constantFrom(MAX_CONFIG_MEMBERS, MAX_CONFIG_MEMBERS + 1).map((n) => Array.from({ length: n }, (_, i) => `member-${i}`)),
);

type Path = readonly (string | number)[];

/** Every path into a message's plain objects and arrays (not into bytes). */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => [[...prefix, k], ...pathsOf((value as Record<string | number, unknown>)[k], [...prefix, k])]);
}

/** A deep copy with one change at `path`: replaced, deleted, or (in an array) an element dropped or repeated. */
function mutateAt(value: unknown, path: Path, change: { kind: 'set'; to: unknown } | { kind: 'delete' } | { kind: 'repeat' }): unknown {
  const copy: unknown = structuredClone(value);
  let parent = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (change.kind === 'set') parent[last] = change.to;
  else if (Array.isArray(parent)) {
    if (change.kind === 'delete') parent.splice(Number(last), 1);
    else parent.splice(Number(last), 0, structuredClone(parent[Number(last)]));
  } else if (change.kind === 'delete') delete parent[last];
  else parent[`${String(last)}Extra`] = parent[last];
  return copy;
}

type Change = { kind: 'set'; to: unknown } | { kind: 'nudge'; by: number } | { kind: 'delete' } | { kind: 'repeat' };

const change: fc.Arbitrary<Change> = fc.oneof(
  oddValue.map((to) => ({ kind: 'set' as const, to })),
  // A number one or two off, or zeroed: where the range, order and contiguity checks have their edges.
  { arbitrary: fc.constantFrom(-2, -1, 1, 2, 0).map((by) => ({ kind: 'nudge' as const, by })), weight: 3 },
  fc.constant({ kind: 'delete' as const }),
  fc.constant({ kind: 'repeat' as const }),
);

/** `mutateAt`, with a nudge applied to numbers only (elsewhere it is no change). */
function applyChange(value: unknown, path: Path, c: Change): unknown {
  if (c.kind !== 'nudge') return mutateAt(value, path, c);
  let at = value as Record<string | number, unknown>;
  for (const k of path) at = at[k] as Record<string | number, unknown>;
  const n: unknown = at;
  if (typeof n !== 'number') return value;
  return mutateAt(value, path, { kind: 'set', to: c.by === 0 ? 0 : n + c.by });
}

/** AppendEntries near every edge: small numbers, entry terms up to and equal to the message term. */
const tightAppend = fc
  .record({ prev: fc.nat({ max: 3 }), prevTerm: fc.nat({ max: 3 }), steps: fc.array(fc.nat({ max: 1 }), { maxLength: 4 }), over: fc.nat({ max: 1 }), commit: fc.nat({ max: 3 }), round: fc.nat({ max: 2 }) })
  .map((r): Message => {
    let term = Math.max(r.prevTerm, 1);
    const entries: Entry[] = r.steps.map((step, i) => {
      term += step;
      return { index: r.prev + 1 + i, term, kind: 'noop' };
    });
    return { type: 'AppendEntries', from: 'r1', to: 'r2', term: term + r.over, prevLogIndex: r.prev, prevLogTerm: r.prevTerm, entries, leaderCommit: r.commit, round: r.round };
  });

/** Valid messages, and valid messages with one to three mutations each. */
const valid = fc.oneof(message, tightAppend);
const candidate: fc.Arbitrary<unknown> = fc.oneof(
  valid,
  {
    weight: 3,
    arbitrary: fc.tuple(valid, fc.array(fc.tuple(fc.nat(), change), { minLength: 1, maxLength: 3 })).map(([m, changes]) => {
      let v: unknown = m;
      for (const [pick, c] of changes) {
        const paths = pathsOf(v);
        if (paths.length > 0) v = applyChange(v, paths[pick % paths.length]!, c);
      }
      return v;
    }),
  },
);

function sameVerdict(t: import('ava').ExecutionContext, value: unknown, verdicts?: { accepted: number; refused: number }): void {
  const reference = MessageSchema.safeParse(value);
  const fast = validateMessage(value);
  t.is(fast.ok, reference.success, `${JSON.stringify(value, (_, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x))}: zod ${reference.success ? 'accepts' : 'refuses'}`);
  if (fast.ok && reference.success) t.deepEqual(fast.message, reference.data);
  if (verdicts) verdicts[reference.success ? 'accepted' : 'refused'] += 1;
}

test('the hand-written validator accepts and refuses exactly what the zod schema does, with the same result', (t) => {
  const verdicts = { accepted: 0, refused: 0 };
  fc.assert(
    fc.property(candidate, (value) => {
      sameVerdict(t, value, verdicts);
      // What really reaches it: the value after a MessagePack round trip (no undefined, bytes as Uint8Array views).
      let wire: unknown;
      try {
        wire = new MessageDecoder(1024 * 1024).decodeRaw(encode(value));
      } catch {
        return;
      }
      const raw = wire as { ok: boolean; value?: unknown };
      if (raw.ok) sameVerdict(t, raw.value);
    }),
    { numRuns: 5000 },
  );
  // Both sides were exercised, not only one.
  t.true(verdicts.accepted > 1000 && verdicts.refused > 1000, JSON.stringify(verdicts));
  fc.assert(fc.property(fc.anything({ withTypedArray: true }), (value) => sameVerdict(t, value)), { numRuns: 500 });
});

test('the validator copies command bytes and drops unknown fields, like the schema', (t) => {
  const data = new Uint8Array([1, 2, 3]);
  const m = { type: 'AppendEntries', from: 'r1', to: 'r2', term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, extra: 'x', entries: [{ index: 1, term: 1, kind: 'command', data, more: 1 }] };
  const r = validateMessage(m);
  t.true(r.ok);
  if (!r.ok || r.message.type !== 'AppendEntries') return;
  t.false('extra' in r.message);
  const e = r.message.entries[0]!;
  t.false('more' in e);
  t.not(e.kind === 'command' ? e.data : null, data);
  t.deepEqual(e.kind === 'command' ? [...e.data] : null, [1, 2, 3]);
  const bad = validateMessage({ ...m, entries: [{ index: 2, term: 1, kind: 'noop' }] });
  t.deepEqual(bad, { ok: false, detail: 'entries.0.index: 2 is not contiguous after 0' });
  // The entry-count limit holds even for a value that did not come through the bounded decoder.
  for (const n of [MAX_ENTRIES_PER_MESSAGE, MAX_ENTRIES_PER_MESSAGE + 1]) {
    const big = { ...m, entries: Array.from({ length: n }, (_, i) => ({ index: i + 1, term: 1, kind: 'noop' })) };
    t.is(validateMessage(big).ok, n === MAX_ENTRIES_PER_MESSAGE, `${n} entries`);
    t.is(MessageSchema.safeParse(big).success, n === MAX_ENTRIES_PER_MESSAGE, `${n} entries (zod)`);
  }
});

test('received command bytes are copied out of the receive buffer', (t) => {
  const decoder = new MessageDecoder(64 * 1024);
  const wire = encodeMessage({ type: 'AppendEntries', from: 'r1', to: 'r2', term: 1, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, round: 0, entries: [{ index: 1, term: 1, kind: 'command', data: new Uint8Array([1, 2, 3]) }] });
  const r = decoder.decode(wire);
  wire.fill(0);
  t.true(r.ok);
  const entry = r.ok && r.value.type === 'AppendEntries' ? r.value.entries[0] : undefined;
  t.deepEqual(entry?.kind === 'command' ? [...entry.data] : null, [1, 2, 3]);
});

test('the drop log writes one line per kind per interval and counts the rest', (t) => {
  const lines: object[] = [];
  let now = 0;
  const log = new RateLimitedLog({ info: () => undefined, error: () => undefined, warn: (obj) => lines.push(obj) }, 1_000, () => now);
  t.true(log.warn('invalid', { n: 1 }, 'dropped'));
  t.false(log.warn('invalid', { n: 2 }, 'dropped'));
  t.false(log.warn('invalid', { n: 3 }, 'dropped'));
  t.true(log.warn('oversized', { n: 4 }, 'dropped'), 'other kinds are not held back');
  now = 1_000;
  t.true(log.warn('invalid', { n: 5 }, 'dropped'));
  t.deepEqual(lines, [{ n: 1 }, { n: 4 }, { n: 5, suppressedSinceLast: 2 }]);
});
