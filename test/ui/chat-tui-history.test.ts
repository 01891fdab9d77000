/**
 * The chat view in a real pseudo-terminal (tmux) against a real three-replica
 * cluster (LocalCluster, as `up` runs it): history paging back to the start,
 * unread count of a long conversation, deleting a message for everyone,
 * logging out, deleting the account; and the terminal inspector on the same
 * cluster.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatClient } from '../../actors/client/chat-client.ts';
import { UnauthorizedError } from '../../actors/client/errors.ts';
import { LocalCluster } from '../../cli/supervisor/local-cluster.ts';
import { freePort } from '../integration/support/nats-server.ts';
import { openTerminal, type Terminal } from './support/tmux.ts';

const BIN = fileURLToPath(new URL('../../cli/quorumchat.mjs', import.meta.url));
const ENV = { NCURSES_NO_UTF8_ACS: '1' };
const PASSWORD = 'correct-horse-2';
/** More than one history page (50) so paging back is needed to reach the start. */
const NOTES = 60;

async function logIn(term: Terminal, username: string): Promise<void> {
  await term.waitFor(/log in/, 60_000);
  await term.type(username);
  await term.keys('Enter');
  await term.type(PASSWORD);
  await term.keys('Enter');
  await term.waitFor(new RegExp(`quorumchat │ ${username} │`));
}

test('history pages back to the start; delete for everyone, log out and delete the account work from the keyboard', async (t) => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'qc-ui-hist-'));
  t.teardown(() => rmSync(dataRoot, { recursive: true, force: true }));
  const { cluster } = await LocalCluster.start({ dataRoot, replicaIds: ['r1', 'r2', 'r3'], port: await freePort(), prefix: 'quorumchat' });
  t.teardown(() => cluster.stop());
  const client = await ChatClient.connect({ servers: cluster.natsUrl, security: cluster.security('client') });
  t.teardown(() => client.close());

  await client.register({ username: 'carol', password: PASSWORD });
  await client.register({ username: 'dave', password: PASSWORD });
  const { token: dave } = await client.login({ username: 'dave', password: PASSWORD });
  for (let i = 1; i <= NOTES; i++) await client.send({ token: dave, to: 'carol', text: `note ${i}` });

  const term = await openTerminal('hist', `node ${BIN} chat --nats ${cluster.natsUrl} --data ${dataRoot}`, { env: ENV, columns: 110, rows: 30 });
  t.teardown(() => term.kill());
  await logIn(term, 'carol');
  await term.waitFor(new RegExp(`dave \\(${NOTES}\\)`));

  // Open: the newest page, with older history announced.
  await term.keys('Enter');
  const first = await term.waitFor(/dave: note 60/);
  t.notRegex(first, /dave: note 1\s+│/);
  // Page back until the start of the conversation shows, with the very first note.
  await term.keys('PageUp');
  for (let i = 0; i < 6; i++) await term.keys('PageUp');
  const start = await term.waitFor(/start of the conversation/);
  t.regex(start, /dave: note 1\s+│/);
  await term.keys('End');

  // Carol writes, then deletes her message for everyone.
  await term.keys('Tab');
  await term.type('to be deleted');
  await term.keys('Enter');
  await term.waitFor(/me: to be deleted ✓/);
  await term.keys('Up');
  await term.keys('d');
  await term.waitFor(/for everyone/);
  await term.keys('e');
  await term.waitFor(/deleted for everyone/);
  t.notRegex(await term.screen(), /to be deleted/);
  const seenByDave = await client.history({ token: dave, with: 'carol', limit: 5 });
  t.false(seenByDave.messages.some((m) => m.text === 'to be deleted'), 'gone from the other side too');

  // The terminal inspector on the same cluster shows every replica's state.
  const inspect = await openTerminal('insp', `node ${BIN} inspect --nats ${cluster.natsUrl} --data ${dataRoot}`, { env: ENV, columns: 110, rows: 30 });
  t.teardown(() => inspect.kill());
  const chart = await inspect.waitFor(/r1\s+t\d+[\s\S]*r2\s+t\d+[\s\S]*r3\s+t\d+/, 30_000);
  t.is(chart.match(/●/g)?.length, 3, 'each replica is in exactly one state');
  await inspect.keys('q');

  // Log out, log back in, delete the account.
  await term.keys('F10');
  await term.waitFor(/log in/);
  // The username stays filled in after a log out; the password is asked again.
  await term.type(PASSWORD);
  await term.keys('Enter');
  await term.waitFor(/quorumchat │ carol │/);
  await term.keys('F9');
  await term.waitFor(/Delete account carol/);
  await term.type(PASSWORD);
  await term.keys('Enter');
  await term.waitFor(/cannot be undone/);
  await term.keys('y');
  await term.waitFor(/account carol deleted/);
  await t.throwsAsync(client.login({ username: 'carol', password: PASSWORD }), { instanceOf: UnauthorizedError });
});
