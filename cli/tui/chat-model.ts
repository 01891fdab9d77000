/**
 * The chat view's state, as a pure reducer: every change the screen shows is
 * an `ChatAction` applied by `reduceChat`, so the logic (ordering, unread
 * counts, de-duplication, pending sends, paging) is unit-tested without a
 * terminal. The blessed widgets in chat-view.ts only render `ChatState` and
 * turn keys and client replies into actions.
 */

import type { ChatMessage } from '../../actors/client/index.ts';

/** A message as the protocol carries it (PROTOCOL.md, "message"): the client library's type. */
export type { ChatMessage };

/** One row of the conversation list (PROTOCOL.md, `conversations`). */
export interface ConversationSummary {
  readonly with: string;
  readonly lastId: number;
  readonly unread: number;
}

/** A send the cluster has not acknowledged yet; shown greyed until it is, and shown once. */
export interface PendingSend {
  readonly requestId: string;
  readonly to: string;
  readonly text: string;
  /** `retrying` while the client repeats it (same requestId) through a failover. */
  readonly status: 'sending' | 'retrying' | 'failed';
  /** How many times the client has repeated it so far (its latest retry's number); 0 before any retry. */
  readonly retries: number;
  readonly error?: string;
}

export interface OpenConversation {
  readonly with: string;
  /** Confirmed messages, ascending by id, each id once. */
  readonly messages: readonly ChatMessage[];
  /** Whether older messages exist before `messages[0]` (history `hasMore`). */
  readonly hasOlder: boolean;
  readonly loadingOlder: boolean;
}

export type Connection = 'connected' | 'reconnecting' | 'disconnected';

export interface Notice {
  readonly level: 'info' | 'error';
  readonly text: string;
}

export interface ChatState {
  readonly session: { readonly username: string; readonly token: string } | null;
  /** Newest first (by lastId), then by name for a stable order. */
  readonly conversations: readonly ConversationSummary[];
  readonly open: OpenConversation | null;
  readonly pending: readonly PendingSend[];
  readonly connection: Connection;
  /** The replica that answered the latest request, when the reply said so. */
  readonly replica: string | null;
  readonly leader: string | null;
  /** Voting members the leader reports reachable, and how many there are (from `cluster`). */
  readonly reachable: { readonly up: number; readonly of: number } | null;
  readonly notice: Notice | null;
}

export type ChatAction =
  | { readonly type: 'loggedIn'; readonly username: string; readonly token: string }
  | { readonly type: 'loggedOut' }
  | { readonly type: 'conversationsLoaded'; readonly conversations: readonly ConversationSummary[] }
  | { readonly type: 'conversationOpened'; readonly with: string; readonly messages: readonly ChatMessage[]; readonly hasOlder: boolean }
  | { readonly type: 'olderRequested' }
  | { readonly type: 'olderLoaded'; readonly with: string; readonly messages: readonly ChatMessage[]; readonly hasOlder: boolean }
  | { readonly type: 'newerLoaded'; readonly with: string; readonly messages: readonly ChatMessage[] }
  | { readonly type: 'messageReceived'; readonly message: ChatMessage }
  | { readonly type: 'sendStarted'; readonly requestId: string; readonly to: string; readonly text: string }
  /** The client repeats the send (same requestId); `attempt` is the retry's number, from 1. */
  | { readonly type: 'sendRetrying'; readonly requestId: string; readonly attempt: number }
  | { readonly type: 'sendSucceeded'; readonly requestId: string; readonly message: ChatMessage }
  | { readonly type: 'sendFailed'; readonly requestId: string; readonly error: string }
  | { readonly type: 'sendDismissed'; readonly requestId: string }
  | { readonly type: 'markedRead'; readonly with: string; readonly upToId: number }
  /** The other person read what I sent them, up to `upToId` (a live `read` frame with `by` = them). */
  | { readonly type: 'peerRead'; readonly by: string; readonly upToId: number }
  | { readonly type: 'messagesDeleted'; readonly ids: readonly number[] }
  | { readonly type: 'connectionChanged'; readonly connection: Connection }
  | { readonly type: 'replicaAnswered'; readonly replica: string | null; readonly leader?: string | null; readonly reachable?: { readonly up: number; readonly of: number } | null }
  | { readonly type: 'notice'; readonly notice: Notice | null };

