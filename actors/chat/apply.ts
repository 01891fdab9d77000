/**
 * Applying a committed chat command: deterministic (no clock, no randomness:
 * only the command, its log position and the database), so every replica
 * turns identical entries into identical tables.
 *
 * Each handler checks everything first and writes only once every check has
 * passed, so a command that fails (a ProtocolError in the result) changes
 * nothing. A thrown error is a storage failure or a bug, never a client's doing.
 */
import type { Knex } from 'knex';
import type { ChatCommand, CommandOf } from './commands.ts';
import { Conflict, NotFound, Unauthorized, type OkReply, type ProtocolError } from '../protocol/index.ts';
import { DELETED_FRAME_MAX_IDS, SESSION_SWEEP_PER_LOGIN } from './limits.ts';
import { pairOf, toMessage, visibleTo, type Delivery, type MessageRow } from './model.ts';
import { planDeletion, type DeletionPlan } from './deletion.ts';
import { checkSession, hashToken } from './sessions.ts';
import { accountExists, earlierSend } from './queries.ts';
import { preparedRows } from '../../storage/prepared.ts';

/** Where the command sits in the log. Its index becomes the id of a message it creates. */
export interface EntryPosition {
  readonly index: number;
  readonly term: number;
}

export interface ApplyResult {
  /** The reply for the replica that answers the client. */
  readonly reply: OkReply | ProtocolError;
  /** Live frames to publish once the transaction has committed. */
  readonly deliveries: readonly Delivery[];
}

/**
 * Apply one command inside the caller's transaction (the one that advances appliedIndex):
 * `trx` is a Knex.Transaction, or the store's writer inside the transaction the store began.
 */
export async function applyCommand(trx: Knex, cmd: ChatCommand, at: EntryPosition): Promise<ApplyResult> {
  switch (cmd.type) {
    case 'register':
      return applyRegister(trx, cmd, at);
    case 'login':
      return applyLogin(trx, cmd);
    case 'logout':
      return applyLogout(trx, cmd);
    case 'send':
      return applySend(trx, cmd, at);
    case 'markRead':
      return applyMarkRead(trx, cmd);
    case 'deleteMessages':
      return applyDeleteMessages(trx, cmd);
    case 'deleteAccount':
      return applyDeleteAccount(trx, cmd);
  }
}

const NOTHING: readonly Delivery[] = [];

function failed(error: ProtocolError): ApplyResult {
  return { reply: error, deliveries: NOTHING };
}

async function applyRegister(trx: Knex, cmd: CommandOf<'register'>, at: EntryPosition): Promise<ApplyResult> {
  // Two registers of one name can both pass prepare; the first to commit wins.
  if (await accountExists(trx, cmd.username)) return failed(new Conflict(`username ${cmd.username} is taken`));
  await trx('accounts').insert({
    username: cmd.username,
    password_salt: Buffer.from(cmd.salt),
    password_hash: Buffer.from(cmd.hash),
    scrypt_n: cmd.scrypt.n,
    scrypt_r: cmd.scrypt.r,
    scrypt_p: cmd.scrypt.p,
    created_index: at.index,
    created_ts: cmd.ts,
  });
  return { reply: { ok: true, username: cmd.username }, deliveries: NOTHING };
}

async function applyLogin(trx: Knex, cmd: CommandOf<'login'>): Promise<ApplyResult> {
  // The password was verified against generation accountIndex; a deleted (or deleted and re-created) account refuses it.
  const account = (await trx('accounts').where({ username: cmd.username }).first('created_index')) as { created_index: number } | undefined;
  if (!account || account.created_index !== cmd.accountIndex) {
    return failed(new Unauthorized('wrong username or password'));
  }
  // Keep the sessions table bounded by live sessions: each login removes up to SESSION_SWEEP_PER_LOGIN
  // expired sessions of any account, oldest first (deterministic: ordered by expiry, then hash).
  await trx('sessions')
    .whereIn('token_hash', (q) =>
      q.select('token_hash').from('sessions').where('expires_ts', '<=', cmd.ts).orderBy([{ column: 'expires_ts' }, { column: 'token_hash' }]).limit(SESSION_SWEEP_PER_LOGIN),
    )
    .delete();
  const legacyToken = cmd.token;
  const tokenHash = cmd.tokenHash ?? hashToken(legacyToken ?? '');
  await trx('sessions').insert({ token_hash: tokenHash, username: cmd.username, created_ts: cmd.ts, expires_ts: cmd.expiresTs, live_key: cmd.liveKey ?? null });
  // The proposer adds the token to its reply (Proposal.reveal); only a legacy entry still carries it.
  return { reply: { ok: true, username: cmd.username, ...(legacyToken === undefined ? {} : { token: legacyToken }) }, deliveries: NOTHING };
}

