/**
 * Malformed, oversized and ill-typed requests on every op get a clear error,
 * commit nothing, and leave every replica running. Every reply, error or
 * success, names the replica that answered (docs/protocol.md §1.1).
 */
import test from 'ava';
import { account, ReplicaCluster, type Reply } from './support/replica-cluster.ts';

const OPS = ['register', 'login', 'logout', 'accounts', 'send', 'history', 'conversations', 'markRead', 'deleteMessages', 'deleteAccount', 'cluster'] as const;

/** One ill-typed body per op (a field of the wrong type or out of range). */
const ILL_TYPED: Record<(typeof OPS)[number], unknown> = {
  register: { username: 42, password: 'long enough password' },
  login: { username: 'ada', password: ['not', 'a', 'string'] },
  logout: { token: null },
  accounts: { token: 'x', limit: -1 },
  send: { token: 'x', to: 'bob', text: '', requestId: 'r1' },
  history: { token: 'x', with: 'bob', limit: 1_000_000 },
  conversations: { token: 7 },
  markRead: { token: 'x', with: 'bob', upToId: 'seven' },
  deleteMessages: { token: 'x', ids: [1.5] },
  deleteAccount: { token: 'x', password: 'short' },
  cluster: [],
};

test('bad requests on every op get a clear error, commit nothing, and no replica stops', async (t) => {
  t.timeout(180_000);
  const cluster = await ReplicaCluster.start(t, { size: 3 });
  const leader = await cluster.waitForLeader();
  const token = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const before = await cluster.waitForConvergence();
  const pids = before.map((s) => s.pid);

  const answeredBy = new Set<string>();
  /** docs/protocol.md §1.1: `replica` is one of the cluster's replicas, `leader` the one it knows. */
  const answeredByAReplica = (reply: Reply, what: string): void => {
    const replica = (reply as { replica?: unknown }).replica;
    t.true(typeof replica === 'string' && cluster.ids.includes(replica), `${what}: replica ${String(replica)}`);
    t.is((reply as { leader?: unknown }).leader, leader, `${what}: leader`);
    if (typeof replica === 'string') answeredBy.add(replica);
  };
  const oversized = JSON.stringify({ token, to: 'bob', text: 'x'.repeat(70_000), requestId: 'big' });
  for (const op of OPS) {
    const cases: [string, unknown, string[]][] = [
      ['an empty body', '', ['bad_request']],
      ['malformed JSON', '{"username": "ada", ', ['bad_request']],
      ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), ['bad_request']],
      ['a JSON array', '[1, 2, 3]', ['bad_request']],
      ['a JSON string', '"hello"', ['bad_request']],
      ['oversized', oversized, ['too_large']],
      ['ill-typed', JSON.stringify(ILL_TYPED[op]), ['bad_request', 'too_large']],
    ];
    if (op !== 'cluster') cases.push(['missing fields', '{}', ['bad_request']]);
    for (const [what, body, codes] of cases) {
      const reply = await cluster.request(op, body);
      t.false(reply.ok, `${op} with ${what} must fail`);
      answeredByAReplica(reply, `${op} with ${what}`);
      if (reply.ok) continue;
      t.true(codes.includes(reply.error.code), `${op} with ${what}: got ${reply.error.code} (${reply.error.message})`);
      t.true(reply.error.message.length > 5, `${op} with ${what} has a message`);
    }
  }
  const unknown = await cluster.request('noSuchOp', '{}');
  t.is(unknown.ok ? 'ok' : unknown.error.code, 'bad_request');
  answeredByAReplica(unknown, 'an unknown op');
  // A wrong token is not a bad request but it commits nothing either.
  const unauthorized = await cluster.request('send', { token: 'not-a-token', to: 'bob', text: 'hi', requestId: 'u1' });
  t.is(unauthorized.ok ? 'ok' : unauthorized.error.code, 'unauthorized');

  // Forwarding messages from something that is not a replica are refused too.
  const forged = await cluster.nc.request(`${cluster.prefix}.replica.${leader}.forward`, '{"kind":"write"}', { timeout: 5_000 });
  t.regex(forged.string(), /bad_request/);

  // Still the same processes, still serving, and nothing was committed by any of it.
  const after = await cluster.waitForConvergence();
  t.deepEqual(after.map((s) => s.pid), pids);
  t.is(after[0]?.appliedIndex, before[0]?.appliedIndex);
  const sent = await cluster.request('send', { token, to: 'bob', text: 'still here', requestId: 'ok-1' });
  t.true(sent.ok);
  answeredByAReplica(sent, 'a send');
  // The queue group spreads ~70 requests over 3 replicas: each names itself, not one fixed id.
  t.true(answeredBy.size > 1, `answered by ${[...answeredBy].join(',')}`);
});
