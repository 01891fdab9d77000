/**
 * Frames of the snapshot stream, MessagePack over request/reply on
 * `<prefix>.raft.<to>.snapshot`: `begin`, then `chunk`s (each with its own
 * sha256), then `end` (with the whole file's sha256); `abort` from either
 * side's failure. Every frame is acknowledged by a reply.
 */
import { encode } from '@msgpack/msgpack';
import { z } from 'zod';
import type { ReplicaId, SnapshotMeta, Term } from '../raft/types.ts';
import { ReplicaIdSchema } from '../protocol/index.ts';
import { SnapshotMetaSchema } from './codec.ts';

/** Stream ids: 32 hex characters (128 random bits). */
export const STREAM_ID_PATTERN = /^[0-9a-f]{32}$/;
const StreamId = z.string().regex(STREAM_ID_PATTERN);
const Natural = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const Sha256 = z.instanceof(Uint8Array).refine((b) => b.length === 32, 'a sha256 is 32 bytes');

export const SnapshotFrameSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('begin'), stream: StreamId, from: ReplicaIdSchema, to: ReplicaIdSchema, term: Natural, meta: SnapshotMetaSchema }),
  z.object({ op: z.literal('chunk'), stream: StreamId, seq: Natural, data: z.instanceof(Uint8Array), sha256: Sha256 }),
  z.object({ op: z.literal('end'), stream: StreamId, chunks: Natural, bytes: Natural, sha256: Sha256 }),
  z.object({ op: z.literal('abort'), stream: StreamId, reason: z.string().max(1_000) }),
]);
export type SnapshotFrame = z.output<typeof SnapshotFrameSchema>;

/**
 * The receiver's answer. `fatal: false` means "try this frame again later"
 * (e.g. the receiver is busy); `fatal: true` means the stream is over.
 */
export const SnapshotReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string(), fatal: z.boolean() }),
]);
export type SnapshotReply = z.output<typeof SnapshotReplySchema>;

/** What a sender puts on the wire (the schema above is what a receiver accepts). */
export type OutgoingFrame =
  | { readonly op: 'begin'; readonly stream: string; readonly from: ReplicaId; readonly to: ReplicaId; readonly term: Term; readonly meta: SnapshotMeta }
  | { readonly op: 'chunk'; readonly stream: string; readonly seq: number; readonly data: Uint8Array; readonly sha256: Uint8Array }
  | { readonly op: 'end'; readonly stream: string; readonly chunks: number; readonly bytes: number; readonly sha256: Uint8Array }
  | { readonly op: 'abort'; readonly stream: string; readonly reason: string };

export function encodeFrame(frame: OutgoingFrame): Uint8Array {
  return encode(frame);
}

export function encodeReply(reply: SnapshotReply): Uint8Array {
  return encode(reply);
}
