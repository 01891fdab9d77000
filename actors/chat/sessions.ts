/**
 * Session tokens: random on the leader, stored only as sha256(token) in hex.
 * The live-delivery session key is derived from that hash
 * (actors/protocol/subjects.ts, docs/protocol.md §2.1).
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { Unauthorized } from '../protocol/index.ts';
import { TOKEN_BYTES } from './limits.ts';

/** A live session, as the tables know it. */
export interface Session {
  readonly username: string;
  readonly tokenHash: string;
}

/** sha256 of the token's UTF-8 bytes, lowercase hex: the only form a token is stored in. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh token: TOKEN_BYTES random bytes, base64url (43 characters). */
export function newToken(randomBytes: (n: number) => Buffer): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** The session a token names at time `now`, or Unauthorized (unknown, revoked or expired). */
export async function resolveSession(db: Knex | Knex.Transaction, token: string, now: number): Promise<Session | Unauthorized> {
  return checkSession(db, hashToken(token), now);
}

/** The session with this token hash at time `now` (expired when now >= expires_ts). */
export async function checkSession(db: Knex | Knex.Transaction, tokenHash: string, now: number): Promise<Session | Unauthorized> {
  const row = (await db('sessions').where({ token_hash: tokenHash }).first('username', 'expires_ts')) as SessionRow | undefined;
  return sessionFrom(row, tokenHash, now);
}

export interface SessionRow {
  readonly username: string;
  readonly expires_ts: number;
}

/** The one rule for a session row at time `now`: missing → revoked or unknown; now >= expires_ts → expired. */
export function sessionFrom(row: SessionRow | undefined, tokenHash: string, now: number): Session | Unauthorized {
  if (!row) return new Unauthorized('unknown or revoked token: log in again');
  if (now >= row.expires_ts) return new Unauthorized('the session has expired: log in again');
  return { username: row.username, tokenHash };
}
