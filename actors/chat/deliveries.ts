/**
 * Turning an ApplyResult's deliveries into (live subject key, frame) pairs,
 * for the runtime to publish after the applying transaction commits
 * (docs/protocol.md §2.3: the sessions are looked up in the applied sessions table).
 */
import { sessionKeyOfTokenHash, type LiveFrame } from '../protocol/index.ts';
import { preparedRows } from '../../storage/prepared.ts';
import type { Db, Delivery } from './model.ts';

type SessionRow = { username: string; token_hash: string; live_key: string | null };

/** One SQL text for any number of recipients (their names as one JSON array), so it is prepared once (storage/prepared.ts): it runs after every applied send on the replicas that publish live frames. */
const SESSIONS_OF_SQL = `SELECT username, token_hash, live_key FROM sessions WHERE username IN (SELECT value FROM json_each(?)) ORDER BY username, token_hash`;

export interface Publication {
  /** `<prefix>.live.<sessionKey>` is the subject. */
  readonly sessionKey: string;
  readonly frame: LiveFrame;
  /** The session's `liveKey` (docs/protocol.md §2.5): publish the frame sealed to it; null: in the clear, as before. */
  readonly liveKey: string | null;
}

export async function resolveDeliveries(db: Db, deliveries: readonly Delivery[]): Promise<Publication[]> {
  const accounts = [...new Set(deliveries.flatMap((d) => ('to' in d ? [d.to] : [])))];
  const rows = accounts.length === 0 ? [] : await preparedRows<SessionRow>(db, SESSIONS_OF_SQL, [JSON.stringify(accounts)]);
  const sessionsOf = new Map<string, { sessionKey: string; liveKey: string | null }[]>();
  for (const row of rows) sessionsOf.set(row.username, [...(sessionsOf.get(row.username) ?? []), { sessionKey: sessionKeyOfTokenHash(row.token_hash), liveKey: row.live_key }]);
  return deliveries.flatMap((d): Publication[] =>
    'to' in d
      ? (sessionsOf.get(d.to) ?? []).map(({ sessionKey, liveKey }) => ({ sessionKey, frame: d.frame, liveKey }))
      : [{ sessionKey: sessionKeyOfTokenHash(d.session), frame: d.frame, liveKey: d.liveKey ?? null }],
  );
}
