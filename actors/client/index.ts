/** The typed client of the quorumchat protocol (PROTOCOL.md + docs/protocol.md). */
export * from './protocol.ts';
export * from './errors.ts';
export * from './subjects.ts';
export * from './live-frames.ts';
export * from './chat-client.ts';
export { LiveSession, type LiveEvent, type LiveHandler, type LiveOptions, DEFAULT_REPAIR_EVERY_MS } from './live.ts';
