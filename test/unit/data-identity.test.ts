/**
 * Data identities (actors/raft/identity.ts, storage/data-identity.ts,
 * actors/replica/admin.ts and guard.ts): what the rules allow and refuse,
 * and that a directory keeps its identity and a wiped one gets a new one.
 */
import test from 'ava';
import { rm } from 'node:fs/promises';
import knexFactory from 'knex';
import { join } from 'node:path';
import type { Configuration } from '../../actors/raft/types.ts';
import { configProblem } from '../../actors/raft/proposals.ts';
import { disowned, speaksForSender } from '../../actors/raft/identity.ts';
import { nextConfiguration, rejoinConfiguration } from '../../actors/replica/admin.ts';
import { checkDataDirectory } from '../../actors/replica/guard.ts';
import { DisownedReplicaError, WipedReplicaError } from '../../actors/replica/errors.ts';
import { claimDataDirectory, openReplicaStore, DATABASE_FILE } from '../../storage/replica-store.ts';
import { tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

const A = '00000000000000a1';
const B = '00000000000000b1';
const C = '00000000000000c1';
const C2 = '00000000000000c2';
const recorded: Configuration = { voters: ['r1', 'r2', 'r3'], learners: [], dataIds: { r1: A, r2: B, r3: C } };

test('an entry may record identities for members that had none, changing no role', (t) => {
  const before: Configuration = { voters: ['r1', 'r2', 'r3'], learners: [] };
  t.is(configProblem(before, recorded), null);
  t.is(configProblem(recorded, recorded), 'the configuration is unchanged');
  t.regex(configProblem(before, { ...before, dataIds: { r9: A } }) ?? '', /r9 has a data identity recorded but is not a member/);
  t.regex(configProblem(before, { ...before, dataIds: { r1: 'not-hex' } }) ?? '', /is not 16 hex digits/);
});

test("a voter's identity never changes while it votes; a learner's may", (t) => {
  t.regex(configProblem(recorded, { ...recorded, dataIds: { r1: A, r2: B, r3: C2 } }) ?? '', /r3 votes with data identity 00000000000000c1/);
  t.regex(configProblem(recorded, { ...recorded, dataIds: { r1: A, r2: B } }) ?? '', /r3 votes with data identity/);
  const demoted = { voters: ['r1', 'r2'], learners: ['r3'], dataIds: { r1: A, r2: B, r3: C2 } };
  t.is(configProblem(recorded, demoted), null);
  t.regex(configProblem(demoted, { voters: ['r1', 'r2', 'r3'], learners: [], dataIds: { r1: A, r2: B, r3: C } }) ?? '', /r3 votes with data identity 00000000000000c2/);
});

test('operator changes keep the recorded identities; a join brings its own; a removal drops it', (t) => {
  const added = nextConfiguration(recorded, { action: 'addLearner', id: 'r4' }, '00000000000000d1');
  t.deepEqual(added, { voters: ['r1', 'r2', 'r3'], learners: ['r4'], dataIds: { r1: A, r2: B, r3: C, r4: '00000000000000d1' } });
  const promoted = nextConfiguration(added as Configuration, { action: 'promote', id: 'r4' });
  t.deepEqual(promoted, { voters: ['r1', 'r2', 'r3', 'r4'], learners: [], dataIds: { r1: A, r2: B, r3: C, r4: '00000000000000d1' } });
  t.deepEqual(nextConfiguration(recorded, { action: 'remove', id: 'r3' }), { voters: ['r1', 'r2'], learners: [], dataIds: { r1: A, r2: B } });
});

test('a rejoin with another directory makes the member a learner with the new identity', (t) => {
  t.deepEqual(rejoinConfiguration(recorded, 'r3', C2), { voters: ['r1', 'r2'], learners: ['r3'], dataIds: { r1: A, r2: B, r3: C2 } });
  const refused = rejoinConfiguration(recorded, 'r9', C2);
  t.true(refused instanceof Error);
});

test('votes and acknowledgements under a recorded id count only with the recorded identity; leader messages are not checked', (t) => {
  const ack = { type: 'AppendEntriesResponse', from: 'r3', to: 'r1', term: 2, success: true, matchIndex: 5, conflictTerm: 0, conflictIndex: 0, round: 0 } as const;
  t.true(speaksForSender(recorded, { ...ack, dataId: C }));
  t.false(speaksForSender(recorded, { ...ack, dataId: C2 }));
  t.false(speaksForSender(recorded, ack), 'no identity where one is recorded');
  t.true(speaksForSender({ voters: ['r1', 'r2', 'r3'], learners: [] }, ack), 'nothing recorded yet');
  t.true(speaksForSender(recorded, { type: 'TimeoutNow', from: 'r3', to: 'r1', term: 2, dataId: C2 }));
  t.true(disowned({ config: recorded, id: 'r3', dataId: C2 }));
  t.false(disowned({ config: recorded, id: 'r3', dataId: C }));
  t.true(disowned({ config: recorded, id: 'r3', dataId: null }));
});

test('a directory keeps its identity across opens; a wiped one gets a new one; one from before identities gets one', async (t) => {
  const dir = await tempDir(t);
  const first = await claimDataDirectory({ dataDir: dir, replicaId: 'r1', migrations: testMigrations });
  t.regex(first, /^[0-9a-f]{16}$/);
  const store = await openReplicaStore({ dataDir: dir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
  t.is((await store.load()).dataId, first);
  await store.close();
  t.is(await claimDataDirectory({ dataDir: dir, replicaId: 'r1', migrations: testMigrations }), first);

  // A directory from before identities (or a copy whose identity was cleared).
  const knex = knexFactory({ client: 'sqlite3', connection: { filename: join(dir, DATABASE_FILE) }, useNullAsDefault: true });
  await knex('raft_identity').update({ data_id: null });
  await knex.destroy();
  const given = await claimDataDirectory({ dataDir: dir, replicaId: 'r1', migrations: testMigrations });
  t.regex(given, /^[0-9a-f]{16}$/);
  t.not(given, first);

  await rm(dir, { recursive: true, force: true });
  const wiped = await claimDataDirectory({ dataDir: dir, replicaId: 'r1', migrations: testMigrations });
  t.not(wiped, given);
});

/** A bus whose peers answer the status request with the given bodies (null: no answer). */
function peers(answers: Record<string, object | null>): Parameters<typeof checkDataDirectory>[0]['bus'] {
  return {
    request: (subject: string) => {
      const peer = /\.replica\.([^.]+)\.status$/.exec(subject)?.[1] ?? '';
      const answer = answers[peer];
      return answer ? Promise.resolve(JSON.stringify({ ok: true, ...answer })) : Promise.reject(new Error('no responders'));
    },
  };
}

const status = (id: string, extra: object): object => ({ id, role: 'follower', term: 3, leader: 'r1', commitIndex: 9, appliedIndex: 9, digest: '00', voters: ['r1', 'r2', 'r3'], learners: [], ...extra });
const quiet = { info: () => undefined };

test('the start guard refuses a directory whose identity differs from the recorded one, and lets the recorded one in', async (t) => {
  const args = { prefix: 'qc', id: 'r3', peers: ['r1', 'r2', 'r3'], log: quiet, identity: true };
  const bus = peers({ r1: status('r1', { dataIds: { r3: C } }), r2: null });
  const error = await t.throwsAsync(checkDataDirectory({ ...args, bus, empty: true, dataId: C2 }), { instanceOf: DisownedReplicaError });
  t.regex(error?.message ?? '', /its data directory has identity 00000000000000c2, but the cluster recorded 00000000000000c1 for r3 \(r1's configuration says so\).*--join/);
  await t.notThrowsAsync(checkDataDirectory({ ...args, bus, empty: false, dataId: C }));
  // --join: the identity was the leader's to check; an empty directory still gets the older guard.
  const leader = peers({ r1: status('r1', { role: 'leader', progress: { r3: { matchIndex: 4, nextIndex: 5, lastContactMs: 10 } } }) });
  await t.throwsAsync(checkDataDirectory({ ...args, identity: false, bus: leader, empty: true, dataId: C2 }), { instanceOf: WipedReplicaError });
  await t.notThrowsAsync(checkDataDirectory({ ...args, identity: false, bus, empty: true, dataId: C2 }));
});
