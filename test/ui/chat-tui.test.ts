/**
 * The terminal UI driven for real in pseudo-terminals (tmux): `quorumchat up`
 * runs a five-replica cluster and opens the UI (chat + dashboard); a second
 * terminal runs `quorumchat chat`. Two people register, exchange messages,
 * see the unread count, the leader is stopped from the dashboard, and the
 * chat goes on.
 */
import test from 'ava';
import { openTerminal, type Terminal } from './support/tmux.ts';
import { BIN, openUp, saveScreen as save, UI_ENV as ENV } from './support/up-terminal.ts';

const PASSWORD = 'correct-horse-1';

async function register(term: Terminal, username: string): Promise<void> {
  await term.waitFor(/log in/, 90_000);
  await term.keys('C-r');
  await term.waitFor(/register/);
  await term.type(username);
  await term.keys('Enter');
  await term.type(PASSWORD);
  await term.keys('Enter');
  await term.type(PASSWORD);
  await term.keys('Enter');
  await term.waitFor(new RegExp(`quorumchat │ ${username} │`));
}

test('two people chat through the terminal UI, and the chat goes on after the leader is stopped', async (t) => {
  const cluster = await openUp(t, 'up');
  const { term: up } = cluster;
  const port = new URL(cluster.natsUrl).port;

  await register(up, 'alice');
  save('chat-alice-empty', await up.screen());

  const chat = await openTerminal('chat', `node ${BIN} chat --nats nats://127.0.0.1:${port} --data ${cluster.dataRoot}`, { env: ENV, columns: 120, rows: 32 });
  t.teardown(() => chat.kill());
  save('chat-login', await chat.waitFor(/log in/, 60_000));
  await register(chat, 'bob');

  // Bob finds alice by pattern and writes to her.
  await chat.keys('C-n');
  await chat.waitFor(/glob pattern/);
  await chat.keys('C-u');
  await chat.type('al*');
  await chat.keys('Enter');
  await chat.waitFor(/1 found/);
  await chat.keys('Enter');
  await chat.waitFor(/ alice /);
  await chat.type('hello alice');
  await chat.keys('Enter');
  await chat.waitFor(/me: hello alice/);

  // Alice sees a conversation with one unread message, opens it, reads it.
  const unread = await up.waitFor(/bob \(1\)/);
  t.regex(unread, /1 unread/);
  save('chat-alice-unread', unread);
  await up.keys('Enter');
  await up.waitFor(/bob: hello alice/);
  await up.type('hi bob, all good here');
  await up.keys('Enter');
  await chat.waitFor(/alice: hi bob, all good here/);
  // Bob's message is marked read once alice has it open (✓✓).
  await chat.waitFor(/me: hello alice ✓✓/);
  const conversation = await chat.screen();
  // docs/protocol.md §1.1: every reply names its replica, and the status bar shows it.
  t.regex(conversation, /answered by r[1-5] · leader r[1-5]/);
  save('chat-bob-conversation', conversation);

  // The operator stops the leader from the dashboard tab.
  await up.keys('F3');
  const dash = await up.waitFor(/leader\s+\d+\s+(r\d)/);
  save('dashboard', dash);
  const rows = dash.split('\n').filter((l) => /^│?(r\d)\s+running/.test(l.replace(/^│/, '')));
  const leaderRow = rows.findIndex((l) => /\bleader\b\s+\d+/.test(l));
  const leaderId = /(r\d)/.exec(rows[leaderRow] ?? '')?.[1];
  t.truthy(leaderId, `a leader row on the dashboard:\n${dash}`);
  for (let i = 0; i < leaderRow; i++) await up.keys('Down');
  await up.keys('s');
  await up.waitFor(new RegExp(`Stop replica ${leaderId}`));
  await up.keys('y');
  // Bob sends while the leader is going away: the client retries with the same requestId until a new leader commits it.
  await chat.type('still there?');
  await chat.keys('Enter');
  await up.waitFor(new RegExp(`stop ${leaderId}: done`), 30_000);
  await up.waitFor(new RegExp(`leader (?!${leaderId})r\\d`), 60_000);
  // The inspector panel marks the stopped replica as silent once its keep-alives stop.
  const after = await up.waitFor(new RegExp(`${leaderId}\\s+t\\d+.*\\(silent \\d+s\\)`), 30_000);
  save('dashboard-after-failover', after);
  t.regex(after, new RegExp(`${leaderId}\\s+stopped`));

  // And starts it again: it rejoins as a follower of the new leader.
  await up.keys('t');
  await up.waitFor(new RegExp(`Start replica ${leaderId}`));
  await up.keys('y');
  await up.waitFor(new RegExp(`${leaderId}\\s+running\\s+follower\\s+\\d+\\s+r\\d`), 60_000);

  // Bob's message sent during the failover commits once and reaches alice.
  const sent = await chat.waitFor(/me: still there\? ✓/, 60_000);
  t.is(sent.match(/still there\?/g)?.length, 1, 'shown once');
  await up.keys('F2');
  const got = await up.waitFor(/bob: still there\?/, 60_000);
  t.is(got.match(/still there\?/g)?.length, 1);
  save('chat-alice-after-failover', got);

  // The UI follows a resize of the terminal.
  await chat.resize(90, 24);
  await chat.waitFor(/┌─ alice ─+┐\n/);
  const small = await chat.screen();
  t.true(small.split('\n').every((line) => [...line].length <= 90), 'nothing drawn past the new width');
  t.regex(small, /me: still there\? ✓/);
  save('chat-bob-resized', small);

  // The standalone dashboard watches the same cluster; it cannot stop replicas.
  const watch = await openTerminal('dash', `node ${BIN} dashboard --nats nats://127.0.0.1:${port} --data ${cluster.dataRoot}`, { env: ENV, columns: 140, rows: 40 });
  t.teardown(() => watch.kill());
  await watch.waitFor(/r\d\s+-\s+leader\s+\d/, 30_000);
  await watch.keys('s');
  const refused = await watch.waitFor(/only available inside quorumchat up/);
  t.regex(refused, /stop \(up only\)/);
  save('dashboard-standalone', refused);
  await watch.keys('C-c');

  // Help screen, and a clean exit of up (replicas and nats-server stopped).
  await up.keys('F1');
  save('chat-help', await up.waitFor(/Chat keys/));
  await up.keys('q');
  await up.waitFor(/^(?![\s\S]*Chat keys)/);
  await cluster.stop();
});
