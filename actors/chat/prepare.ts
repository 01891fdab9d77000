/**
 * Leader-side preparation of a write, before it is proposed: authenticate,
 * check what can be checked against the applied state, and decide everything
 * nondeterministic once (ts, salt, password hash, session token) so that it
 * travels in the entry. Never writes.
 */
import type { Knex } from 'knex';
import type { ChatCommand } from './commands.ts';
import { BadRequest, Conflict, isProtocolError, NotFound, Unauthorized, type ChatRequestOf, type OkReply, type ProtocolError } from '../protocol/index.ts';
import { accountExists, earlierSendReply, sendFacts, type SendFacts } from './queries.ts';
import type { SendFactsCache } from './send-facts-cache.ts';
import { planDeletion } from './deletion.ts';
import { SESSION_TTL_MS } from './limits.ts';
import { hashPassword, PASSWORD_COST, verifyAgainstNothing, verifyPassword, type ScryptCost } from './passwords.ts';
import type { WriteRequest } from './requests.ts';
import { hashToken, newToken, resolveSession, sessionFrom, type Session } from './sessions.ts';

export interface PrepareContext {
  /** The applied state; read only. */
  readonly db: Knex;
  /** The leader's clock, ms since the epoch: becomes the entry's `ts`. */
  readonly now: number;
  readonly randomBytes: (n: number) => Buffer;
  /** scrypt cost for new passwords; PASSWORD_COST unless a test lowers it. */
  readonly passwordCost?: ScryptCost;
  /** The leader's memory of sessions and recipients (send-facts-cache.ts); without it every send reads them. */
  readonly sendFacts?: SendFactsCache;
}

/**
 * Nothing to propose: the request was already carried out (a repeated send),
 * and this is its reply. The runtime answers with `reply` at once.
 */
export class AlreadyApplied {
  constructor(readonly reply: OkReply) {}
}

/**
 * A command to propose, and what only the proposer may add to its reply:
 * fields that must not enter the log (the new session's token; the entry
 * carries its hash). The runtime merges `reveal` into an ok reply.
 */
export class Proposal {
  constructor(
    readonly command: ChatCommand,
    readonly reveal: Readonly<Record<string, string>> | null = null,
  ) {}
}

export type Prepared = Proposal | ProtocolError | AlreadyApplied;

export async function prepareCommand(request: WriteRequest, ctx: PrepareContext): Promise<Prepared> {
  const prepared = await prepareByOp(request, ctx);
  return isProtocolError(prepared) || prepared instanceof AlreadyApplied || prepared instanceof Proposal ? prepared : new Proposal(prepared);
}

async function prepareByOp(request: WriteRequest, ctx: PrepareContext): Promise<ChatCommand | Prepared> {
  switch (request.op) {
    case 'register':
      return prepareRegister(request, ctx);
    case 'login':
      return prepareLogin(request, ctx);
    case 'logout':
      return withSession(request.token, ctx, (s) => ({ type: 'logout', ts: ctx.now, username: s.username, tokenHash: s.tokenHash }));
    case 'send':
      return prepareSend(request, ctx);
    case 'markRead':
      return withSession(request.token, ctx, async (s) => {
        if (!(await accountExists(ctx.db, request.with))) return new NotFound(`account ${request.with} does not exist`);
        return { type: 'markRead', ts: ctx.now, username: s.username, tokenHash: s.tokenHash, with: request.with, upToId: request.upToId };
      });
    case 'deleteMessages':
      return withSession(request.token, ctx, async (s) => {
        const plan = await planDeletion(ctx.db, s.username, request.ids, request.forEveryone);
        if (!('rows' in plan)) return plan;
        return { type: 'deleteMessages', ts: ctx.now, username: s.username, tokenHash: s.tokenHash, ids: [...new Set(request.ids)], forEveryone: request.forEveryone };
      });
    case 'deleteAccount':
      return withSession(request.token, ctx, async (s) => {
        const account = await verifyAccount(ctx.db, s.username, request.password, ctx);
        if (account instanceof Unauthorized) return new Unauthorized('wrong password');
        return { type: 'deleteAccount', ts: ctx.now, username: s.username, tokenHash: s.tokenHash, accountIndex: account.createdIndex };
      });
  }
}

