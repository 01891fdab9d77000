/**
 * Applying committed commands in runs (actors/chat/apply-run.ts) gives exactly
 * what applying them one by one gives: the same replies, deliveries and
 * tables, wherever the batches are cut. Replicas cut their apply batches at
 * different places, so this is what keeps them identical.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { applyCommand } from '../../actors/chat/apply.ts';
import { applyCommands } from '../../actors/chat/apply-run.ts';
import type { ChatCommand } from '../../actors/chat/commands.ts';
import { hashToken } from '../../actors/chat/sessions.ts';
import { ProtocolError } from '../../actors/protocol/index.ts';
import { dumpTables, openDb, T0 } from '../chat/harness.ts';
import { encodeCommand } from '../../actors/chat/commands.ts';
import type { Entry } from '../../actors/raft/types.ts';
import { CHAT_MIGRATIONS } from '../../storage/chat/schema.ts';
import { openReplicaStore } from '../../storage/replica-store.ts';
import { independentDigest, tempDir } from '../storage/helpers.ts';

const USERS = ['ada', 'bob', 'cat'] as const;
const token = (user: number, generation: number): string => hashToken(`token-${user}-${generation}`);

/** A setup every log starts from: three accounts, each logged in once (entries 1..6). */
function setup(): ChatCommand[] {
  const commands: ChatCommand[] = USERS.map((username) => ({ type: 'register', ts: T0, username, salt: new Uint8Array([1]), hash: new Uint8Array([2]), scrypt: { n: 1024, r: 8, p: 1 } }));
  USERS.forEach((username, u) => commands.push({ type: 'login', ts: T0, username, accountIndex: u + 1, tokenHash: token(u, 0), expiresTs: T0 + 50_000 }));
  return commands;
}

/** Mostly sends, with what makes a send fail or repeat: bad or expired sessions, repeated requestIds, logouts, deleted recipients. */
const Step = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.nat(2), to: fc.nat(2), requestId: fc.nat(6), badToken: fc.boolean(), late: fc.nat(80_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('logout' as const), who: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('login' as const), who: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteAccount' as const), who: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('markRead' as const), who: fc.nat(2), with: fc.nat(2), upTo: fc.nat(30) }) },
);
type Step = typeof Step extends fc.Arbitrary<infer S> ? S : never;

function commandsOf(steps: readonly Step[]): ChatCommand[] {
  const generation = [0, 0, 0];
  return steps.map((step): ChatCommand => {
    switch (step.kind) {
      case 'send': {
        const tokenHash = step.badToken && step.requestId % 3 === 0 ? token(step.from, 99) : token(step.from, generation[step.from]!);
        return { type: 'send', ts: T0 + step.late, username: USERS[step.from]!, tokenHash, to: USERS[step.to]!, text: `hi ${step.requestId}`, requestId: `r${step.requestId}` };
      }
      case 'logout':
        return { type: 'logout', ts: T0, username: USERS[step.who]!, tokenHash: token(step.who, generation[step.who]!) };
      case 'login':
        generation[step.who]! += 1;
        return { type: 'login', ts: T0, username: USERS[step.who]!, accountIndex: step.who + 1, tokenHash: token(step.who, generation[step.who]!), expiresTs: T0 + 60_000 };
      case 'deleteAccount':
        return { type: 'deleteAccount', ts: T0, username: USERS[step.who]!, tokenHash: token(step.who, generation[step.who]!), accountIndex: step.who + 1 };
      case 'markRead':
        return { type: 'markRead', ts: T0, username: USERS[step.who]!, tokenHash: token(step.who, generation[step.who]!), with: USERS[step.with]!, upToId: step.upTo + 1 };
    }
  });
}

const shown = (result: { reply: unknown; deliveries: unknown }): string =>
  JSON.stringify({ reply: result.reply instanceof ProtocolError ? result.reply.toReply() : result.reply, deliveries: result.deliveries });

async function oneByOne(db: Knex, commands: readonly ChatCommand[]): Promise<string[]> {
  const out: string[] = [];
  for (const [i, command] of commands.entries()) out.push(shown(await db.transaction((trx) => applyCommand(trx, command, { index: i + 1, term: 1 }))));
  return out;
}

async function inRuns(db: Knex, commands: readonly ChatCommand[], cuts: readonly number[]): Promise<string[]> {
  const out: string[] = [];
  const bounds = [...new Set([0, ...cuts.map((c) => c % (commands.length + 1)), commands.length])].sort((a, b) => a - b);
  for (let b = 1; b < bounds.length; b += 1) {
    const batch = commands.slice(bounds[b - 1], bounds[b]).map((command, i) => ({ command, at: { index: bounds[b - 1]! + i + 1, term: 1 } }));
    const results = await db.transaction((trx) => applyCommands(trx, batch));
    out.push(...results.map(shown));
  }
  return out;
}

