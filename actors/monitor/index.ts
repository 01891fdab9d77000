/**
 * The health monitor's policy (docs/operators.md): pure functions from the
 * leader's view to decisions. Not wired into replicas yet; `quorumchat
 * members` shows what it thinks and checks operators' changes with it.
 */
export type { ClusterView, MemberView, MemberKind } from './view.ts';
export { kindOf, lagOf, isCaughtUp } from './view.ts';
export * from './settings.ts';
export { EMPTY_MEMORY, type MonitorMemory, type Replacement } from './memory.ts';
export { judgeMembers, isLive, type Judgement, type Verdict } from './health.ts';
export { decide, type Decision, type MonitorStep, type ReplacementRequest, type WaitReason } from './policy.ts';
export { membershipChangeProblem, type ChangeAction, type ChangeOptions, type ChangeProblem, type ChangeProblemKind, type MembershipChange } from './change.ts';
