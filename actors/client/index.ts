/**
 * The typed client of the quorumchat protocol (PROTOCOL.md + docs/protocol.md).
 * The wire itself (schemas, error codes, subjects, limits) is actors/protocol,
 * re-exported here so a client program needs one import.
 */
export * from '../protocol/index.ts';
export * from './errors.ts';
export * from './chat-client.ts';
export { SendRetryPolicy, type AttemptFailure, type SendPolicyMode, type SendTiming } from './send-policy.ts';
export { LiveSession, type LiveEvent, type LiveHandler, type LiveOptions, DEFAULT_REPAIR_EVERY_MS } from './live.ts';
