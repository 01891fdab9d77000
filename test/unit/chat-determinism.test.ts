import test from 'ava';
import fc from 'fast-check';
import { dumpTables, Harness, openDb, replay } from '../chat/harness.ts';

const USERS = ['ada', 'bob', 'cat'] as const;

/** One random client action; ids are picked from what exists when it runs. */
const Action = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('send' as const), from: fc.nat(2), to: fc.nat(2), text: fc.string({ minLength: 1, maxLength: 8 }), requestId: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('markRead' as const), by: fc.nat(2), with: fc.nat(2), upTo: fc.nat(40) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), by: fc.nat(2), pick: fc.array(fc.nat(40), { minLength: 1, maxLength: 3 }), forEveryone: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(10_000) }) },
);
type Action = typeof Action extends fc.Arbitrary<infer A> ? A : never;

async function run(h: Harness, tokens: string[], actions: readonly Action[]): Promise<void> {
  for (const action of actions) {
    switch (action.kind) {
      case 'send':
        await h.call('send', { token: tokens[action.from], to: USERS[action.to], text: action.text, requestId: `r${action.requestId}` });
        break;
      case 'markRead':
        await h.call('markRead', { token: tokens[action.by], with: USERS[action.with], upToId: action.upTo + 1 });
        break;
      case 'delete': {
        const existing = (await h.db('messages').orderBy('id').pluck('id')) as number[];
        const ids = action.pick.map((p) => existing[p % Math.max(existing.length, 1)] ?? p + 1);
        await h.call('deleteMessages', { token: tokens[action.by], ids, forEveryone: action.forEveryone });
        break;
      }
      case 'tick':
        h.now += action.ms;
        break;
    }
  }
}

/** Recount, from the messages table alone, what every conversations row must say; and which rows must exist. */
async function recount(h: Harness) {
  const rows = (await h.db('messages').select()) as { id: number; sender: string; recipient: string; read: number; hidden_by_sender: number; hidden_by_recipient: number }[];
  const expected = new Map<string, { last_id: number; unread: number }>();
  const see = (owner: string, peer: string, id: number, unread: boolean) => {
    const key = `${owner}>${peer}`;
    const cur = expected.get(key) ?? { last_id: 0, unread: 0 };
    expected.set(key, { last_id: Math.max(cur.last_id, id), unread: cur.unread + (unread ? 1 : 0) });
  };
  for (const m of rows) {
    if (m.hidden_by_sender === 0) see(m.sender, m.recipient, m.id, false);
    if (m.hidden_by_recipient === 0) see(m.recipient, m.sender, m.id, m.read === 0);
    // A row nobody sees must have been removed.
    if (m.hidden_by_sender === 1 && m.hidden_by_recipient === 1) expected.set(`orphan ${m.id}`, { last_id: -1, unread: -1 });
  }
  const actual = new Map(
    ((await h.db('conversations').select()) as { owner: string; peer: string; last_id: number; unread: number }[]).map((c) => [
      `${c.owner}>${c.peer}`,
      { last_id: c.last_id, unread: c.unread },
    ]),
  );
  return { expected: Object.fromEntries([...expected].sort()), actual: Object.fromEntries([...actual].sort()) };
}

test('unread counts and lastIds equal a recount after random sends, reads and deletes', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(Action, { minLength: 1, maxLength: 40 }), async (actions) => {
      const h = await Harness.open();
      try {
        const tokens = [];
        for (const u of USERS) tokens.push(await h.user(u));
        await run(h, tokens, actions);
        const { expected, actual } = await recount(h);
        t.deepEqual(actual, expected);
        // The conversations reply agrees with the table for each user.
        for (const [i, u] of USERS.entries()) {
          const reply = await h.ok('conversations', { token: tokens[i] });
          const lastIds = (reply['conversations'] as { lastId: number }[]).map((c) => c.lastId);
          t.deepEqual(lastIds, [...lastIds].sort((a, b) => b - a), `${u}: newest first`);
        }
      } finally {
        await h.close();
      }
    }),
    { numRuns: 40, seed: 20261123 },
  );
});

test('applying the same committed log to two fresh databases yields identical tables', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(Action, { minLength: 5, maxLength: 40 }), async (actions) => {
      const leader = await Harness.open();
      const follower = await openDb();
      try {
        const tokens = [];
        for (const u of USERS) tokens.push(await leader.user(u));
        await run(leader, tokens, actions);
        // Exercise the account paths too: delete one account, re-create the name.
        await leader.call('deleteAccount', { token: tokens[1], password: 'password-of-bob' });
        await leader.user('bob', 'another password');
        await replay(follower, leader.log);
        t.deepEqual(await dumpTables(follower), await dumpTables(leader.db));
      } finally {
        await leader.close();
        await follower.destroy();
      }
    }),
    { numRuns: 15, seed: 7 },
  );
});
