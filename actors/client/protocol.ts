/**
 * The wire types of the client protocol (/work/shared/PROTOCOL.md, version 1),
 * as zod schemas and the TypeScript types inferred from them.
 *
 * Request schemas carry every field rule of PROTOCOL.md, so the chat state
 * machine validates requests with them and the client library types its
 * methods with them. Reply schemas let the client check what a replica sent.
 * Unknown request fields are ignored (docs/protocol.md §1): objects are not strict.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorReply, type OkReply } from '../chat/errors.ts';

// ---- field limits: the chat state machine's own (actors/chat/limits.ts), one source of truth ----

import * as limits from '../chat/limits.ts';

export * from '../chat/limits.ts';

/** PROTOCOL.md: username is 1 to 32 characters of `A-Z a-z 0-9 _ . -`. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/** Length in characters (code points), as PROTOCOL.md counts them, not UTF-16 units. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const chars = (min: number, max: number, what: string) =>
  z.string().refine((s) => {
    const n = charCount(s);
    return n >= min && n <= max;
  }, `${what} must be ${min} to ${max.toLocaleString('en-US')} characters`);

export const Username = z.string().regex(USERNAME_PATTERN, 'username must be 1 to 32 characters of A-Z a-z 0-9 _ . -');
export const Password = chars(limits.PASSWORD_MIN_CHARS, limits.PASSWORD_MAX_CHARS, 'password');
export const Token = z.string().min(1, 'token is required').max(limits.TOKEN_MAX_CHARS, 'token is not a token this cluster issued');
export const Text = chars(1, limits.TEXT_MAX_CHARS, 'text');
export const RequestId = chars(1, limits.REQUEST_ID_MAX_CHARS, 'requestId');
/** Message ids are positive integers (PROTOCOL.md "Guarantees"). */
export const MessageId = z.int().min(1).max(Number.MAX_SAFE_INTEGER);
/** A position in a conversation for paging: 0 means "before the first message". */
const Cursor = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const ChatMessage = z.object({
  id: MessageId,
  from: Username,
  to: Username,
  text: z.string(),
  /** Milliseconds since the epoch, assigned once by the leader. */
  ts: z.int().min(0),
  /** Whether the recipient has read it. */
  read: z.boolean(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

// ---- requests ----

export const RegisterRequest = z.object({ username: Username, password: Password });
export const LoginRequest = z.object({ username: Username, password: Password });
export const LogoutRequest = z.object({ token: Token });
export const AccountsRequest = z.object({
  token: Token,
  pattern: z.string().max(limits.PATTERN_MAX_CHARS).optional(),
  limit: z.int().min(1).max(limits.ACCOUNTS_MAX_LIMIT).optional(),
  after: z.string().max(32).optional(),
});
export const SendRequest = z.object({ token: Token, to: Username, text: Text, requestId: RequestId });
export const HistoryRequest = z.object({
  token: Token,
  with: Username,
  afterId: Cursor.optional(),
  beforeId: Cursor.optional(),
  limit: z.int().min(1).max(limits.HISTORY_MAX_LIMIT).optional(),
});
export const ConversationsRequest = z.object({ token: Token });
export const MarkReadRequest = z.object({ token: Token, with: Username, upToId: MessageId });
export const DeleteMessagesRequest = z.object({
  token: Token,
  ids: z.array(MessageId).min(1).max(limits.DELETE_MAX_IDS),
  forEveryone: z.boolean().optional(),
});
export const DeleteAccountRequest = z.object({ token: Token, password: Password });
export const ClusterRequest = z.object({});
export const StatusRequest = z.object({});

// ---- replies (without `ok`) ----

export const RegisterReply = z.object({ username: Username });
export const LoginReply = z.object({ token: z.string(), username: Username });
export const EmptyReply = z.object({});
export const AccountsReply = z.object({ accounts: z.array(Username), next: z.string().optional() });
export const SendReply = z.object({ message: ChatMessage });
export const HistoryReply = z.object({ messages: z.array(ChatMessage), hasMore: z.boolean() });
export const Conversation = z.object({ with: Username, lastId: Cursor, unread: z.int().min(0) });
export type Conversation = z.infer<typeof Conversation>;
export const ConversationsReply = z.object({ conversations: z.array(Conversation) });
/** `deleted`: how many messages left the caller's view. */
export const DeleteMessagesReply = z.object({ deleted: z.int().min(0) });
const RoleName = z.enum(['follower', 'pre-candidate', 'candidate', 'leader', 'learner']);
export const ClusterMember = z.object({
  id: z.string(),
  voter: z.boolean(),
  role: RoleName.or(z.string()),
  reachable: z.boolean(),
  lastContactMs: z.number().nullable(),
  matchIndex: z.int().min(0),
});
export const ClusterReply = z.object({
  leader: z.string().nullable(),
  term: z.int().min(0),
  commitIndex: z.int().min(0),
  members: z.array(ClusterMember),
});
export const StatusReply = z.object({
  id: z.string(),
  role: RoleName.or(z.string()),
  term: z.int().min(0),
  leader: z.string().nullable(),
  commitIndex: z.int().min(0),
  appliedIndex: z.int().min(0),
  digest: z.string(),
  voters: z.array(z.string()),
  learners: z.array(z.string()),
});

/** Every op of PROTOCOL.md with its request and reply schema. */
export const OPS = {
  register: { request: RegisterRequest, reply: RegisterReply },
  login: { request: LoginRequest, reply: LoginReply },
  logout: { request: LogoutRequest, reply: EmptyReply },
  accounts: { request: AccountsRequest, reply: AccountsReply },
  send: { request: SendRequest, reply: SendReply },
  history: { request: HistoryRequest, reply: HistoryReply },
  conversations: { request: ConversationsRequest, reply: ConversationsReply },
  markRead: { request: MarkReadRequest, reply: EmptyReply },
  deleteMessages: { request: DeleteMessagesRequest, reply: DeleteMessagesReply },
  deleteAccount: { request: DeleteAccountRequest, reply: EmptyReply },
  cluster: { request: ClusterRequest, reply: ClusterReply },
} as const;

export type Op = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as Op[];
export type RequestOf<O extends Op> = z.infer<(typeof OPS)[O]['request']>;
export type ReplyOf<O extends Op> = z.infer<(typeof OPS)[O]['reply']>;
export type StatusReply = z.infer<typeof StatusReply>;
export type ClusterReply = z.infer<typeof ClusterReply>;

// ---- reply envelope (the codes and shapes live in actors/chat/errors.ts) ----

export { ERROR_CODES } from '../chat/errors.ts';
export type { ErrorCode, ErrorReply, OkReply } from '../chat/errors.ts';

export type Reply<T extends object> = OkReply<T> | ErrorReply;

/**
 * docs/protocol.md §1.1, a compatible extension: every reply (success and
 * error) names the replica that answered and the leader it knew of. Optional
 * here, so replies from replicas that predate it still parse.
 */
export const AnsweredBySchema = z.object({
  replica: z.string().min(1),
  leader: z.string().nullable().optional(),
});

export const ErrorReplySchema = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }),
});
