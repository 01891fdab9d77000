/**
 * The per-replica status reply (`<prefix>.replica.<id>.status`): the fields
 * PROTOCOL.md fixes, and the runtime's compatible extras (docs/replica.md,
 * "Status") that the operator tools read. Declared once: the replica builds
 * it, the client, the wipe check and the CLI parse it.
 */
import { z } from 'zod';
import { RoleName } from './replies.ts';

/** docs/replica.md: a replica's `health`. */
export type Health = 'ok' | 'catching-up' | 'no-leader' | 'disconnected';

/** Leader only: one peer's replication progress; `lastContactMs` is how long ago, null if never in this term. */
export const PeerProgress = z.looseObject({
  matchIndex: z.int().min(0),
  nextIndex: z.int().min(0),
  lastContactMs: z.number().min(0).nullable(),
});
export type PeerProgress = z.infer<typeof PeerProgress>;

/** PROTOCOL.md "Per-replica status", without `ok`: the fields every replica sends. */
const ProtocolStatus = z.object({
  id: z.string(),
  role: RoleName,
  term: z.int().min(0),
  leader: z.string().nullable(),
  commitIndex: z.int().min(0),
  appliedIndex: z.int().min(0),
  /** Hex of the running SHA-256 chain over the applied entries. */
  digest: z.string(),
  voters: z.array(z.string()),
  learners: z.array(z.string()),
});

/**
 * The status reply as parsed: PROTOCOL.md's fields plus the extras the
 * operator tools read. The extras are optional (a replica of another build
 * may not send them) but checked when present, so a malformed one fails
 * here rather than showing as a wrong number. Loose: every other extra is kept.
 */
export const StatusReply = z.looseObject({
  ...ProtocolStatus.shape,
  pid: z.int().optional(),
  /** commitIndex − appliedIndex. */
  lag: z.int().min(0).optional(),
  health: z.string().optional(),
  /** Leader only. */
  progress: z.record(z.string(), PeerProgress).optional(),
  /** This replica's data directory identity, and those its configuration records per member (docs/operators.md, "A replica's identity"). */
  dataId: z.string().nullable().optional(),
  dataIds: z.record(z.string(), z.string()).optional(),
});
export type StatusReply = z.infer<typeof StatusReply>;

type ProtocolStatus = z.infer<typeof ProtocolStatus>;
/** PROTOCOL.md's fields as a replica builds them: the same names and types, read-only. */
export type StatusFields = { readonly [K in keyof ProtocolStatus]: ProtocolStatus[K] extends (infer T)[] ? readonly T[] : ProtocolStatus[K] };
