/**
 * The chat status bar and the controller around it: "answered by rN" from the
 * replies' `replica`, and "reconnecting… (retry N, same request)" exactly
 * while the client retries a send, cleared when it is acknowledged.
 */
import test from 'ava';
import { ChatController } from '../../cli/tui/chat-controller.ts';
import type { ChatPort, ClusterInfo } from '../../cli/tui/chat-port.ts';
import { initialChatState, reduceChat, type ChatMessage, type ChatState } from '../../cli/tui/chat-model.ts';
import { statusLine } from '../../cli/tui/chat-view.ts';

/** The status bar as a person reads it: blessed tags removed. */
const shown = (state: ChatState): string => statusLine(state).replace(/\{\/?[a-z-]+\}/g, '');

const message: ChatMessage = { id: 4, from: 'alice', to: 'bob', text: 'during the failover', ts: 1_700_000_000_000, read: false };

/** A port whose `send` the test releases step by step, and whose replies name replicas on demand. */
function fakePort() {
  const answered = new Set<(replica: string) => void>();
  let retry: (attempt: number) => void = () => undefined;
  let acknowledge: (reply: { message: ChatMessage }) => void = () => undefined;
  let sendStarted: () => void = () => undefined;
  const sendCalled = new Promise<void>((resolve) => {
    sendStarted = resolve;
  });
  const unsupported = (): never => {
    throw new Error('not used by this test');
  };
  const port: ChatPort = {
    register: unsupported,
    login: async ({ username }) => ({ token: 'tok', username }),
    logout: async () => ({}),
    accounts: unsupported,
    history: async () => ({ messages: [], hasMore: false }),
    conversations: async () => ({ conversations: [] }),
    markRead: async () => ({}),
    deleteMessages: unsupported,
    deleteAccount: unsupported,
    cluster: async (): Promise<ClusterInfo> => ({ leader: 'r1', term: 2, voters: 5, reachableVoters: 5 }),
    send: (_req, onRetry) => {
      retry = onRetry;
      sendStarted();
      return new Promise((resolve) => {
        acknowledge = resolve;
      });
    },
    live: () => ({ close: () => undefined }),
    onConnection: () => () => undefined,
    onAnswered: (handler) => {
      answered.add(handler);
      return () => answered.delete(handler);
    },
  };
  return {
    port,
    sendCalled,
    answer: (replica: string) => answered.forEach((h) => h(replica)),
    retry: (attempt: number) => retry(attempt),
    acknowledge: () => acknowledge({ message }),
    listeners: () => answered.size,
  };
}

test('the status bar names the replica that answered and the retry in progress', (t) => {
  const base = reduceChat(initialChatState, { type: 'loggedIn', username: 'alice', token: 'tok' });
  const answered = reduceChat(base, { type: 'replicaAnswered', replica: 'r3', leader: 'r1', reachable: { up: 5, of: 5 } });
  t.is(shown(answered), ' quorumchat │ alice │ ● connected │ answered by r3 · leader r1 · 5/5 voters reachable');
  const retrying = [
    { type: 'sendStarted', requestId: 'q', to: 'bob', text: 'x' },
    { type: 'sendRetrying', requestId: 'q', attempt: 3 },
  ] as const;
  const during = retrying.reduce(reduceChat, answered);
  t.regex(shown(during), /● reconnecting… \(retry 3, same request\) │ answered by r3/);
  // Even with the NATS link reporting a reconnect, the bar says the retry number while one is under way.
  t.regex(shown(reduceChat(during, { type: 'connectionChanged', connection: 'reconnecting' })), /reconnecting… \(retry 3, same request\)/);
  t.regex(shown(reduceChat(answered, { type: 'connectionChanged', connection: 'reconnecting' })), /● reconnecting… │/);
});

test('a send retried through a failover shows each retry as the client reports it, then the message once', async (t) => {
  const fake = fakePort();
  const controller = new ChatController(fake.port);
  t.teardown(() => controller.close());
  const bars: string[] = [];
  controller.subscribe((state) => bars.push(shown(state)));
  await controller.login('alice', 'password-1');
  await controller.open('bob');
  fake.answer('r2');
  t.regex(shown(controller.state), /answered by r2/);

  const sending = controller.send('during the failover');
  await fake.sendCalled;
  t.regex(shown(controller.state), /● connected/, 'no retry shown before the client retries');
  fake.retry(1);
  t.regex(shown(controller.state), /reconnecting… \(retry 1, same request\)/);
  fake.answer('r4');
  fake.retry(2);
  t.regex(shown(controller.state), /reconnecting… \(retry 2, same request\) │ answered by r4/);
  fake.acknowledge();
  await sending;
  t.regex(shown(controller.state), /● connected │ answered by r4/);
  t.deepEqual(controller.state.pending, []);
  t.deepEqual(controller.state.open?.messages.map((m) => m.text), ['during the failover']);
  // Retry 1, the answer from r4 (still retry 1), retry 2; then no bar mentions a retry.
  t.deepEqual(bars.filter((b) => b.includes('retry')).map((b) => /retry (\d)/.exec(b)?.[1]), ['1', '1', '2']);
  t.false(bars.at(-1)?.includes('retry'));
  await controller.close();
  t.is(fake.listeners(), 0, 'close unsubscribes from the answers');
});