export const initialChatState: ChatState = {
  session: null,
  conversations: [],
  open: null,
  pending: [],
  connection: 'connected',
  replica: null,
  leader: null,
  reachable: null,
  notice: null,
};

/** Applies one action; never mutates `state`. */
export function reduceChat(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'loggedIn':
      return { ...initialChatState, connection: state.connection, replica: state.replica, leader: state.leader, reachable: state.reachable, session: { username: action.username, token: action.token } };
    case 'loggedOut':
      return { ...initialChatState, connection: state.connection, replica: state.replica, leader: state.leader, reachable: state.reachable };
    case 'conversationsLoaded':
      return { ...state, conversations: sortConversations(action.conversations.map((c) => readIfOpen(state, c))) };
    case 'conversationOpened': {
      const open: OpenConversation = { with: action.with, messages: mergeMessages([], action.messages), hasOlder: action.hasOlder, loadingOlder: false };
      const conversations = state.conversations.map((c) => (c.with === action.with ? { ...c, unread: 0 } : c));
      return { ...state, open, conversations };
    }
    case 'olderRequested':
      if (state.open === null || !state.open.hasOlder || state.open.loadingOlder) return state;
      return { ...state, open: { ...state.open, loadingOlder: true } };
    case 'olderLoaded':
      if (state.open?.with !== action.with) return state;
      return { ...state, open: { ...state.open, messages: mergeMessages(state.open.messages, action.messages), hasOlder: action.hasOlder, loadingOlder: false } };
    case 'newerLoaded':
      if (state.open?.with !== action.with) return state;
      return { ...state, open: { ...state.open, messages: mergeMessages(state.open.messages, action.messages) } };
    case 'messageReceived':
      return receive(state, action.message);
    case 'sendStarted':
      if (state.pending.some((p) => p.requestId === action.requestId)) return state;
      return { ...state, pending: [...state.pending, { requestId: action.requestId, to: action.to, text: action.text, status: 'sending', retries: 0 }] };
    case 'sendRetrying':
      return {
        ...state,
        pending: state.pending.map((p) =>
          // A late callback never turns a failed send back into a retrying one, nor lowers the count.
          p.requestId === action.requestId && p.status !== 'failed' ? { ...p, status: 'retrying', retries: Math.max(p.retries, action.attempt) } : p,
        ),
      };
    case 'sendSucceeded': {
      const pending = state.pending.filter((p) => p.requestId !== action.requestId);
      return receive({ ...state, pending }, action.message);
    }
    case 'sendFailed':
      return {
        ...state,
        pending: state.pending.map((p) => (p.requestId === action.requestId ? { ...p, status: 'failed', error: action.error } : p)),
        notice: { level: 'error', text: `not sent: ${action.error}` },
      };
    case 'sendDismissed':
      return { ...state, pending: state.pending.filter((p) => p.requestId !== action.requestId) };
    case 'markedRead': {
      const conversations = state.conversations.map((c) => (c.with === action.with ? { ...c, unread: 0 } : c));
      if (state.open?.with !== action.with) return { ...state, conversations };
      const messages = state.open.messages.map((m) => (m.from === action.with && m.id <= action.upToId && !m.read ? { ...m, read: true } : m));
      return { ...state, conversations, open: { ...state.open, messages } };
    }
    case 'peerRead': {
      if (state.open?.with !== action.by) return state;
      const me = state.session?.username;
      const messages = state.open.messages.map((m) => (m.from === me && m.id <= action.upToId && !m.read ? { ...m, read: true } : m));
      return { ...state, open: { ...state.open, messages } };
    }
    case 'messagesDeleted': {
      if (state.open === null) return state;
      const gone = new Set(action.ids);
      return { ...state, open: { ...state.open, messages: state.open.messages.filter((m) => !gone.has(m.id)) } };
    }
    case 'connectionChanged':
      return { ...state, connection: action.connection };
    case 'replicaAnswered':
      return {
        ...state,
        replica: action.replica ?? state.replica,
        leader: action.leader === undefined ? state.leader : action.leader,
        reachable: action.reachable === undefined ? state.reachable : action.reachable,
      };
    case 'notice':
      return { ...state, notice: action.notice };
  }
}

