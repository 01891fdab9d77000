/**
 * The chat view's `ChatPort` on actors/client's `ChatClient`: the protocol
 * ops, `send` retried by the client under one requestId through failovers
 * (each retry reported as it happens), live delivery with de-duplication and
 * gap repair, the NATS link's status as the view's connection state, and the
 * replica named by each reply.
 */
import type { ChatClient } from '../../actors/client/chat-client.ts';
import type { ChatMessage, Connection } from './chat-model.ts';
import type { ChatPort, ClusterInfo, LiveEvent } from './chat-port.ts';

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
    send: (req, onRetry): Promise<{ message: ChatMessage }> => client.send(req, { onRetry: (attempt) => onRetry(attempt) }),
    live: (session, handler) => {
      const live = client.live(session.token, (event) => {
        const mapped = liveEventOf(event);
        if (mapped) handler(mapped);
      }, { username: session.username });
      return { close: () => live.close() };
    },
    onConnection: (handler) => client.onStatus((status) => handler(connectionOf(status))),
    onAnswered: (handler) => client.onAnswer((answer) => handler(answer.replica)),
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
