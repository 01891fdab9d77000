/** The typed client of the quorumchat protocol (PROTOCOL.md + docs/protocol.md). */
export * from './protocol.ts';
export * from './errors.ts';
export * from './subjects.ts';
export * from './live-frames.ts';
