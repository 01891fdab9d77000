/**
 * The health monitor's policy (docs/operators.md): pure functions from the
 * leader's view to decisions. Each replica runs it on its clock
 * (actors/replica/monitor-loop.ts) and acts only while it leads; `quorumchat
 * members` checks operators' changes with it.
 */
export type { ClusterView, MemberView, MemberKind } from './view.ts';
export { kindOf, lagOf, isCaughtUp, mayPromote } from './view.ts';
export * from './settings.ts';
export { EMPTY_MEMORY, type MonitorMemory, type Replacement } from './memory.ts';
export { judgeMembers, isLive, type Judgement, type Verdict } from './health.ts';
export { decide, type Decision, type MonitorStep, type ReplacementRequest, type WaitReason } from './policy.ts';
export { membershipChangeProblem, type ChangeAction, type ChangeOptions, type ChangeProblem, type ChangeProblemKind, type MembershipChange } from './change.ts';
