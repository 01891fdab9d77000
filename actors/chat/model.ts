/**
 * Shapes shared by apply and read: deliveries and row mapping. The message
 * object and the live frames are the protocol's (actors/protocol).
 */
import type { Knex } from 'knex';
import type { ChatMessage, LiveFrame } from '../protocol/index.ts';

/**
 * Something the runtime publishes after the applying transaction commits:
 * to every session of an account (looked up then), or to one session that
 * this very entry ended (its row is already gone, so it is named by hash).
 */
export type Delivery =
  | { readonly to: string; readonly frame: Exclude<LiveFrame, { type: 'revoked' }> }
  | {
      readonly session: string;
      /** The ended session's `liveKey` (docs/protocol.md §2.5), read as its row was deleted: its `revoked` frame is sealed too. */
      readonly liveKey?: string | null;
      readonly frame: { readonly type: 'revoked' };
    };

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
