/**
 * NATS subjects of the client protocol (PROTOCOL.md), of our extensions
 * (docs/protocol.md: live delivery, operator requests, inspection) and of
 * the replica-to-replica forwarding: one place that spells them, for
 * replicas, clients and the CLI. (The Raft peer subjects are the
 * transport's: actors/transport/subjects.ts.)
 */
import { createHash } from 'node:crypto';
import type { AdminOp } from './admin.ts';
import type { Op } from './ops.ts';

/** A NATS wildcard for one subject token: what a subscriber to every replica's or op's subject passes. */
export const ANY_TOKEN = '*';

/** docs/protocol.md §1: replicas share request load through this queue group. */
export function apiQueueGroup(prefix: string): string {
  return `${prefix}.api`;
}

/** PROTOCOL.md: `<prefix>.api.<op>`; a replica subscribes with op = ANY_TOKEN. */
export function apiSubject(prefix: string, op: Op | typeof ANY_TOKEN): string {
  return `${prefix}.api.${op}`;
}

/**
 * The client protocol aimed at one replica (docs/protocol.md §1.2): the same
 * bodies, replies and semantics as `<prefix>.api.<op>`, but no queue group,
 * so a client can reach a replica it knows answers while the queue group
 * still hands requests to one that does not (a paused leader, a dead route).
 */
export function replicaApiSubject(prefix: string, replicaId: string, op: Op | typeof ANY_TOKEN): string {
  return `${prefix}.replica.${replicaId}.api.${op}`;
}

/** PROTOCOL.md: `<prefix>.replica.<replicaId>.status`. */
export function statusSubject(prefix: string, replicaId: string): string {
  return `${prefix}.replica.${replicaId}.status`;
}

/** docs/protocol.md §2.1: hex characters of sha256(token) that name a live subject. */
const SESSION_KEY_HEX_CHARS = 32;

/** docs/protocol.md §2.1: the session key only a token's holder (or its stored hash) can derive. */
export function sessionKeyOf(token: string): string {
  return sessionKeyOfTokenHash(createHash('sha256').update(token, 'utf8').digest('hex'));
}

/** Replica side: the session key from a stored hex sha256 of the token. */
export function sessionKeyOfTokenHash(tokenSha256Hex: string): string {
  return tokenSha256Hex.slice(0, SESSION_KEY_HEX_CHARS).toLowerCase();
}

/** docs/protocol.md §2.1: `<prefix>.live.<sessionKey>`. */
export function liveSubject(prefix: string, sessionKey: string): string {
  return `${prefix}.live.${sessionKey}`;
}

/** docs/replica.md: operator requests on `<prefix>.admin.<op>`; a replica subscribes with op = ANY_TOKEN. */
export function adminSubject(prefix: string, op: AdminOp | typeof ANY_TOKEN): string {
  return `${prefix}.admin.${op}`;
}

/** Replicas share operator requests through this queue group, like client requests. */
export function adminQueueGroup(prefix: string): string {
  return `${prefix}.admin`;
}

/** `<prefix>.replica.<id>.forward`: how replicas ask the leader to do what only a leader can (docs/replica.md). */
export function forwardSubject(prefix: string, replicaId: string): string {
  return `${prefix}.replica.${replicaId}.forward`;
}

/** docs/replica.md: `<prefix>.inspect.<replicaId>`, each replica's core inspection records; the inspector subscribes with ANY_TOKEN. */
export function inspectSubject(prefix: string, replicaId: string): string {
  return `${prefix}.inspect.${replicaId}`;
}
