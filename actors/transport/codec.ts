/**
 * MessagePack encoding of Raft messages, and the validation every incoming
 * message passes before it may reach the core: shape, types, integer ranges,
 * log invariants, and bounded decoding (a length header cannot make us allocate).
 *
 * On the hot path the check is the hand-written `validateMessage`
 * (message-validator.ts); `MessageSchema` below is its reference, kept for
 * the property test that both agree and for the compile-time check against
 * the core's contract.
 */
import { Decoder, encode } from '@msgpack/msgpack';
import { Packer } from '../util/packer.ts';
import { z } from 'zod';
import type { Message } from '../raft/types.ts';
import { ReplicaIdSchema } from '../protocol/index.ts';
import { DATA_ID_PATTERN } from '../raft/identity.ts';
import { MAX_CONFIG_MEMBERS, MAX_ENTRIES_PER_MESSAGE, validateMessage } from './message-validator.ts';

export { MAX_CONFIG_MEMBERS, MAX_ENTRIES_PER_MESSAGE } from './message-validator.ts';
/** A map with more keys than this is not one of our messages (the widest has 9 fields). */
const MAX_MAP_KEYS = 64;

/** Encodes a message for the wire, for callers that encode now and then (an encoder of its own each call). */
export function encodeMessage(message: Message): Uint8Array {
  return encode(message);
}

/** Encodes messages for the wire with one reused encoder (util/packer.ts): a transport owns one. */
export class MessageEncoder {
  readonly #packer = new Packer();

  encode(message: Message): Uint8Array {
    return this.#packer.pack(message);
  }
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: 'undecodable' | 'invalid'; readonly detail: string };

/** Decodes and validates peer messages; one per transport (the decoder keeps a key cache). */
export class MessageDecoder {
  readonly #decoder: Decoder;

  constructor(maxMessageBytes: number) {
    this.#decoder = boundedDecoder(maxMessageBytes);
  }

  /** Never throws: anything but a valid message comes back as a reason. */
  decode(bytes: Uint8Array): Decoded<Message> {
    let value: unknown;
    try {
      value = this.#decoder.decode(bytes);
    } catch (err) {
      return { ok: false, reason: 'undecodable', detail: (err as Error).message };
    }
    const validated = validateMessage(value);
    if (!validated.ok) return { ok: false, reason: 'invalid', detail: validated.detail };
    return { ok: true, value: validated.message };
  }

  /** Decodes without a schema (for the snapshot frames, which have their own). */
  decodeRaw(bytes: Uint8Array): Decoded<unknown> {
    try {
      return { ok: true, value: this.#decoder.decode(bytes) };
    } catch (err) {
      return { ok: false, reason: 'undecodable', detail: (err as Error).message };
    }
  }
}

/** A decoder whose every length is capped by the message size, so headers cannot claim huge allocations. */
function boundedDecoder(maxBytes: number): Decoder {
  return new Decoder({
    maxStrLength: maxBytes,
    maxBinLength: maxBytes,
    maxArrayLength: Math.min(maxBytes, MAX_ENTRIES_PER_MESSAGE),
    maxMapLength: MAX_MAP_KEYS,
    maxExtLength: 0,
  });
}

// ---- schemas (mirror actors/raft/types.ts) ----

/** Terms and indices: non-negative safe integers (actors/raft/types.ts). */
const Natural = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Copies out of the receive buffer: the core may keep entry data long after the NATS message is gone. */
const OwnedBytes = z.instanceof(Uint8Array).transform((b) => new Uint8Array(b));

const DataIdSchema = z.string().regex(DATA_ID_PATTERN);

const ConfigurationSchema = z
  .object({
    voters: z.array(ReplicaIdSchema).max(MAX_CONFIG_MEMBERS),
    learners: z.array(ReplicaIdSchema).max(MAX_CONFIG_MEMBERS),
    dataIds: z.record(z.string(), DataIdSchema).optional(),
  })
  .refine((c) => new Set([...c.voters, ...c.learners]).size === c.voters.length + c.learners.length, 'a replica is listed twice in a configuration')
  .refine((c) => Object.keys(c.dataIds ?? {}).every((id) => c.voters.includes(id) || c.learners.includes(id)), 'a data identity is recorded for a replica that is not a member');

const EntrySchema = z.discriminatedUnion('kind', [
  z.object({ index: Natural.min(1), term: Natural.min(1), kind: z.literal('noop') }),
  z.object({ index: Natural.min(1), term: Natural.min(1), kind: z.literal('command'), data: OwnedBytes }),
  z.object({ index: Natural.min(1), term: Natural.min(1), kind: z.literal('config'), config: ConfigurationSchema }),
]);

export const SnapshotMetaSchema = z.object({ index: Natural, term: Natural, config: ConfigurationSchema });

const envelope = { from: ReplicaIdSchema, to: ReplicaIdSchema, term: Natural, dataId: DataIdSchema.optional() };

const AppendEntriesSchema = z
  .object({
    ...envelope,
    type: z.literal('AppendEntries'),
    prevLogIndex: Natural,
    prevLogTerm: Natural,
    entries: z.array(EntrySchema).max(MAX_ENTRIES_PER_MESSAGE),
    leaderCommit: Natural,
    round: Natural,
  })
  // Raft §5.3: entries follow prevLogIndex contiguously; no entry is newer than its leader's term, and terms never decrease along a log.
  .superRefine((m, ctx) => {
    if (m.prevLogTerm > m.term) ctx.addIssue({ code: 'custom', path: ['prevLogTerm'], message: 'prevLogTerm is newer than the message term' });
    let prevTerm = m.prevLogTerm;
    for (const [i, e] of m.entries.entries()) {
      if (e.index !== m.prevLogIndex + 1 + i) {
        ctx.addIssue({ code: 'custom', path: ['entries', i, 'index'], message: `entry index ${e.index} is not contiguous after ${m.prevLogIndex + i}` });
        return;
      }
      if (e.term > m.term || e.term < prevTerm) {
        ctx.addIssue({ code: 'custom', path: ['entries', i, 'term'], message: `entry term ${e.term} is out of order (previous ${prevTerm}, message ${m.term})` });
        return;
      }
      prevTerm = e.term;
    }
  });

export const MessageSchema = z.discriminatedUnion('type', [
  z.object({ ...envelope, type: z.literal('RequestVote'), lastLogIndex: Natural, lastLogTerm: Natural, preVote: z.boolean(), transfer: z.boolean() }),
  z.object({ ...envelope, type: z.literal('RequestVoteResponse'), preVote: z.boolean(), granted: z.boolean() }),
  AppendEntriesSchema,
  z.object({
    ...envelope,
    type: z.literal('AppendEntriesResponse'),
    success: z.boolean(),
    matchIndex: Natural,
    conflictTerm: Natural,
    conflictIndex: Natural,
    round: Natural,
  }),
  z.object({ ...envelope, type: z.literal('InstallSnapshot'), snapshot: SnapshotMetaSchema }),
  z.object({ ...envelope, type: z.literal('InstallSnapshotResponse'), matchIndex: Natural, success: z.boolean() }),
  z.object({ ...envelope, type: z.literal('TimeoutNow') }),
]);

// The schema's output must be a `Message`: this line fails to compile if they drift apart.
export const schemaMatchesContract: (m: z.output<typeof MessageSchema>) => Message = (m) => m;
