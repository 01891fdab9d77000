/**
 * NATS subjects of the client protocol (PROTOCOL.md) and of our extensions
 * (docs/protocol.md): one place that spells them, for replicas and clients.
 */
import { createHash } from 'node:crypto';
import type { Op } from './protocol.ts';

/** docs/protocol.md §1: replicas share request load through this queue group. */
export function apiQueueGroup(prefix: string): string {
  return `${prefix}.api`;
}

/** PROTOCOL.md: `<prefix>.api.<op>`. */
export function apiSubject(prefix: string, op: Op): string {
  return `${prefix}.api.${op}`;
}

/** PROTOCOL.md: `<prefix>.replica.<replicaId>.status`. */
export function statusSubject(prefix: string, replicaId: string): string {
  return `${prefix}.replica.${replicaId}.status`;
}

/** docs/protocol.md §2.1: hex characters of sha256(token) that name a live subject. */
export const SESSION_KEY_HEX_CHARS = 32;

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
