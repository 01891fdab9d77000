/**
 * Live-delivery frames (docs/protocol.md §2.2): one JSON object per NATS
 * message on `<prefix>.live.<sessionKey>`. Clients ignore frame types they do
 * not know, which is how this set grows compatibly.
 */
import { z } from 'zod';
import { MessageId, Username } from './fields.ts';
import { ChatMessage } from './replies.ts';
import { SealError, type Opener, type SealedEnvelope } from './seal.ts';

const MessageFrame = z.object({ type: z.literal('message'), message: ChatMessage });
/** `by` marked read every message `with` sent it with id ≤ upToId. */
export const ReadFrame = z.object({ type: z.literal('read'), by: Username, with: Username, upToId: MessageId });
/** These messages of the conversation with `with` left this account's view. */
export const DeletedFrame = z.object({ type: z.literal('deleted'), with: Username, ids: z.array(MessageId) });
/** This session ended (logout or account deleted). */
const RevokedFrame = z.object({ type: z.literal('revoked') });

export const LiveFrame = z.discriminatedUnion('type', [MessageFrame, ReadFrame, DeletedFrame, RevokedFrame]);
export type LiveFrame = z.infer<typeof LiveFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;
export type DeletedFrame = z.infer<typeof DeletedFrame>;

/** Frame types this version knows (read off the union, so the two cannot drift); others are ignored, not errors. */
const KNOWN_FRAME_TYPES: ReadonlySet<string> = new Set(LiveFrame.options.map((frame) => frame.shape.type.value));

/** A frame's bytes on the wire: the UTF-8 JSON a replica publishes (used by fakes and tests that play the replica). */
export function encodeLiveFrame(frame: LiveFrame): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(frame));
}

/**
 * docs/protocol.md §2.5: a frame for a session that logged in with `liveKey`, the clear frame
 * sealed inside (purpose `live`, associated data the live subject). Clients that do not know
 * the type ignore it (§2.2), so this is the whole compatibility story.
 */
export const SEALED_FRAME_TYPE = 'sealed';
export type SealedFrame = { readonly type: typeof SEALED_FRAME_TYPE } & SealedEnvelope;

export function sealedFrame(envelope: SealedEnvelope): SealedFrame {
  return { type: SEALED_FRAME_TYPE, ...envelope };
}

/** How a sealed session opens its frames: its key, and the subject it listens on. */
export interface FrameUnsealing {
  readonly opener: Opener;
  readonly subject: string;
}

export type DecodedFrame =
  | { readonly kind: 'frame'; readonly frame: LiveFrame }
  | { readonly kind: 'unknown'; readonly type: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/**
 * Decodes one frame without throwing: unknown types are reported, not failed. With
 * `unsealing` (a session that sent `liveKey`), a sealed frame is opened and the frame inside
 * decoded; a clear frame is refused as malformed (no silent downgrade: a replica that knows
 * the session's key never publishes one in the clear), and so is one that does not open.
 */
export function decodeLiveFrame(bytes: Uint8Array, unsealing?: FrameUnsealing): DecodedFrame {
  const value = parseFrameJson(bytes);
  if ('kind' in value) return value;
  if (unsealing === undefined) return decodeFrameValue(value.json);
  if ((value.json as { type: string }).type !== SEALED_FRAME_TYPE) {
    return { kind: 'malformed', reason: 'a clear frame on a sealed session: refused (only a replica older than sealing sends one)' };
  }
  const opened = unsealing.opener.open(value.json, 'live', unsealing.subject);
  if (opened instanceof SealError) return { kind: 'malformed', reason: opened.message };
  const inner = parseFrameJson(opened);
  if ('kind' in inner) return inner;
  if ((inner.json as { type: string }).type === SEALED_FRAME_TYPE) return { kind: 'malformed', reason: 'a sealed frame inside a sealed frame' };
  return decodeFrameValue(inner.json);
}

function parseFrameJson(bytes: Uint8Array): { readonly json: unknown } | { readonly kind: 'malformed'; readonly reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { kind: 'malformed', reason: `not UTF-8 JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    return { kind: 'malformed', reason: 'not an object with a string "type"' };
  }
  return { json: value };
}

function decodeFrameValue(value: unknown): DecodedFrame {
  const type = (value as { type: string }).type;
  if (!KNOWN_FRAME_TYPES.has(type)) return { kind: 'unknown', type };
  const parsed = LiveFrame.safeParse(value);
  if (!parsed.success) return { kind: 'malformed', reason: z.prettifyError(parsed.error) };
  return { kind: 'frame', frame: parsed.data };
}
