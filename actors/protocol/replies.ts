/**
 * The reply bodies of PROTOCOL.md ("Operations"), without `ok`, and the
 * reply envelope. The client checks every reply against these; the chat
 * state machine types its replies with them. Unknown reply fields are
 * ignored (docs/protocol.md §1.1), so replies can grow compatibly.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';
import { Cursor, MessageId, Username } from './fields.ts';

/** PROTOCOL.md's `message`. */
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

/** A core's role (actors/raft `Role`); any other string is accepted, so a newer replica's role does not break an older client. */
export const RoleName = z.enum(['follower', 'pre-candidate', 'candidate', 'leader', 'learner']).or(z.string());

const ClusterMember = z.object({
  id: z.string(),
  voter: z.boolean(),
  role: RoleName,
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
export type ClusterReply = z.infer<typeof ClusterReply>;

/**
 * docs/protocol.md §1.1, a compatible extension: every reply (success and
 * error) names the replica that answered and the leader it knew of. Optional
 * here, so replies from replicas that predate it still parse.
 */
export const AnsweredBySchema = z.object({
  replica: z.string().min(1),
  leader: z.string().nullable().optional(),
});

/** `{ok: false, error: {code, message}}`, PROTOCOL.md "Replies". */
export const ErrorReplySchema = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }),
});
