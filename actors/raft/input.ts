/**
 * What a core starts from: the input of a replica that has never run
 * (`newReplicaInput`), and the validation of any input. Storage and configuration bugs
 * (a gap in the recovered log, a commit index past its end, an election
 * timeout shorter than the heartbeat) are refused loudly at creation
 * instead of surfacing later as a confusing consensus failure.
 */
import { z } from 'zod';
import { DEFAULT_LIMITS, DEFAULT_TIMING } from './limits.ts';
import { DATA_ID_PATTERN } from './identity.ts';
import type { Configuration, RaftInput, RaftLimits, RaftTiming, ReplicaId } from './types.ts';

/** Thrown by createRaftActor when its input cannot describe a valid replica. */
export class InvalidRaftInputError extends Error {
  override readonly name = 'InvalidRaftInputError';
}

const index = z.int().nonnegative();
const positive = z.int().positive();
const replicaId = z.string().min(1);
const dataId = z.string().regex(DATA_ID_PATTERN, 'a data identity is 16 hex digits');
const configuration = z.object({ voters: z.array(replicaId), learners: z.array(replicaId), dataIds: z.record(replicaId, dataId).optional() });
const entry = z.discriminatedUnion('kind', [
  z.object({ index: positive, term: index, kind: z.literal('noop') }),
  z.object({ index: positive, term: index, kind: z.literal('command'), data: z.instanceof(Uint8Array) }),
  z.object({ index: positive, term: index, kind: z.literal('config'), config: configuration }),
]);

const raftInput = z
  .object({
    id: replicaId,
    hardState: z.object({ term: index, votedFor: replicaId.nullable() }),
    snapshot: z.object({ index, term: index, config: configuration }),
    entries: z.array(entry),
    commitIndex: index,
    timing: z
      .object({ heartbeatMs: positive, electionMinMs: positive, electionMaxMs: positive })
      .refine((t) => t.electionMinMs > t.heartbeatMs, 'electionMinMs must exceed heartbeatMs (Raft §5.6)')
      .refine((t) => t.electionMaxMs >= t.electionMinMs, 'electionMaxMs must be at least electionMinMs'),
    limits: z.object({
      maxEntriesPerAppend: positive,
      maxBytesPerAppend: positive,
      maxInflightAppends: positive,
      maxUncommittedEntries: positive,
    }),
    seed: z.int(),
    unsafe: z
      .object({ quorumOverReachable: z.boolean(), commitEarlierTermByCount: z.boolean(), voteWithoutLogCheck: z.boolean(), ignoreDataIds: z.boolean() })
      .partial()
      .optional(),
    persistedEvents: z.boolean().optional(),
    dataId: dataId.optional(),
  })
  .superRefine((input, ctx) => {
    let expected = input.snapshot.index + 1;
    let term = input.snapshot.term;
    for (const e of input.entries) {
      if (e.index !== expected) ctx.addIssue({ code: 'custom', message: `entries must follow the snapshot contiguously: expected index ${expected}, got ${e.index}` });
      if (e.term < term) ctx.addIssue({ code: 'custom', message: `entry ${e.index} has term ${e.term}, lower than the entry before it (${term})` });
      expected = e.index + 1;
      term = e.term;
    }
    if (term > input.hardState.term) ctx.addIssue({ code: 'custom', message: `the log holds term ${term}, beyond the persisted term ${input.hardState.term}` });
    const last = input.snapshot.index + input.entries.length;
    if (input.commitIndex > last) ctx.addIssue({ code: 'custom', message: `commitIndex ${input.commitIndex} is past the log's end ${last}` });
  });

/** Check a core's input; throws InvalidRaftInputError listing every problem. */
export function validateInput(input: RaftInput): void {
  const result = raftInput.safeParse(input);
  if (!result.success) throw new InvalidRaftInputError(`invalid raft input for ${String(input?.id)}:\n${z.prettifyError(result.error)}`);
}

/**
 * What a replica that has never run starts from: term 0, no vote, an empty
 * log, and the cluster's initial configuration as its snapshot at index 0.
 * Timing and limits are the defaults unless given.
 */
export function newReplicaInput(
  id: ReplicaId,
  config: Configuration,
  seed: number,
  knobs: { readonly timing?: RaftTiming; readonly limits?: RaftLimits } = {},
): RaftInput {
  return {
    id,
    hardState: { term: 0, votedFor: null },
    snapshot: { index: 0, term: 0, config: { voters: [...config.voters], learners: [...config.learners] } },
    entries: [],
    commitIndex: 0,
    timing: knobs.timing ?? DEFAULT_TIMING,
    limits: knobs.limits ?? DEFAULT_LIMITS,
    seed,
  };
}
