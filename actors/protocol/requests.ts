/**
 * The request body of every op (PROTOCOL.md "Operations") and its
 * validation. Pure. The client validates with these before it sends (so a
 * caller gets a clear error without a round trip) and the replica validates
 * with the same schemas when the request arrives, so both accept and refuse
 * the same bodies with the same error. Unknown fields are ignored
 * (docs/protocol.md §1.1): objects are not strict.
 */
import { z } from 'zod';
import { BadRequest, TooLarge, type ProtocolError } from './errors.ts';
import { chars, Cursor, MessageId, Password, Token, Username } from './fields.ts';
import { BadSealKeyError, checkSealKey, checkSealKeyForm } from './seal.ts';
import {
  ACCOUNTS_DEFAULT_LIMIT,
  ACCOUNTS_MAX_LIMIT,
  DELETE_MAX_IDS,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  PATTERN_MAX_CHARS,
  REQUEST_ID_MAX_CHARS,
  TEXT_MAX_CHARS,
  USERNAME_MAX_CHARS,
} from './limits.ts';

/** Validate one chat op's parsed JSON body: the typed request with defaults filled in, or the ProtocolError to reply with. */
export function parseRequest(op: string, body: unknown): ChatRequest | ProtocolError {
  if (!isChatOp(op)) return new BadRequest(`unknown op ${JSON.stringify(op)}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new BadRequest(`${op}: the request body must be a JSON object`);
  }
  const parsed = CHAT_REQUESTS[op].safeParse(body);
  if (!parsed.success) return errorFor(op, body as Record<string, unknown>, parsed.error.issues);
  return { op, ...parsed.data } as ChatRequest;
}

/**
 * Validate a raw request body (the bytes of a NATS message): UTF-8, JSON,
 * then parseRequest. The size limit is the replica's configured
 * `limits.maxRequestBytes`, checked by the runtime before this is called.
 */
export function parseRequestBytes(op: string, bytes: Uint8Array): ChatRequest | ProtocolError {
  const body = parseJsonBody(bytes);
  return body instanceof BadRequest ? body : parseRequest(op, body);
}

/**
 * docs/protocol.md §2.5: the request field naming the X25519 public key a client wants its
 * reply sealed to. Any request may carry it; a replica that does not know it ignores it.
 */
export const REPLY_KEY_FIELD = 'replyKey';

/**
 * The `replyKey` of a parsed request body: null when absent (or the body is not an object:
 * parseRequest says why), the key's wire form, or the BadRequest to answer in the clear
 * (nothing can be sealed to a malformed key). Only the form is checked here; a low-order
 * point is refused when the replica derives the shared secret (seal.ts `Sealer.target`).
 */
export function requestedReplyKey(body: unknown): string | null | BadRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, REPLY_KEY_FIELD)) return null;
  const key = checkSealKeyForm((body as Record<string, unknown>)[REPLY_KEY_FIELD]);
  return key instanceof BadSealKeyError ? new BadRequest(`${REPLY_KEY_FIELD} ${key.message}`) : key;
}

/**
 * PROTOCOL.md: every request body is a UTF-8 JSON object, on every op
 * (`cluster` and the operator requests too). An empty body is not one.
 */
export function parseJsonObjectBytes(bytes: Uint8Array): Record<string, unknown> | BadRequest {
  const body = parseJsonBody(bytes);
  if (body instanceof BadRequest) return body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return new BadRequest('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A request body's bytes as JSON (any JSON value), or the BadRequest for an empty, non-UTF-8 or non-JSON body. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return new BadRequest('the request body is empty; it must be a JSON object (e.g. {})');
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
  } catch (err) {
    return new BadRequest(`request body is not UTF-8 JSON: ${(err as Error).message}`);
  }
}

/** The ops the chat state machine serves; `cluster` is answered by the replica runtime itself. */
export const CHAT_OPS = [
  'register',
  'login',
  'logout',
  'accounts',
  'send',
  'history',
  'conversations',
  'markRead',
  'deleteMessages',
  'deleteAccount',
] as const;
export type ChatOp = (typeof CHAT_OPS)[number];

export function isChatOp(op: string): op is ChatOp {
  return (CHAT_OPS as readonly string[]).includes(op);
}

export const RegisterRequest = z.object({ username: Username, password: Password });
/** An X25519 public key to seal to (docs/protocol.md §2.5), checked fully: form and not a low-order point. */
const SealPublicKey = z.string().superRefine((value, ctx) => {
  const bad = checkSealKey(value);
  if (bad !== null) ctx.addIssue({ code: 'custom', message: bad.message });
});
/** `liveKey` (docs/protocol.md §2.5): the session's live frames are sealed to it; the entry and the sessions table keep it (it is public). */
export const LoginRequest = z.object({ username: Username, password: Password, liveKey: SealPublicKey.optional() });
export const LogoutRequest = z.object({ token: Token });
export const AccountsRequest = z.object({
  token: Token,
  pattern: chars(1, PATTERN_MAX_CHARS).default('*'),
  limit: z.int().min(1).max(ACCOUNTS_MAX_LIMIT).default(ACCOUNTS_DEFAULT_LIMIT),
  after: chars(1, USERNAME_MAX_CHARS).optional(),
});
export const SendRequest = z.object({ token: Token, to: Username, text: chars(1, TEXT_MAX_CHARS), requestId: chars(1, REQUEST_ID_MAX_CHARS) });
export const HistoryRequest = z.object({
  token: Token,
  with: Username,
  afterId: Cursor.optional(),
  beforeId: Cursor.optional(),
  limit: z.int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
});
export const ConversationsRequest = z.object({ token: Token });
export const MarkReadRequest = z.object({ token: Token, with: Username, upToId: MessageId });
export const DeleteMessagesRequest = z.object({
  token: Token,
  ids: z.array(MessageId).min(1).max(DELETE_MAX_IDS),
  forEveryone: z.boolean().default(false),
});
export const DeleteAccountRequest = z.object({ token: Token, password: Password });
/** `cluster` and the per-replica status subject take `{}`. */
export const EmptyRequest = z.object({});

const CHAT_REQUESTS = {
  register: RegisterRequest,
  login: LoginRequest,
  logout: LogoutRequest,
  accounts: AccountsRequest,
  send: SendRequest,
  history: HistoryRequest,
  conversations: ConversationsRequest,
  markRead: MarkReadRequest,
  deleteMessages: DeleteMessagesRequest,
  deleteAccount: DeleteAccountRequest,
} as const satisfies Record<ChatOp, z.ZodType>;

type Bodies = { [Op in ChatOp]: z.output<(typeof CHAT_REQUESTS)[Op]> };

/** A validated request, defaults filled in (accounts.pattern '*', limits, forEveryone false). */
export type ChatRequest = { [Op in ChatOp]: { readonly op: Op } & Readonly<Bodies[Op]> }[ChatOp];
export type ChatRequestOf<Op extends ChatOp> = Extract<ChatRequest, { op: Op }>;

/** The first issue decides: strings and arrays over their maximum → too_large, everything else → bad_request. */
function errorFor(op: ChatOp, body: Record<string, unknown>, issues: readonly z.core.$ZodIssue[]): ProtocolError {
  const issue = issues[0];
  if (!issue) return new BadRequest(`${op}: invalid request`);
  const field = issue.path.map(String).join('.') || '(body)';
  const top = issue.path[0];
  if (issue.path.length === 1 && typeof top === 'string' && !(top in body)) {
    return new BadRequest(`${op}: ${field} is required`);
  }
  if (issue.code === 'too_big' && (issue.origin === 'string' || issue.origin === 'array')) {
    const what = issue.origin === 'array' ? `must have at most ${String(issue.maximum)} items` : issue.message;
    return new TooLarge(`${op}: ${field} ${what}`);
  }
  if (issue.code === 'invalid_type') return new BadRequest(`${op}: ${field} must be ${article(issue.expected)}`);
  return new BadRequest(`${op}: ${field} ${issue.message}`);
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
