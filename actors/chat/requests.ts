/**
 * Which validated requests change replicated state. The request schemas and
 * their validation are the protocol's (actors/protocol/requests.ts), shared
 * with the client.
 */
import type { ChatOp, ChatRequest, ChatRequestOf } from '../protocol/index.ts';

/** Whether the request changes replicated state (must be prepared, proposed and applied) or is a read. */
export function isWrite(request: ChatRequest): request is WriteRequest {
  return WRITE_OPS.has(request.op);
}

const WRITE_OPS: ReadonlySet<ChatOp> = new Set(['register', 'login', 'logout', 'send', 'markRead', 'deleteMessages', 'deleteAccount']);
export type WriteOp = 'register' | 'login' | 'logout' | 'send' | 'markRead' | 'deleteMessages' | 'deleteAccount';
export type WriteRequest = ChatRequestOf<WriteOp>;
export type ReadRequest = ChatRequestOf<Exclude<ChatOp, WriteOp>>;
