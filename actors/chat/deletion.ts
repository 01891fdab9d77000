/**
 * Which rows a deleteMessages removes, or why it removes none. Used twice with
 * the same rules: by prepare (so a doomed request never reaches the log) and by
 * apply (authoritative: the state may have changed since).
 */
import { Forbidden, NotFound, type ProtocolError } from '../protocol/index.ts';
import type { Db, MessageRow } from './model.ts';

export interface DeletionPlan {
  readonly caller: string;
  readonly forEveryone: boolean;
  /** One row per distinct id, in the request's order. */
  readonly rows: readonly MessageRow[];
}

/**
 * Rules, per id, in the request's order; the first id that fails decides and nothing is deleted:
 *  - no such message (never existed, or gone from both views)          → not_found
 *  - the caller is neither its sender nor its recipient                 → forbidden
 *  - forEveryone and the caller is the recipient                        → forbidden (sender only)
 *  - for the caller only, and the caller already deleted it for itself  → not_found (not in its view)
 * A sender may delete for everyone a message it had already hidden from itself (it still reaches the recipient).
 */
export async function planDeletion(db: Db, caller: string, ids: readonly number[], forEveryone: boolean): Promise<DeletionPlan | ProtocolError> {
  const distinct = [...new Set(ids)];
  const found = (await db('messages').whereIn('id', distinct).select()) as MessageRow[];
  const byId = new Map(found.map((row) => [row.id, row]));
  const rows: MessageRow[] = [];
  for (const id of distinct) {
    const row = byId.get(id);
    if (!row) return new NotFound(`message ${id} does not exist`);
    const isSender = row.sender === caller;
    if (!isSender && row.recipient !== caller) return new Forbidden(`message ${id} is not in one of your conversations`);
    if (forEveryone && !isSender) return new Forbidden(`only its sender may delete message ${id} for everyone`);
    if (!forEveryone && (isSender ? row.hidden_by_sender : row.hidden_by_recipient) === 1) {
      return new NotFound(`message ${id} is already deleted from your view`);
    }
    rows.push(row);
  }
  return { caller, forEveryone, rows };
}
