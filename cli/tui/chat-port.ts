/**
 * What the chat view needs from the cluster: the protocol's operations, live
 * delivery and the connection's state. `actors/client`'s ChatClient provides
 * it (see `chatPortOf` in chat-client-port.ts); keeping the view behind this
 * small interface keeps the widgets independent of NATS.
 */
import type { ChatMessage, ConversationSummary, Connection } from './chat-model.ts';

export type LiveEvent =
  | { readonly type: 'message'; readonly message: ChatMessage }
  | { readonly type: 'read'; readonly by: string; readonly with: string; readonly upToId: number }
  | { readonly type: 'deleted'; readonly with: string; readonly ids: readonly number[] }
  | { readonly type: 'revoked' }
  /** The client re-read history after a reconnect; read marks and deletions may have changed meanwhile. */
  | { readonly type: 'repaired' };

export interface ClusterInfo {
  readonly leader: string | null;
  readonly term: number;
  /** Voting members, and how many of them the leader reaches. */
  readonly voters: number;
  readonly reachableVoters: number;
}

export interface ChatPort {
  register(req: { username: string; password: string }): Promise<unknown>;
  login(req: { username: string; password: string }): Promise<{ token: string; username: string }>;
  logout(req: { token: string }): Promise<unknown>;
  accounts(req: { token: string; pattern?: string; limit?: number; after?: string }): Promise<{ accounts: readonly string[]; next?: string | undefined }>;
  /** Retries with the same requestId through failovers; `onRetry` is told each time it does, with the retry's number (from 1). */
  send(req: { token: string; to: string; text: string; requestId: string }, onRetry: (attempt: number) => void): Promise<{ message: ChatMessage }>;
  history(req: { token: string; with: string; beforeId?: number; afterId?: number; limit?: number }): Promise<{ messages: readonly ChatMessage[]; hasMore: boolean }>;
  conversations(req: { token: string }): Promise<{ conversations: readonly ConversationSummary[] }>;
  markRead(req: { token: string; with: string; upToId: number }): Promise<unknown>;
  deleteMessages(req: { token: string; ids: number[]; forEveryone?: boolean }): Promise<{ deleted: number }>;
  deleteAccount(req: { token: string; password: string }): Promise<unknown>;
  cluster(): Promise<ClusterInfo>;
  /** Starts live delivery for a session; the handle stops it. */
  live(session: { token: string; username: string }, handler: (event: LiveEvent) => void): { close(): Promise<void> | void };
  /** Reports connection changes; returns an unsubscribe function. */
  onConnection(handler: (connection: Connection) => void): () => void;
  /** Reports which replica answered each request (the reply's `replica`, docs/protocol.md §1.1); returns an unsubscribe function. */
  onAnswered(handler: (replica: string) => void): () => void;
}