test('runs of commands apply exactly as one by one, wherever the batches are cut', async (t) => {
  let sendsInRuns = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(Step, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(60), { maxLength: 4 }), async (steps, cuts) => {
      const commands = [...setup(), ...commandsOf(steps)];
      const a = await openDb();
      const b = await openDb();
      try {
        const expected = await oneByOne(a, commands);
        const actual = await inRuns(b, commands, cuts);
        sendsInRuns += steps.filter((s) => s.kind === 'send').length;
        return JSON.stringify(actual) === JSON.stringify(expected) && JSON.stringify(await dumpTables(b)) === JSON.stringify(await dumpTables(a));
      } finally {
        await a.destroy();
        await b.destroy();
      }
    }),
    { numRuns: 60 },
  );
  t.true(sendsInRuns > 100, 'the property exercised many sends');
});

test('a repeated (sender, requestId) inside one batch: the second is answered with the first message, as one by one', async (t) => {
  const commands: ChatCommand[] = [
    ...setup(),
    { type: 'send', ts: T0, username: 'ada', tokenHash: token(0, 0), to: 'bob', text: 'one', requestId: 'same' },
    { type: 'send', ts: T0, username: 'ada', tokenHash: token(0, 0), to: 'bob', text: 'two', requestId: 'same' },
    { type: 'send', ts: T0, username: 'bob', tokenHash: token(1, 0), to: 'ada', text: 'three', requestId: 'same' },
  ];
  const a = await openDb();
  const b = await openDb();
  try {
    const expected = await oneByOne(a, commands);
    const actual = await inRuns(b, commands, []);
    t.deepEqual(actual, expected);
    t.deepEqual(await dumpTables(b), await dumpTables(a));
    t.regex(actual[7]!, /"text":"one"/, 'the repeat gets the first message back');
  } finally {
    await a.destroy();
    await b.destroy();
  }
});

/**
 * The same runs through the store: its own transaction on the writer connection and the
 * send statements prepared once on it (storage/prepared.ts), not Knex transactions and
 * `raw`. Replies, tables and the digest must match applying one by one.
 */
async function inStoreRuns(dataDir: string, commands: readonly ChatCommand[], cuts: readonly number[]): Promise<{ replies: string[]; tables: unknown; digest: string; entries: Entry[] }> {
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: CHAT_MIGRATIONS, initialConfig: { voters: ['r1'], learners: [] } });
  try {
    const entries: Entry[] = commands.map((command, i) => ({ index: i + 1, term: 1, kind: 'command', data: encodeCommand(command) }));
    await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries });
    const replies: string[] = [];
    const bounds = [...new Set([0, ...cuts.map((c) => c % (commands.length + 1)), commands.length])].sort((a, b) => a - b);
    for (let b = 1; b < bounds.length; b += 1) {
      const batch = entries.slice(bounds[b - 1], bounds[b]);
      // The first entry of the batch applies the whole run; the others are answered from it (as the runtime's commandApplier does).
      let results: string[] | null = null;
      const positioned = batch.map((entry) => ({ command: commands[entry.index - 1]!, at: { index: entry.index, term: entry.term } }));
      const answered = await store.apply(batch, async (db, entry) => {
        results ??= (await applyCommands(db, positioned)).map(shown);
        return results[entry.index - batch[0]!.index]!;
      });
      replies.push(...answered);
    }
    return { replies, tables: await dumpTables(store.reader), digest: store.status().digest, entries };
  } finally {
    await store.close();
  }
}

test('through the store (its own transaction, prepared statements) runs apply exactly as one by one', async (t) => {
  const root = await tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(Step, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(60), { maxLength: 4 }), async (steps, cuts) => {
      const commands = [...setup(), ...commandsOf(steps)];
      const a = await openDb();
      try {
        const expected = await oneByOne(a, commands);
        const actual = await inStoreRuns(`${root}/run-${run++}`, commands, cuts);
        return (
          JSON.stringify(actual.replies) === JSON.stringify(expected) &&
          JSON.stringify(actual.tables) === JSON.stringify(await dumpTables(a)) &&
          actual.digest === independentDigest(actual.entries)
        );
      } finally {
        await a.destroy();
      }
    }),
    { numRuns: 25 },
  );
  t.pass();
});
