/**
 * Lookups that prepare (leader, before proposing), apply (every replica) and
 * read share, so each rule is written once.
 */
import { NotFound, type ChatMessage, type OkReply } from '../protocol/index.ts';
import { toMessage, type Db, type MessageRow } from './model.ts';

export async function accountExists(db: Db, username: string): Promise<boolean> {
  return (await db('accounts').where({ username }).first('username')) !== undefined;
}

/** The reply a repeated send gets: the original message, or not_found once it has been deleted. Undefined for a new requestId. */
export async function earlierSend(db: Db, sender: string, requestId: string): Promise<OkReply<{ message: ChatMessage }> | NotFound | undefined> {
  const earlier = (await db('send_requests').where({ sender, request_id: requestId }).first('message_id')) as { message_id: number } | undefined;
  if (!earlier) return undefined;
  const row = (await db('messages').where({ id: earlier.message_id }).first()) as MessageRow | undefined;
  if (!row) return new NotFound(`requestId ${requestId} already sent message ${earlier.message_id}, which has since been deleted`);
  return { ok: true, message: toMessage(row) };
}
