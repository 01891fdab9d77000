/**
 * The wire protocol, declared once (PROTOCOL.md + docs/protocol.md): what
 * crosses NATS between clients, replicas and the operator tools. The chat
 * state machine, the client library, the replica runtime and the CLI all
 * import it; none of them redeclares a schema, code, subject or limit.
 *
 *   errors.ts      error codes and the typed error class of each
 *   limits.ts      the limits that are part of the contract
 *   fields.ts      field schemas (username, password, token, ids)
 *   requests.ts    request schemas and their validation (client and replica alike)
 *   replies.ts     reply schemas and the reply envelope
 *   ops.ts         op → request and reply schema; RequestOf / ReplyOf
 *   status.ts      the per-replica status reply
 *   live.ts        live-delivery frames
 *   admin.ts       operator requests
 *   subjects.ts    every subject, queue group and the live session key
 *   replica-id.ts  the one rule for a replica id
 *   seal.ts        sealed replies and live frames (X25519, HKDF-SHA256, ChaCha20-Poly1305)
 */
export * from './errors.ts';
export * from './limits.ts';
export { charCount } from './fields.ts';
export * from './requests.ts';
export * from './replies.ts';
export * from './ops.ts';
export * from './status.ts';
export * from './live.ts';
export * from './admin.ts';
export * from './subjects.ts';
export * from './replica-id.ts';
export * from './seal.ts';
