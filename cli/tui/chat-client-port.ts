/**
 * The chat view's `ChatPort` on actors/client's `ChatClient`: the protocol
 * ops, `send` retried by the client under one requestId through failovers,
 * live delivery with de-duplication and gap repair, and the NATS link's
 * status as the view's connection state.
 */
import type { ChatClient } from '../../actors/client/chat-client.ts';
import type { ChatMessage, Connection } from './chat-model.ts';
import type { ChatPort, ClusterInfo, LiveEvent } from './chat-port.ts';

/**
 * A send not acknowledged within this is shown as "waiting for the cluster":
 * a healthy cluster commits in milliseconds, so this long means the client is
 * retrying through an election (it keeps the same requestId, so it commits once).
 */
export const SEND_SLOW_MS = 1_000;

export function chatPortOf(client: ChatClient): ChatPort {
  return {
    register: (req) => client.register(req),
    login: (req) => client.login(req),
    logout: (req) => client.logout(req),
    accounts: (req) => client.accounts(req),
    history: (req) => client.history(req),
    conversations: (req) => client.conversations(req),
    markRead: (req) => client.markRead(req),
    deleteMessages: (req) => client.deleteMessages(req),
    deleteAccount: (req) => client.deleteAccount(req),
    cluster: async (): Promise<ClusterInfo> => {
      const reply = await client.cluster();
      const voters = reply.members.filter((m) => m.voter);
      return { leader: reply.leader, term: reply.term, voters: voters.length, reachableVoters: voters.filter((m) => m.reachable).length };
    },
    send: async (req, onRetry): Promise<{ message: ChatMessage }> => {
      const slow = setTimeout(onRetry, SEND_SLOW_MS);
      try {
        return await client.send(req);
      } finally {
        clearTimeout(slow);
      }
    },
    live: (session, handler) => {
      const live = client.live(session.token, (event) => {
        const mapped = liveEventOf(event);
        if (mapped) handler(mapped);
      }, { username: session.username });
      return { close: () => live.close() };
    },
    onConnection: (handler) => client.onStatus((status) => handler(connectionOf(status))),
    // Replies do not name the replica that served them (yet); the view shows the leader from `cluster`.
    onAnswered: () => () => undefined,
  };
}

type ClientLiveEvent = Parameters<Parameters<ChatClient['live']>[1]>[0];

function liveEventOf(event: ClientLiveEvent): LiveEvent | null {
  switch (event.type) {
    case 'message':
      return { type: 'message', message: event.message };
    case 'read':
      return { type: 'read', by: event.by, with: event.with, upToId: event.upToId };
    case 'deleted':
      return { type: 'deleted', with: event.with, ids: event.ids };
    case 'revoked':
      return { type: 'revoked' };
    case 'repaired':
      return { type: 'repaired' };
    case 'error':
      // A failed gap repair is retried by the client; the connection state already says what is wrong.
      return null;
  }
}

function connectionOf(status: string): Connection {
  if (status === 'connected') return 'connected';
  if (status === 'reconnecting') return 'reconnecting';
  return 'disconnected';
}
