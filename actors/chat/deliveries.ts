/**
 * Turning an ApplyResult's deliveries into (live subject key, frame) pairs,
 * for the runtime to publish after the applying transaction commits
 * (docs/protocol.md §2.3: the sessions are looked up in the applied sessions table).
 */
import { sessionKeyOfTokenHash, type LiveFrame } from '../protocol/index.ts';
import type { Db, Delivery } from './model.ts';

export interface Publication {
  /** `<prefix>.live.<sessionKey>` is the subject. */
  readonly sessionKey: string;
  readonly frame: LiveFrame;
}

export async function resolveDeliveries(db: Db, deliveries: readonly Delivery[]): Promise<Publication[]> {
  const accounts = [...new Set(deliveries.flatMap((d) => ('to' in d ? [d.to] : [])))];
  const rows = accounts.length === 0 ? [] : ((await db('sessions').whereIn('username', accounts).select('username', 'token_hash')) as { username: string; token_hash: string }[]);
  const keysOf = new Map<string, string[]>();
  for (const row of rows) keysOf.set(row.username, [...(keysOf.get(row.username) ?? []), sessionKeyOfTokenHash(row.token_hash)]);
  return deliveries.flatMap((d): Publication[] =>
    'to' in d ? (keysOf.get(d.to) ?? []).map((sessionKey) => ({ sessionKey, frame: d.frame })) : [{ sessionKey: sessionKeyOfTokenHash(d.session), frame: d.frame }],
  );
}
