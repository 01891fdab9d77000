import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openReplicaStore } from '../../storage/index.ts';
import { CHAT_MIGRATIONS } from '../../storage/chat/schema.ts';
import { applyCommand, decodeCommand } from '../../actors/chat/index.ts';
import type { Entry } from '../../actors/raft/types.ts';
import { dumpTables, Harness } from '../chat/harness.ts';

const CONFIG = { voters: ['r1', 'r2'], learners: [] };

async function store(t: import('ava').ExecutionContext, replicaId: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'chat-snapshot-'));
  const s = await openReplicaStore({ dataDir, replicaId, migrations: CHAT_MIGRATIONS, initialConfig: CONFIG });
  t.teardown(async () => {
    await s.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return s;
}

const applyOne = async (trx: import('knex').Knex, entry: Entry) =>
  entry.kind === 'command' ? applyCommand(trx, decodeCommand(entry.data), { index: entry.index, term: entry.term }) : undefined;

test('chat tables survive storage snapshot and install: a follower catches up to identical tables', async (t) => {
  // The committed log, produced by a leader-side harness.
  const h = await Harness.open();
  t.teardown(() => h.close());
  const ada = await h.user('ada');
  const bob = await h.user('bob');
  const ids: number[] = [];
  for (let i = 0; i < 12; i++) {
    const [token, to] = i % 3 === 0 ? [bob, 'ada'] : [ada, 'bob'];
    ids.push(((await h.ok('send', { token, to, text: `m${i}`, requestId: `r${i}` }))['message'] as { id: number }).id);
  }
  await h.ok('markRead', { token: bob, with: 'ada', upToId: ids[4] });
  await h.ok('deleteMessages', { token: bob, ids: [ids[1]] });
  const half = h.index;
  for (let i = 12; i < 20; i++) await h.ok('send', { token: bob, to: 'ada', text: `m${i}`, requestId: `r${i}` });
  await h.ok('deleteMessages', { token: ada, ids: [ids[2]], forEveryone: true });

  const byIndex = new Map(h.log.map((c) => [c.index, c.bytes]));
  const entries: Entry[] = Array.from({ length: h.index }, (_, i) => {
    const data = byIndex.get(i + 1);
    return data ? { index: i + 1, term: 1, kind: 'command', data } : { index: i + 1, term: 1, kind: 'noop' };
  });

  const leader = await store(t, 'r1');
  await leader.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
  await leader.apply(entries.slice(0, half), applyOne);
  const snapshot = await leader.createSnapshot();
  await leader.apply(entries.slice(half), applyOne);

  const follower = await store(t, 'r2');
  await follower.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
  await follower.installSnapshot(snapshot.meta, snapshot.file);
  await follower.apply(entries.slice(half), applyOne);

  const expected = await dumpTables(h.db);
  t.deepEqual(await dumpTables(leader.reader), expected);
  // If restoring rows fired the messages trigger, the follower's unread counts would be doubled here.
  t.deepEqual(await dumpTables(follower.reader), expected);
  t.is(follower.status().digest, leader.status().digest);
});