async function applyLogout(trx: Knex, cmd: CommandOf<'logout'>): Promise<ApplyResult> {
  const session = await sessionAt(trx, cmd);
  if (session) return failed(session);
  // The row goes, its liveKey with it: read it in the same statement, so the `revoked` frame is sealed too.
  const [ended] = (await trx.raw('DELETE FROM sessions WHERE token_hash = ? RETURNING live_key', [cmd.tokenHash])) as { live_key: string | null }[];
  return { reply: { ok: true }, deliveries: [revokedFor(cmd.tokenHash, ended?.live_key ?? null)] };
}

/** The messages row a send creates: PROTOCOL.md ids are positive, cluster-unique, identical everywhere and increasing in commit order; the log index is all four. */
export function sendRow(cmd: CommandOf<'send'>, at: EntryPosition): MessageRow {
  return {
    id: at.index,
    sender: cmd.username,
    recipient: cmd.to,
    ...pairOf(cmd.username, cmd.to),
    text: cmd.text,
    ts: cmd.ts,
    read: 0,
    hidden_by_sender: 0,
    hidden_by_recipient: 0,
  };
}

async function applySend(trx: Knex, cmd: CommandOf<'send'>, at: EntryPosition): Promise<ApplyResult> {
  const row = sendRow(cmd, at);
  // One statement: insert only if the session is live, the requestId is new and the recipient exists;
  // the messages_after_insert trigger (schema v2) updates both conversations rows and send_requests in
  // the same statement. apply-run.ts does the same for many sends in one statement.
  // A prepared statement on the store's writer (storage/prepared.ts): the statement every send runs.
  const inserted = await preparedRows<{ id: number }>(trx, SEND_SQL, [
    row.id, row.sender, row.recipient, row.pair_lo, row.pair_hi, row.text, row.ts, cmd.requestId,
    cmd.tokenHash, cmd.username, cmd.ts, cmd.username, cmd.requestId, cmd.to,
  ]);
  return applySendChecked(trx, cmd, at, inserted.length > 0);
}

const SEND_SQL = `INSERT INTO messages (id, sender, recipient, pair_lo, pair_hi, text, ts, read, hidden_by_sender, hidden_by_recipient, request_id)
     SELECT ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ?
      WHERE EXISTS (SELECT 1 FROM sessions WHERE token_hash = ? AND username = ? AND expires_ts > ?)
        AND NOT EXISTS (SELECT 1 FROM send_requests WHERE sender = ? AND request_id = ?)
        AND EXISTS (SELECT 1 FROM accounts WHERE username = ?)
     RETURNING id`;

/** A send's result once its insert ran: the message and its deliveries, or why it was refused. */
export async function applySendChecked(trx: Knex, cmd: CommandOf<'send'>, at: EntryPosition, inserted: boolean): Promise<ApplyResult> {
  if (!inserted) return whyNotSent(trx, cmd);
  const message = toMessage(sendRow(cmd, at));
  return {
    reply: { ok: true, message },
    deliveries: [
      { to: cmd.to, frame: { type: 'message', message } },
      { to: cmd.username, frame: { type: 'message', message } },
    ],
  };
}

/** The send was refused: say why, checking in the order prepare does. */
async function whyNotSent(trx: Knex, cmd: CommandOf<'send'>): Promise<ApplyResult> {
  const session = await sessionAt(trx, cmd);
  if (session) return failed(session);
  // Exactly-once per (sender, requestId): a duplicate that raced past prepare creates nothing and gets the original.
  const earlier = await earlierSend(trx, cmd.username, cmd.requestId);
  if (earlier) return { reply: earlier, deliveries: NOTHING };
  if (!(await accountExists(trx, cmd.to))) return failed(new NotFound(`account ${cmd.to} does not exist`));
  // Unreachable unless the insert's conditions and these checks disagree: a bug, reported as one.
  throw new Error(`send of ${cmd.username} (requestId ${cmd.requestId}): refused by the insert, yet every check passes`);
}

