/**
 * Operator requests (a compatible extension of the protocol, docs/replica.md):
 * membership changes one replica at a time (thesis §4.1) and leadership
 * transfer (thesis §3.10), on `<prefix>.admin.<op>`.
 *
 *   members   {action: "addLearner" | "promote" | "remove", id, intent?}  → {ok, voters, learners}
 *   transfer  {to}                                                       → {ok, leader}
 *   join      {id, intent, dataId?}   → {ok, voters, learners, added}  (a new replica asking in, docs/operators.md)
 *
 * And the monitor's subjects (docs/operators.md, "The monitor"):
 *
 *   <prefix>.monitor.intent   {id, intent}   a learner says what it wants to be, every few seconds
 *   <prefix>.monitor.replace  {replaces, suggestedId, reason, leader, term}   the leader asks for a replacement
 */
import { z } from 'zod';
import { ReplicaIdSchema } from './replica-id.ts';

export const ADMIN_OPS = ['members', 'transfer', 'join'] as const;
export type AdminOp = (typeof ADMIN_OPS)[number];

/**
 * What a learner wants to become, as it told the cluster (`replica --join`,
 * `--standby`, `--no-promote`): `voter` is promoted by the monitor once caught
 * up and stable; `standby` stays a caught-up learner until a voter is missing;
 * `learner` is never promoted by the monitor (an operator may).
 */
export const LearnerIntent = z.enum(['voter', 'standby', 'learner']);
export type LearnerIntent = z.infer<typeof LearnerIntent>;

/** Strict: an operator's misspelt field must not silently become a different change. */
export const MembersRequest = z.strictObject({ action: z.enum(['addLearner', 'promote', 'remove']), id: ReplicaIdSchema, intent: LearnerIntent.optional() });
export type MembersRequest = z.infer<typeof MembersRequest>;
export const TransferRequest = z.strictObject({ to: ReplicaIdSchema });
export type TransferRequest = z.infer<typeof TransferRequest>;
/** A data directory's identity (actors/raft/identity.ts): 16 hex digits. */
export const DataIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'a data identity is 16 lowercase hex digits');

/**
 * A replica asking to be added as a learner; a member already is answered at
 * once (`added: false`), unless `dataId` differs from the identity the
 * cluster recorded for it: then its disk was replaced, and it comes back as a
 * learner with the new identity (`added: true`).
 */
export const JoinRequest = z.strictObject({ id: ReplicaIdSchema, intent: LearnerIntent.prefault('voter'), dataId: DataIdSchema.optional() });
export type JoinRequest = z.infer<typeof JoinRequest>;

/** Published by a learner (re-announced, so a new leader learns it too); every replica's monitor keeps it. */
export const IntentAnnouncement = z.object({ id: ReplicaIdSchema, intent: LearnerIntent });
export type IntentAnnouncement = z.infer<typeof IntentAnnouncement>;

/** Published by the leader's monitor for whoever provisions replicas (`up`, a `--provision-cmd`). */
export const ReplacementNotice = z.object({
  replaces: ReplicaIdSchema,
  /** An id no member has and the monitor has not suggested before; a provisioner may pick its own. */
  suggestedId: ReplicaIdSchema,
  reason: z.string(),
  leader: ReplicaIdSchema,
  term: z.int().min(0),
});
export type ReplacementNotice = z.infer<typeof ReplacementNotice>;

export function monitorIntentSubject(prefix: string): string {
  return `${prefix}.monitor.intent`;
}

export function monitorReplaceSubject(prefix: string): string {
  return `${prefix}.monitor.replace`;
}

/** Every monitor subject, for NATS permissions. */
export function monitorSubjects(prefix: string): string {
  return `${prefix}.monitor.*`;
}
