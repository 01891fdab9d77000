import test from 'ava';
import {
  initialChatState,
  messageRows,
  newestId,
  olderCursor,
  readMarkNeeded,
  reduceChat,
  sendRetry,
  totalUnread,
  type ChatAction,
  type ChatMessage,
  type ChatState,
} from '../../cli/tui/chat-model.ts';

const msg = (id: number, from: string, to: string, text = `m${id}`, read = false): ChatMessage => ({ id, from, to, text, ts: 1_700_000_000_000 + id, read });
const run = (actions: ChatAction[], from: ChatState = initialChatState): ChatState => actions.reduce(reduceChat, from);
const asAlice = run([{ type: 'loggedIn', username: 'alice', token: 't1' }]);

test('conversations are listed newest first and a live message moves its conversation to the top', (t) => {
  const s = run(
    [
      { type: 'conversationsLoaded', conversations: [{ with: 'bob', lastId: 3, unread: 0 }, { with: 'carol', lastId: 7, unread: 2 }] },
      { type: 'messageReceived', message: msg(9, 'bob', 'alice') },
    ],
    asAlice,
  );
  t.deepEqual(s.conversations.map((c) => [c.with, c.lastId, c.unread]), [['bob', 9, 1], ['carol', 7, 2]]);
  t.is(totalUnread(s), 3);
});

test('a message delivered twice is shown once and counted unread once', (t) => {
  const s = run([{ type: 'messageReceived', message: msg(4, 'bob', 'alice') }, { type: 'messageReceived', message: msg(4, 'bob', 'alice') }], asAlice);
  t.deepEqual(s.conversations, [{ with: 'bob', lastId: 4, unread: 1 }]);
  const opened = run([{ type: 'conversationOpened', with: 'bob', messages: [msg(4, 'bob', 'alice')], hasOlder: false }, { type: 'messageReceived', message: msg(4, 'bob', 'alice') }], s);
  t.is(messageRows(opened).length, 1);
  t.is(opened.conversations[0]?.unread, 0);
});

test('a message in the open conversation is not unread and asks for a read mark', (t) => {
  const s = run(
    [
      { type: 'conversationOpened', with: 'bob', messages: [msg(1, 'alice', 'bob'), msg(2, 'bob', 'alice', 'hi', true)], hasOlder: false },
      { type: 'messageReceived', message: msg(5, 'bob', 'alice') },
    ],
    asAlice,
  );
  t.is(s.conversations[0]?.unread, 0);
  t.is(readMarkNeeded(s), 5);
  const marked = reduceChat(s, { type: 'markedRead', with: 'bob', upToId: 5 });
  t.is(readMarkNeeded(marked), null);
  t.true(marked.open?.messages.every((m) => m.from !== 'bob' || m.read));
});

test('messages for someone else are ignored', (t) => {
  const s = reduceChat(asAlice, { type: 'messageReceived', message: msg(3, 'bob', 'carol') });
  t.deepEqual(s.conversations, []);
});

test('a pending send shows greyed, survives a retry, and is replaced once by the acknowledged message', (t) => {
  const opened = run([{ type: 'conversationOpened', with: 'bob', messages: [], hasOlder: false }], asAlice);
  const sending = run([{ type: 'sendStarted', requestId: 'r1', to: 'bob', text: 'hello' }, { type: 'sendRetrying', requestId: 'r1', attempt: 1 }], opened);
  t.deepEqual(messageRows(sending).map((r) => (r.kind === 'pending' ? `pending:${r.pending.status}` : 'message')), ['pending:retrying']);
  // Live delivery of the sender's own message may race the reply; either order shows it once.
  const raced = run([{ type: 'messageReceived', message: msg(11, 'alice', 'bob', 'hello') }, { type: 'sendSucceeded', requestId: 'r1', message: msg(11, 'alice', 'bob', 'hello') }], sending);
  const rows = messageRows(raced);
  t.is(rows.length, 1);
  t.like(rows[0], { kind: 'message', mine: true });
  t.is(raced.conversations[0]?.unread, 0);
  t.is(newestId(raced), 11);
});

