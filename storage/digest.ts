/**
 * The running digest over applied entries (PROTOCOL.md, per-replica status):
 * digest_i = sha256(digest_{i-1} || canonicalBytes(entry_i)), starting from
 * 32 zero bytes, continued across snapshots (a snapshot records the digest at
 * its index). Two correct replicas with the same appliedIndex hold the same digest.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../actors/raft/types.ts';
import { encodeEntry } from './entry-codec.ts';

/** Length of a SHA-256 digest in bytes. */
export const DIGEST_BYTES = 32;

/** The digest before any entry is applied, as hex: 32 zero bytes. */
export const INITIAL_DIGEST = '00'.repeat(DIGEST_BYTES);

/** The digest after applying `entry` on top of `previous` (both hex). */
export function nextDigest(previous: string, entry: Entry): string {
  return nextDigestOfBytes(previous, encodeEntry(entry));
}

/** As nextDigest, when the caller already holds the entry's canonical bytes. */
export function nextDigestOfBytes(previous: string, canonical: Uint8Array): string {
  return createHash('sha256').update(Buffer.from(previous, 'hex')).update(canonical).digest('hex');
}

/** True when `value` is a digest in its hex form. */
export function isDigest(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