async function applyMarkRead(trx: Knex, cmd: CommandOf<'markRead'>): Promise<ApplyResult> {
  // One statement: mark read only if the session is live and `with` exists; the messages_after_read
  // trigger (schema v3) takes each newly read message the reader still sees off its unread count.
  const changed = await trx('messages')
    .where({ recipient: cmd.username, sender: cmd.with, read: 0 })
    .andWhere('id', '<=', cmd.upToId)
    .whereExists((q) => q.select(trx.raw('1')).from('sessions').where({ token_hash: cmd.tokenHash, username: cmd.username }).andWhere('expires_ts', '>', cmd.ts))
    .whereExists((q) => q.select(trx.raw('1')).from('accounts').where({ username: cmd.with }))
    .update({ read: 1 });
  if (changed === 0) {
    // Nothing marked: either nothing was unread (fine) or a check failed; say which.
    const session = await sessionAt(trx, cmd);
    if (session) return failed(session);
    if (!(await accountExists(trx, cmd.with))) return failed(new NotFound(`account ${cmd.with} does not exist`));
    return { reply: { ok: true }, deliveries: NOTHING };
  }
  const frame = { type: 'read', by: cmd.username, with: cmd.with, upToId: cmd.upToId } as const;
  return { reply: { ok: true }, deliveries: [{ to: cmd.username, frame }, { to: cmd.with, frame }] };
}

async function applyDeleteMessages(trx: Knex, cmd: CommandOf<'deleteMessages'>): Promise<ApplyResult> {
  const session = await sessionAt(trx, cmd);
  if (session) return failed(session);
  const plan = await planDeletion(trx, cmd.username, cmd.ids, cmd.forEveryone);
  if (!('rows' in plan)) return failed(plan);
  const deliveries = await carryOut(trx, plan);
  return { reply: { ok: true, deleted: plan.rows.length }, deliveries };
}

/** Hide or remove each planned row, then fix the unread counts and lastIds of every view that lost a message. */
async function carryOut(trx: Knex, plan: DeletionPlan): Promise<Delivery[]> {
  // view key "owner\npeer" → ids that left owner's view (a newline is not a username character).
  const lost = new Map<string, number[]>();
  const unreadLost = new Map<string, number>();
  const lose = (owner: string, peer: string, id: number, wasUnread: boolean) => {
    const key = `${owner}\n${peer}`;
    lost.set(key, [...(lost.get(key) ?? []), id]);
    if (wasUnread) unreadLost.set(key, (unreadLost.get(key) ?? 0) + 1);
  };

  // Each row is removed, or hidden from the sender, or hidden from the recipient: one statement per kind, not per row.
  const remove: number[] = [];
  const hideFromSender: number[] = [];
  const hideFromRecipient: number[] = [];
  for (const row of plan.rows) {
    const senderSees = row.hidden_by_sender === 0;
    const recipientSees = row.hidden_by_recipient === 0;
    const recipientUnread = recipientSees && row.read === 0;
    if (plan.forEveryone) {
      remove.push(row.id);
      if (senderSees) lose(row.sender, row.recipient, row.id, false);
      if (recipientSees) lose(row.recipient, row.sender, row.id, recipientUnread);
    } else if (row.sender === plan.caller) {
      // Gone from both views: the row has no reader left, so it goes.
      (recipientSees ? hideFromSender : remove).push(row.id);
      lose(row.sender, row.recipient, row.id, false);
    } else {
      (senderSees ? hideFromRecipient : remove).push(row.id);
      lose(row.recipient, row.sender, row.id, recipientUnread);
    }
  }
  if (remove.length > 0) await trx('messages').whereIn('id', remove).delete();
  if (hideFromSender.length > 0) await trx('messages').whereIn('id', hideFromSender).update({ hidden_by_sender: 1 });
  if (hideFromRecipient.length > 0) await trx('messages').whereIn('id', hideFromRecipient).update({ hidden_by_recipient: 1 });

  const deliveries: Delivery[] = [];
  for (const [key, ids] of lost) {
    const [owner = '', peer = ''] = key.split('\n');
    await refreshConversation(trx, owner, peer, new Set(ids), unreadLost.get(key) ?? 0);
    deliveries.push({ to: owner, frame: { type: 'deleted', with: peer, ids } });
  }
  return deliveries;
}