test('the retry number follows the client: the highest retry of sends being retried, cleared once acknowledged', (t) => {
  const opened = run([{ type: 'conversationOpened', with: 'bob', messages: [], hasOlder: false }], asAlice);
  const started = run([{ type: 'sendStarted', requestId: 'a', to: 'bob', text: 'one' }, { type: 'sendStarted', requestId: 'b', to: 'bob', text: 'two' }], opened);
  t.is(sendRetry(started), null, 'no retry before the client reports one');
  const retried = run(
    [
      { type: 'sendRetrying', requestId: 'a', attempt: 1 },
      { type: 'sendRetrying', requestId: 'a', attempt: 2 },
      { type: 'sendRetrying', requestId: 'b', attempt: 1 },
    ],
    started,
  );
  t.is(sendRetry(retried), 2);
  t.deepEqual(retried.pending.map((p) => [p.requestId, p.status, p.retries]), [['a', 'retrying', 2], ['b', 'retrying', 1]]);
  const oneAcked = reduceChat(retried, { type: 'sendSucceeded', requestId: 'a', message: msg(5, 'alice', 'bob', 'one') });
  t.is(sendRetry(oneAcked), 1);
  const bothAcked = reduceChat(oneAcked, { type: 'sendSucceeded', requestId: 'b', message: msg(6, 'alice', 'bob', 'two') });
  t.is(sendRetry(bothAcked), null);
  t.deepEqual(messageRows(bothAcked).map((r) => (r.kind === 'message' ? r.message.text : 'pending')), ['one', 'two'], 'each shown once');
  // A failed send is not "retrying", and a late callback does not revive it.
  const failed = run([{ type: 'sendFailed', requestId: 'b', error: 'unavailable' }, { type: 'sendRetrying', requestId: 'b', attempt: 3 }], retried);
  t.like(failed.pending.find((p) => p.requestId === 'b'), { status: 'failed', retries: 1 });
  t.is(sendRetry(failed), 2);
});

test('a failed send stays visible with its error until dismissed', (t) => {
  const s = run([{ type: 'sendStarted', requestId: 'r2', to: 'bob', text: 'x' }, { type: 'sendFailed', requestId: 'r2', error: 'cluster unavailable' }], asAlice);
  t.like(s.pending[0], { status: 'failed', error: 'cluster unavailable' });
  t.is(s.notice?.level, 'error');
  t.deepEqual(reduceChat(s, { type: 'sendDismissed', requestId: 'r2' }).pending, []);
});

test('history pages back to the start, merging by id', (t) => {
  let s = run([{ type: 'conversationOpened', with: 'bob', messages: [msg(8, 'bob', 'alice'), msg(9, 'alice', 'bob')], hasOlder: true }], asAlice);
  t.is(olderCursor(s), 8);
  s = reduceChat(s, { type: 'olderRequested' });
  t.true(s.open?.loadingOlder);
  t.is(reduceChat(s, { type: 'olderRequested' }), s, 'a second request while loading changes nothing');
  s = reduceChat(s, { type: 'olderLoaded', with: 'bob', messages: [msg(2, 'bob', 'alice'), msg(8, 'bob', 'alice')], hasOlder: false });
  t.deepEqual(s.open?.messages.map((m) => m.id), [2, 8, 9]);
  t.is(olderCursor(s), null);
  t.false(s.open?.loadingOlder);
});

test('history for a conversation that is no longer open is dropped', (t) => {
  const s = run([{ type: 'conversationOpened', with: 'carol', messages: [], hasOlder: false }], asAlice);
  t.is(reduceChat(s, { type: 'olderLoaded', with: 'bob', messages: [msg(1, 'bob', 'alice')], hasOlder: false }), s);
});

test('deleted messages leave the view', (t) => {
  const s = run(
    [
      { type: 'conversationOpened', with: 'bob', messages: [msg(1, 'bob', 'alice'), msg(2, 'alice', 'bob'), msg(3, 'bob', 'alice')], hasOlder: false },
      { type: 'messagesDeleted', ids: [2, 3] },
    ],
    asAlice,
  );
  t.deepEqual(s.open?.messages.map((m) => m.id), [1]);
});

test('logging out forgets the session but keeps what is known about the cluster', (t) => {
  const s = run(
    [
      { type: 'connectionChanged', connection: 'reconnecting' },
      { type: 'replicaAnswered', replica: 'r3', leader: 'r3' },
      { type: 'messageReceived', message: msg(1, 'bob', 'alice') },
      { type: 'loggedOut' },
    ],
    asAlice,
  );
  t.is(s.session, null);
  t.deepEqual(s.conversations, []);
  t.is(s.connection, 'reconnecting');
  t.is(s.replica, 'r3');
});

test('the other person reading marks my messages read in the open conversation', (t) => {
  const s = run(
    [
      { type: 'conversationOpened', with: 'bob', messages: [msg(1, 'alice', 'bob'), msg(2, 'alice', 'bob'), msg(3, 'bob', 'alice')], hasOlder: false },
      { type: 'peerRead', by: 'bob', upToId: 1 },
    ],
    asAlice,
  );
  t.deepEqual(s.open?.messages.map((m) => m.read), [true, false, false]);
  t.is(reduceChat(s, { type: 'peerRead', by: 'carol', upToId: 9 }), s);
});
