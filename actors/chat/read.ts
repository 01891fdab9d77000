/**
 * The read ops: accounts, history, conversations. The runtime makes them
 * linearizable (read index, then wait until applied) before calling; here
 * they are plain indexed queries of the applied state.
 */
import type { Knex } from 'knex';
import { NotFound, Unauthorized, type ChatRequestOf, type OkReply, type ProtocolError, type ReplyOf } from '../protocol/index.ts';
import { CONVERSATIONS_MAX_REPLY } from './limits.ts';
import { toMessage, visibleTo, type MessageRow } from './model.ts';
import type { ReadRequest } from './requests.ts';
import { resolveSession } from './sessions.ts';
import { accountExists } from './queries.ts';

type AccountsReply = OkReply<ReplyOf<'accounts'>>;
type HistoryReply = OkReply<ReplyOf<'history'>>;
type ConversationsReply = OkReply<ReplyOf<'conversations'>>;
export type ReadReply = AccountsReply | HistoryReply | ConversationsReply;

/** Answer a read at time `now` (the replica's clock, for session expiry). */
export async function executeRead(db: Knex, request: ReadRequest, now: number): Promise<ReadReply | ProtocolError> {
  const session = await resolveSession(db, request.token, now);
  if (session instanceof Unauthorized) return session;
  switch (request.op) {
    case 'accounts':
      return listAccounts(db, request);
    case 'history':
      return history(db, session.username, request);
    case 'conversations':
      return conversations(db, session.username);
  }
}

async function listAccounts(db: Knex, request: ChatRequestOf<'accounts'>): Promise<AccountsReply> {
  const prefix = literalPrefix(request.pattern);
  const query = db('accounts').whereRaw('username GLOB ?', [globOf(request.pattern)]);
  // The literal prefix bounds an index range on the primary key; GLOB then filters inside it.
  // Every username character sorts below U+007F, so [prefix, prefix + '\x7f') holds every name that starts with prefix.
  if (prefix) query.andWhere('username', '>=', prefix).andWhere('username', '<', `${prefix}\x7f`);
  if (request.after !== undefined) query.andWhere('username', '>', request.after);
  const rows = (await query.orderBy('username').limit(request.limit + 1).select('username')) as { username: string }[];
  const accounts = rows.slice(0, request.limit).map((r) => r.username);
  const last = accounts[accounts.length - 1];
  return rows.length > request.limit && last !== undefined ? { ok: true, accounts, next: last } : { ok: true, accounts };
}

/**
 * PROTOCOL.md's glob (`*` any run, `?` one character, everything else literal) as an SQLite GLOB.
 * GLOB's only other metacharacter is `[`, which opens a class: `[[]` matches a literal `[`.
 * (`]` outside a class is already literal.) GLOB is case-sensitive, like usernames.
 */
export function globOf(pattern: string): string {
  return pattern.replaceAll('[', '[[]');
}

/** The characters before the first wildcard. */
export function literalPrefix(pattern: string): string {
  const wildcard = pattern.search(/[*?]/);
  return wildcard === -1 ? pattern : pattern.slice(0, wildcard);
}

/**
 * Oldest first, at most `limit`:
 *  - afterId (with or without beforeId): the oldest `limit` after afterId (and before beforeId); hasMore: more follow.
 *  - beforeId only: the newest `limit` before beforeId; hasMore: older ones exist.
 *  - neither: the newest `limit`; hasMore: older ones exist.
 */
async function history(db: Knex, me: string, request: ChatRequestOf<'history'>): Promise<HistoryReply | NotFound> {
  if (!(await accountExists(db, request.with))) return new NotFound(`account ${request.with} does not exist`);
  const query = visibleTo(db('messages'), me, request.with);
  if (request.afterId !== undefined) query.andWhere('id', '>', request.afterId);
  if (request.beforeId !== undefined) query.andWhere('id', '<', request.beforeId);
  const forward = request.afterId !== undefined;
  const rows = (await query.orderBy('id', forward ? 'asc' : 'desc').limit(request.limit + 1).select()) as MessageRow[];
  const hasMore = rows.length > request.limit;
  const page = rows.slice(0, request.limit);
  if (!forward) page.reverse();
  return { ok: true, messages: page.map(toMessage), hasMore };
}

/** Newest first (by lastId), at most CONVERSATIONS_MAX_REPLY. */
async function conversations(db: Knex, me: string): Promise<ConversationsReply> {
  const rows = (await db('conversations')
    .where({ owner: me })
    .orderBy('last_id', 'desc')
    .limit(CONVERSATIONS_MAX_REPLY)
    .select('peer', 'last_id', 'unread')) as { peer: string; last_id: number; unread: number }[];
  return { ok: true, conversations: rows.map((r) => ({ with: r.peer, lastId: r.last_id, unread: r.unread })) };
}