/** After `removed` left owner's view of the conversation with peer: drop `unreadLost` from unread, move lastId back, or drop the row when nothing is left. */
async function refreshConversation(trx: Knex, owner: string, peer: string, removed: ReadonlySet<number>, unreadLost: number): Promise<void> {
  const key = { owner, peer };
  const conversation = (await trx('conversations').where(key).first('last_id')) as { last_id: number } | undefined;
  if (!conversation) return;
  if (unreadLost > 0) await trx('conversations').where(key).decrement('unread', unreadLost);
  if (!removed.has(conversation.last_id)) return;
  const newest = (await visibleTo(trx('messages'), owner, peer).orderBy('id', 'desc').first('id')) as { id: number } | undefined;
  if (newest) await trx('conversations').where(key).update({ last_id: newest.id });
  else await trx('conversations').where(key).delete();
}

async function applyDeleteAccount(trx: Knex, cmd: CommandOf<'deleteAccount'>): Promise<ApplyResult> {
  const session = await sessionAt(trx, cmd);
  if (session) return failed(session);
  const account = (await trx('accounts').where({ username: cmd.username }).first('created_index')) as { created_index: number } | undefined;
  if (!account || account.created_index !== cmd.accountIndex) return failed(new Unauthorized('wrong username or password'));

  const me = cmd.username;
  const deliveries: Delivery[] = [];
  // Every message still stored is visible to at least one party (rows hidden by both are removed),
  // so the conversations rows on either side name every peer the account has messages with.
  const peerRows = (await trx('conversations')
    .where({ owner: me })
    .select({ peer: 'peer' })
    .union((q) => q.from('conversations').where({ peer: me }).select({ peer: 'owner' }))) as { peer: string }[];
  for (const { peer } of peerRows.sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0))) {
    const ids = ((await visibleTo(trx('messages'), peer, me).orderBy('id').select('id')) as { id: number }[]).map((r) => r.id);
    for (let i = 0; i < ids.length; i += DELETED_FRAME_MAX_IDS) {
      deliveries.push({ to: peer, frame: { type: 'deleted', with: me, ids: ids.slice(i, i + DELETED_FRAME_MAX_IDS) } });
    }
    await trx('messages').where(pairOf(me, peer)).delete();
    await trx('conversations').where({ owner: peer, peer: me }).delete();
  }
  await trx('conversations').where({ owner: me }).delete();
  await trx('send_requests').where({ sender: me }).delete();
  const sessions = (await trx('sessions').where({ username: me }).orderBy('token_hash').select('token_hash', 'live_key')) as { token_hash: string; live_key: string | null }[];
  for (const s of sessions) deliveries.push(revokedFor(s.token_hash, s.live_key));
  await trx('sessions').where({ username: me }).delete();
  await trx('accounts').where({ username: me }).delete();
  return { reply: { ok: true }, deliveries };
}

// ---- helpers ----

/** The `revoked` frame for an ended session; its liveKey only when it has one, so clear sessions' deliveries are as before. */
function revokedFor(tokenHash: string, liveKey: string | null): Delivery {
  return { session: tokenHash, ...(liveKey === null ? {} : { liveKey }), frame: { type: 'revoked' } };
}

/** Re-check at the entry's own time that its session still exists, still belongs to the user, and has not expired. */
async function sessionAt(trx: Knex, cmd: { tokenHash: string; username: string; ts: number }): Promise<Unauthorized | undefined> {
  const session = await checkSession(trx, cmd.tokenHash, cmd.ts);
  if (session instanceof Unauthorized) return session;
  if (session.username !== cmd.username) return new Unauthorized('the session belongs to another account');
  return undefined;
}