async function prepareRegister(request: ChatRequestOf<'register'>, ctx: PrepareContext): Promise<ChatCommand | Prepared> {
  // Checked again at apply: a concurrent register of the same name may commit first.
  if (await accountExists(ctx.db, request.username)) return new Conflict(`username ${request.username} is taken`);
  const { salt, hash, cost } = await hashPassword(request.password, ctx.passwordCost ?? PASSWORD_COST, ctx.randomBytes);
  return { type: 'register', ts: ctx.now, username: request.username, salt, hash, scrypt: cost };
}

async function prepareLogin(request: ChatRequestOf<'login'>, ctx: PrepareContext): Promise<Prepared> {
  const account = await verifyAccount(ctx.db, request.username, request.password, ctx);
  if (account instanceof Unauthorized) return account;
  const token = newToken(ctx.randomBytes);
  const command: ChatCommand = {
    type: 'login',
    ts: ctx.now,
    username: request.username,
    accountIndex: account.createdIndex,
    tokenHash: hashToken(token),
    expiresTs: ctx.now + SESSION_TTL_MS,
    // Public (docs/protocol.md §2.5): every replica seals this session's live frames to it.
    ...(request.liveKey === undefined ? {} : { liveKey: request.liveKey }),
  };
  return new Proposal(command, { token });
}

async function prepareSend(request: ChatRequestOf<'send'>, ctx: PrepareContext): Promise<ChatCommand | Prepared> {
  // The hottest write: session, earlier send and recipient in one read, checked in the order the other writes use.
  const tokenHash = hashToken(request.token);
  const facts = knownSendFacts(ctx, tokenHash, request.to) ?? (await readSendFacts(ctx, tokenHash, request));
  const session = sessionFrom(facts, tokenHash, ctx.now);
  if (session instanceof Unauthorized) return session;
  // Exactly-once: a repeat of an applied send is answered here and never reaches the log.
  if (facts !== undefined && facts.earlier_id !== null) {
    const earlier = await earlierSendReply(ctx.db, request.requestId, facts.earlier_id);
    return earlier instanceof NotFound ? earlier : new AlreadyApplied(earlier);
  }
  if (request.to === session.username) return new BadRequest('send: to must be another account (messages to yourself are not supported)');
  if (facts?.to_exists !== 1) return new NotFound(`account ${request.to} does not exist`);
  return { type: 'send', ts: ctx.now, username: session.username, tokenHash: session.tokenHash, to: request.to, text: request.text, requestId: request.requestId };
}

/**
 * The facts from the leader's cache (send-facts-cache.ts), when it knows both the session and the
 * recipient. An earlier send of this requestId is not looked up then: the apply answers a repeat.
 */
function knownSendFacts(ctx: PrepareContext, tokenHash: string, to: string): SendFacts | undefined {
  const session = ctx.sendFacts?.lookup(tokenHash, to, ctx.now) ?? null;
  return session === null ? undefined : { ...session, earlier_id: null, to_exists: 1 };
}

async function readSendFacts(ctx: PrepareContext, tokenHash: string, request: ChatRequestOf<'send'>): Promise<SendFacts | undefined> {
  const cache = ctx.sendFacts;
  const token = cache?.readToken();
  const facts = await sendFacts(ctx.db, tokenHash, request.requestId, request.to);
  if (cache !== undefined && token !== undefined) cache.remember(token, tokenHash, facts ?? null, facts?.to_exists === 1 ? request.to : null, ctx.now);
  return facts;
}

async function withSession(token: string, ctx: PrepareContext, then: (s: Session) => ChatCommand | Prepared | Promise<ChatCommand | Prepared>): Promise<ChatCommand | Prepared> {
  const session = await resolveSession(ctx.db, token, ctx.now);
  if (session instanceof Unauthorized) return session;
  return then(session);
}

/** The account's generation if `password` is right; the same Unauthorized (after the same work) for an unknown name or a wrong password. */
async function verifyAccount(db: Knex, username: string, password: string, ctx: PrepareContext): Promise<{ createdIndex: number } | Unauthorized> {
  const row = (await db('accounts').where({ username }).first()) as
    | { password_salt: Buffer; password_hash: Buffer; scrypt_n: number; scrypt_r: number; scrypt_p: number; created_index: number }
    | undefined;
  const wrong = new Unauthorized('wrong username or password');
  if (!row) {
    await verifyAgainstNothing(password, ctx.passwordCost ?? PASSWORD_COST);
    return wrong;
  }
  const ok = await verifyPassword(password, {
    salt: row.password_salt,
    hash: row.password_hash,
    cost: { n: row.scrypt_n, r: row.scrypt_r, p: row.scrypt_p },
  });
  return ok ? { createdIndex: row.created_index } : wrong;
}
