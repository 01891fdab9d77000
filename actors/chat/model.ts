/**
 * Shapes shared by apply and read: the protocol's message object, live
 * frames (docs/protocol.md §2.2), deliveries, and row mapping.
 */
import type { Knex } from 'knex';

/** PROTOCOL.md's `message`. */
export interface ChatMessage {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
  /** Whether the recipient has read it. */
  readonly read: boolean;
}

/** Live frames, docs/protocol.md §2.2. */
export type LiveFrame =
  | { readonly type: 'message'; readonly message: ChatMessage }
  | { readonly type: 'read'; readonly by: string; readonly with: string; readonly upToId: number }
  | { readonly type: 'deleted'; readonly with: string; readonly ids: readonly number[] }
  | { readonly type: 'revoked' };

/**
 * Something the runtime publishes after the applying transaction commits:
 * to every session of an account (looked up then), or to one session that
 * this very entry ended (its row is already gone, so it is named by hash).
 */
export type Delivery =
  | { readonly to: string; readonly frame: Exclude<LiveFrame, { type: 'revoked' }> }
  | { readonly session: string; readonly frame: { readonly type: 'revoked' } };

/** A messages row as stored. */
export interface MessageRow {
  id: number;
  sender: string;
  recipient: string;
  pair_lo: string;
  pair_hi: string;
  text: string;
  ts: number;
  read: number;
  hidden_by_sender: number;
  hidden_by_recipient: number;
}

export function toMessage(row: MessageRow): ChatMessage {
  return { id: row.id, from: row.sender, to: row.recipient, text: row.text, ts: Number(row.ts), read: row.read === 1 };
}

/** The conversation key: the two usernames sorted, so both directions share one index range. */
export function pairOf(a: string, b: string): { pair_lo: string; pair_hi: string } {
  return a < b ? { pair_lo: a, pair_hi: b } : { pair_lo: b, pair_hi: a };
}

/** Rows of the conversation between owner and peer that owner still sees. */
export function visibleTo(query: Knex.QueryBuilder, owner: string, peer: string): Knex.QueryBuilder {
  return query.where(pairOf(owner, peer)).andWhere((q) =>
    q.where({ sender: owner, hidden_by_sender: 0 }).orWhere({ recipient: owner, hidden_by_recipient: 0 }),
  );
}

export type Db = Knex | Knex.Transaction;
