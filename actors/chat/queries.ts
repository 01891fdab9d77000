/**
 * Lookups that prepare (leader, before proposing), apply (every replica) and
 * read share, so each rule is written once.
 */
import { NotFound, type ChatMessage, type OkReply } from '../protocol/index.ts';
import { preparedRows } from '../../storage/prepared.ts';
import { toMessage, type Db, type MessageRow } from './model.ts';

export async function accountExists(db: Db, username: string): Promise<boolean> {
  return (await db('accounts').where({ username }).first('username')) !== undefined;
}

/** What prepare needs to decide a send, read in one statement: the session, an earlier send with this requestId, the recipient. */
export interface SendFacts {
  readonly username: string;
  readonly expires_ts: number;
  /** The message an earlier send with the same (sender, requestId) created, or null. */
  readonly earlier_id: number | null;
  readonly to_exists: 0 | 1;
}

/**
 * One read instead of three on the leader's hot path (each is a round trip
 * to SQLite's thread): undefined when no session has this token hash.
 */
export async function sendFacts(db: Db, tokenHash: string, requestId: string, to: string): Promise<SendFacts | undefined> {
  // Prepared once on the store's read connection (storage/prepared.ts): it runs for every send the leader prepares.
  const rows = await preparedRows<SendFacts>(db, SEND_FACTS_SQL, [requestId, to, tokenHash]);
  return rows[0];
}

const SEND_FACTS_SQL = `SELECT s.username AS username, s.expires_ts AS expires_ts,
            (SELECT r.message_id FROM send_requests r WHERE r.sender = s.username AND r.request_id = ?) AS earlier_id,
            EXISTS (SELECT 1 FROM accounts a WHERE a.username = ?) AS to_exists
       FROM sessions s WHERE s.token_hash = ?`;

/** The reply a repeated send gets, once `sendFacts` found its message id: the message, or not_found once it has been deleted. */
export async function earlierSendReply(db: Db, requestId: string, messageId: number): Promise<OkReply<{ message: ChatMessage }> | NotFound> {
  const row = (await db('messages').where({ id: messageId }).first()) as MessageRow | undefined;
  if (!row) return new NotFound(`requestId ${requestId} already sent message ${messageId}, which has since been deleted`);
  return { ok: true, message: toMessage(row) };
}

/** The reply a repeated send gets: the original message, or not_found once it has been deleted. Undefined for a new requestId. */
export async function earlierSend(db: Db, sender: string, requestId: string): Promise<OkReply<{ message: ChatMessage }> | NotFound | undefined> {
  const earlier = (await db('send_requests').where({ sender, request_id: requestId }).first('message_id')) as { message_id: number } | undefined;
  if (!earlier) return undefined;
  return earlierSendReply(db, requestId, earlier.message_id);
}
