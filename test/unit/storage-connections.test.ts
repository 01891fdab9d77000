import test from 'ava';
import { join } from 'node:path';
import { openSnapshotWriter, openSqlite } from '../../storage/connection.ts';
import { tempDir } from '../storage/helpers.ts';

const quiet = { warn: () => undefined };

/** A replica database with one row, written through the writer connection. */
async function seededDatabase(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const file = join(await tempDir(t), 'replica.sqlite');
  const writer = openSqlite(file, 'read-write', quiet);
  await writer.raw('CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT)');
  await writer.raw("INSERT INTO messages (body) VALUES ('kept')");
  await writer.destroy();
  return file;
}

test('the read-only connection refuses every write', async (t) => {
  const file = await seededDatabase(t);
  const reader = openSqlite(file, 'read-only', quiet);
  t.teardown(() => reader.destroy());
  t.deepEqual(await reader.raw('SELECT body FROM messages'), [{ body: 'kept' }]);
  await t.throwsAsync(reader.raw("INSERT INTO messages (body) VALUES ('lost')"), { message: /readonly|query_only/i });
});

test('the snapshot writer reads the replica database but cannot change it', async (t) => {
  const file = await seededDatabase(t);
  const target = join(await tempDir(t), 'snapshot.sqlite');
  const snapshotWriter = openSnapshotWriter(target, file, quiet);
  t.teardown(() => snapshotWriter.destroy());
  await snapshotWriter.raw('CREATE TABLE main.copy AS SELECT * FROM replica.messages');
  t.deepEqual(await snapshotWriter.raw('SELECT body FROM main.copy'), [{ body: 'kept' }]);
  await t.throwsAsync(snapshotWriter.raw("INSERT INTO replica.messages (body) VALUES ('lost')"), { message: /readonly/i });
  await t.throwsAsync(snapshotWriter.raw('DELETE FROM replica.messages'), { message: /readonly/i });
});