/**
 * The status bar's "reconnecting… (retry N, same request)": the highest
 * retry number among sends being retried now, or null when none is (no retry
 * yet, or every retried send was acknowledged or failed).
 */
export function sendRetry(state: ChatState): number | null {
  let highest: number | null = null;
  for (const p of state.pending) if (p.status === 'retrying') highest = Math.max(highest ?? 0, p.retries);
  return highest;
}

/** What the message pane shows: confirmed messages, then this conversation's pending sends. */
export type MessageRow =
  | { readonly kind: 'message'; readonly message: ChatMessage; readonly mine: boolean }
  | { readonly kind: 'pending'; readonly pending: PendingSend };

export function messageRows(state: ChatState): MessageRow[] {
  const open = state.open;
  const me = state.session?.username;
  if (open === null) return [];
  const rows: MessageRow[] = open.messages.map((message) => ({ kind: 'message', message, mine: message.from === me }));
  for (const pending of state.pending) {
    if (pending.to === open.with) rows.push({ kind: 'pending', pending });
  }
  return rows;
}

/**
 * The `upToId` for a `markRead` the open conversation needs, or null when
 * everything the other person sent is already read.
 */
export function readMarkNeeded(state: ChatState): number | null {
  const open = state.open;
  if (open === null) return null;
  let upTo: number | null = null;
  for (const m of open.messages) {
    if (m.from === open.with && !m.read) upTo = m.id;
  }
  return upTo;
}

/** The id to page back from (history `beforeId`), or null when nothing older is left. */
export function olderCursor(state: ChatState): number | null {
  const open = state.open;
  if (open === null || !open.hasOlder) return null;
  return open.messages[0]?.id ?? null;
}

/** The id live delivery must continue after: the newest confirmed message in view. */
export function newestId(state: ChatState): number {
  const last = state.open?.messages.at(-1);
  return last?.id ?? 0;
}

export function totalUnread(state: ChatState): number {
  return state.conversations.reduce((sum, c) => sum + c.unread, 0);
}

// ---- helpers ----

function receive(state: ChatState, message: ChatMessage): ChatState {
  const me = state.session?.username;
  if (me === undefined || (message.from !== me && message.to !== me)) return state;
  const other = message.from === me ? message.to : message.from;
  const isOpen = state.open?.with === other;
  const known = isOpen && state.open !== null && state.open.messages.some((m) => m.id === message.id);
  const open = isOpen && state.open !== null ? { ...state.open, messages: mergeMessages(state.open.messages, [message]) } : state.open;
  // Unread counts only what the other person sent and nobody is looking at yet;
  // a message already shown (a duplicate delivery) never counts twice.
  const countsUnread = message.from === other && !isOpen && !known && !message.read;
  const existing = state.conversations.find((c) => c.with === other);
  let conversations: ConversationSummary[];
  if (existing === undefined) {
    conversations = [...state.conversations, { with: other, lastId: message.id, unread: countsUnread ? 1 : 0 }];
  } else if (existing.lastId >= message.id) {
    // Already reflected in the summary (a repeated delivery, or history that raced it).
    conversations = [...state.conversations];
  } else {
    conversations = state.conversations.map((c) => (c.with === other ? { ...c, lastId: message.id, unread: c.unread + (countsUnread ? 1 : 0) } : c));
  }
  return { ...state, open, conversations: sortConversations(conversations) };
}

function readIfOpen(state: ChatState, c: ConversationSummary): ConversationSummary {
  // The open conversation is being read as it arrives; the server learns it from the markRead that follows.
  return state.open?.with === c.with ? { ...c, unread: 0 } : c;
}

function sortConversations(list: readonly ConversationSummary[]): ConversationSummary[] {
  return [...list].sort((a, b) => b.lastId - a.lastId || a.with.localeCompare(b.with));
}

/** Union by id, ascending; a later copy of the same id wins (it may carry a newer `read`). */
export function mergeMessages(current: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  const byId = new Map<number, ChatMessage>();
  for (const m of current) byId.set(m.id, m);
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
