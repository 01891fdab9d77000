/**
 * Operator requests (a compatible extension of the protocol, docs/replica.md):
 * membership changes one replica at a time (thesis §4.1) and leadership
 * transfer (thesis §3.10), on `<prefix>.admin.<op>`.
 *
 *   members   {action: "addLearner" | "promote" | "remove", id}  → {ok, voters, learners}
 *   transfer  {to}                                              → {ok, leader}
 */
import { z } from 'zod';
import { ReplicaIdSchema } from './replica-id.ts';

export const ADMIN_OPS = ['members', 'transfer'] as const;
export type AdminOp = (typeof ADMIN_OPS)[number];

/** Strict: an operator's misspelt field must not silently become a different change. */
export const MembersRequest = z.strictObject({ action: z.enum(['addLearner', 'promote', 'remove']), id: ReplicaIdSchema });
export type MembersRequest = z.infer<typeof MembersRequest>;
export const TransferRequest = z.strictObject({ to: ReplicaIdSchema });
export type TransferRequest = z.infer<typeof TransferRequest>;
