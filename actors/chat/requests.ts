/**
 * Edge validation of every chat op's request body (PROTOCOL.md "Operations").
 * Pure. Returns a typed request or the ProtocolError to reply with; the error
 * message names the offending field.
 */
import { z } from 'zod';
import { BadRequest, TooLarge, type ProtocolError } from './errors.ts';
import {
  ACCOUNTS_DEFAULT_LIMIT,
  ACCOUNTS_MAX_LIMIT,
  DELETE_MAX_IDS,
  HISTORY_DEFAULT_LIMIT,
  HISTORY_MAX_LIMIT,
  MAX_REQUEST_BYTES,
  PASSWORD_MAX_CHARS,
  PASSWORD_MIN_CHARS,
  PATTERN_MAX_CHARS,
  REQUEST_ID_MAX_CHARS,
  TEXT_MAX_CHARS,
  TOKEN_MAX_CHARS,
  USERNAME_CHARSET,
  USERNAME_MAX_CHARS,
} from './limits.ts';

/** Validate one op's parsed JSON body. `cluster` is not a chat op (the replica runtime answers it). */
export function parseRequest(op: string, body: unknown): ChatRequest | ProtocolError {
  if (!isChatOp(op)) return new BadRequest(`unknown op ${JSON.stringify(op)}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new BadRequest(`${op}: the request body must be a JSON object`);
  }
  const parsed = SCHEMAS[op].safeParse(body);
  if (!parsed.success) return errorFor(op, body as Record<string, unknown>, parsed.error.issues);
  return { op, ...parsed.data } as ChatRequest;
}

/** Validate a raw request body (the bytes of a NATS message): size, UTF-8, JSON, then parseRequest. */
export function parseRequestBytes(op: string, bytes: Uint8Array): ChatRequest | ProtocolError {
  if (bytes.byteLength > MAX_REQUEST_BYTES) {
    return new TooLarge(`request body is ${bytes.byteLength} bytes, over the limit of ${MAX_REQUEST_BYTES}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return new BadRequest(`request body is not UTF-8 JSON: ${(err as Error).message}`);
  }
  return parseRequest(op, body);
}

/** Whether the request changes replicated state (must be prepared, proposed and applied) or is a read. */
export function isWrite(request: ChatRequest): request is WriteRequest {
  return WRITE_OPS.has(request.op);
}

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

// ---- field schemas ----

/** Length in characters (code points), as PROTOCOL.md counts them. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A lone UTF-16 surrogate (JSON's "\ud800") cannot be stored as UTF-8 and would not survive a round trip. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A string of min..max code points; over max is `too_big` (→ too_large), under min `too_small` (→ bad_request). */
function chars(min: number, max: number) {
  return z.string().superRefine((s, ctx) => {
    const n = charCount(s);
    if (n > max) ctx.addIssue({ code: 'too_big', origin: 'string', maximum: max, inclusive: true, message: `must be at most ${max} characters (got ${n})` });
    else if (n < min) ctx.addIssue({ code: 'too_small', origin: 'string', minimum: min, inclusive: true, message: `must be at least ${min} character${min === 1 ? '' : 's'}` });
    else if (LONE_SURROGATE.test(s)) ctx.addIssue({ code: 'custom', message: 'is not well-formed Unicode (lone surrogate)' });
  });
}

const Username = chars(1, USERNAME_MAX_CHARS).refine((s) => USERNAME_CHARSET.test(s), {
  message: 'may contain only A-Z a-z 0-9 _ . -',
  abort: true,
});
const Password = chars(PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS);
const Token = chars(1, TOKEN_MAX_CHARS);
/** Message ids are positive safe integers (PROTOCOL.md "Guarantees"). */
const MessageId = z.int().min(1);
/** A paging position: 0 means "before the first message". */
const Cursor = z.int().min(0);

const SCHEMAS = {
  register: z.object({ username: Username, password: Password }),
  login: z.object({ username: Username, password: Password }),
  logout: z.object({ token: Token }),
  accounts: z.object({
    token: Token,
    pattern: chars(1, PATTERN_MAX_CHARS).default('*'),
    limit: z.int().min(1).max(ACCOUNTS_MAX_LIMIT).default(ACCOUNTS_DEFAULT_LIMIT),
    after: chars(1, USERNAME_MAX_CHARS).optional(),
  }),
  send: z.object({ token: Token, to: Username, text: chars(1, TEXT_MAX_CHARS), requestId: chars(1, REQUEST_ID_MAX_CHARS) }),
  history: z.object({
    token: Token,
    with: Username,
    afterId: Cursor.optional(),
    beforeId: Cursor.optional(),
    limit: z.int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
  }),
  conversations: z.object({ token: Token }),
  markRead: z.object({ token: Token, with: Username, upToId: MessageId }),
  deleteMessages: z.object({
    token: Token,
    ids: z.array(MessageId).min(1).max(DELETE_MAX_IDS),
    forEveryone: z.boolean().default(false),
  }),
  deleteAccount: z.object({ token: Token, password: Password }),
} as const satisfies Record<ChatOp, z.ZodType>;

type Bodies = { [Op in ChatOp]: z.output<(typeof SCHEMAS)[Op]> };

/** A validated request, defaults filled in (accounts.pattern '*', limits, forEveryone false). */
export type ChatRequest = { [Op in ChatOp]: { readonly op: Op } & Readonly<Bodies[Op]> }[ChatOp];
export type RequestOf<Op extends ChatOp> = Extract<ChatRequest, { op: Op }>;

const WRITE_OPS: ReadonlySet<ChatOp> = new Set(['register', 'login', 'logout', 'send', 'markRead', 'deleteMessages', 'deleteAccount']);
export type WriteOp = 'register' | 'login' | 'logout' | 'send' | 'markRead' | 'deleteMessages' | 'deleteAccount';
export type WriteRequest = RequestOf<WriteOp>;
export type ReadRequest = RequestOf<Exclude<ChatOp, WriteOp>>;

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
