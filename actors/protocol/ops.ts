/** Every op of PROTOCOL.md with its request and reply schema: the table the typed client is built on. */
import type { z } from 'zod';
import {
  AccountsReply,
  ClusterReply,
  ConversationsReply,
  DeleteMessagesReply,
  EmptyReply,
  HistoryReply,
  LoginReply,
  RegisterReply,
  SendReply,
} from './replies.ts';
import {
  AccountsRequest,
  ConversationsRequest,
  DeleteAccountRequest,
  DeleteMessagesRequest,
  EmptyRequest,
  HistoryRequest,
  LoginRequest,
  LogoutRequest,
  MarkReadRequest,
  RegisterRequest,
  SendRequest,
} from './requests.ts';

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
  cluster: { request: EmptyRequest, reply: ClusterReply },
} as const;

export type Op = keyof typeof OPS;
/** What a client sends: optional fields may be left out (the replica fills the defaults). */
export type RequestOf<O extends Op> = z.input<(typeof OPS)[O]['request']>;
/** A successful reply's body, without `ok`. */
export type ReplyOf<O extends Op> = z.output<(typeof OPS)[O]['reply']>;
