/**
 * The leader's memory of send facts (actors/chat/send-facts-cache.ts): a
 * send from a known session to a known recipient is prepared without a
 * read; applying a command that may remove a session or an account forgets
 * it; and a stale memory is never the authority, because the apply answers
 * what prepare would have.
 */
import test, { type ExecutionContext } from 'ava';
import { parseRequest, ProtocolError, SendFactsCache, type WriteRequest } from '../../actors/chat/index.ts';
import { FACTS_TTL_MS, MAX_REMEMBERED_SESSIONS } from '../../actors/chat/send-facts-cache.ts';
import { hashToken } from '../../actors/chat/sessions.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import type { PreparedWrite, WireReply } from '../../actors/replica/ports.ts';
import { Harness, T0 } from '../chat/harness.ts';

const row = (username: string) => ({ username, expires_ts: T0 + 3_600_000 });

test('a session and a recipient remembered together are a hit until FACTS_TTL_MS; either alone is a miss', (t) => {
  const cache = new SendFactsCache();
  t.is(cache.lookup('h1', 'bob', T0), null);
  cache.remember(cache.readToken(), 'h1', row('ada'), 'bob', T0);
  t.deepEqual(cache.lookup('h1', 'bob', T0 + FACTS_TTL_MS - 1), row('ada'));
  t.is(cache.lookup('h1', 'cy', T0), null, 'recipient not known');
  t.is(cache.lookup('h2', 'bob', T0), null, 'session not known');
  t.is(cache.lookup('h1', 'bob', T0 + FACTS_TTL_MS), null, 'too old');
  t.deepEqual(cache.size, { sessions: 0, recipients: 1 }, 'the expired session was dropped on lookup');
});

test('what a read found is dropped when forget ran while it was in flight, or when it began before that apply committed', (t) => {
  const cache = new SendFactsCache();
  const before = cache.readToken();
  cache.forget();
  cache.remember(before, 'h1', row('ada'), 'bob', T0);
  t.is(cache.lookup('h1', 'bob', T0), null, 'begun before the forget');
  const uncommitted = cache.readToken();
  cache.committed();
  cache.remember(uncommitted, 'h1', row('ada'), 'bob', T0);
  t.is(cache.lookup('h1', 'bob', T0), null, 'begun after the forget, before its transaction committed: it may have seen the old state');
  cache.remember(cache.readToken(), 'h1', row('ada'), 'bob', T0);
  t.deepEqual(cache.lookup('h1', 'bob', T0), row('ada'), 'begun after the commit');
  cache.forget();
  t.is(cache.lookup('h1', 'bob', T0), null);
});

test('at most MAX_REMEMBERED_SESSIONS sessions are kept, the oldest forgotten first', (t) => {
  const cache = new SendFactsCache();
  for (let i = 0; i <= MAX_REMEMBERED_SESSIONS; i++) cache.remember(cache.readToken(), `h${i}`, row(`u${i}`), 'bob', T0);
  t.is(cache.size.sessions, MAX_REMEMBERED_SESSIONS);
  t.is(cache.lookup('h0', 'bob', T0), null);
  t.deepEqual(cache.lookup(`h${MAX_REMEMBERED_SESSIONS}`, 'bob', T0), row(`u${MAX_REMEMBERED_SESSIONS}`));
});

/** The chat application over a harness database, counting the queries prepare sends to it. */
async function leader(t: ExecutionContext) {
  const h = await Harness.open();
  t.teardown(() => h.close());
  const ada = await h.user('ada');
  await h.user('bob');
  const app = chatApplication({ prefix: 'qc', reader: h.db, log: { error: () => undefined } });
  let queries = 0;
  h.db.on('query', () => (queries += 1));
  const prepare = async (op: string, body: unknown): Promise<PreparedWrite> => {
    const request = parseRequest(op, body);
    if (request instanceof ProtocolError) throw request;
    return await app.prepare(request as WriteRequest, h.now, (n) => h.randomBytes(n));
  };
  /** Commits a proposal at the next index and applies it as every replica would. */
  const apply = async (prepared: PreparedWrite): Promise<WireReply> => {
    if (prepared.kind !== 'propose') throw new Error(`nothing to apply: ${JSON.stringify(prepared)}`);
    h.index += 1;
    const entry = { index: h.index, term: 1, kind: 'command' as const, data: prepared.data };
    const applied = await h.db.transaction((trx) => app.apply(trx, entry));
    // As the runtime does (actors/replica/apply.ts) once the transaction committed.
    app.committed?.();
    return applied.reply instanceof ProtocolError ? applied.reply.toReply() : applied.reply;
  };
  const queriesDuring = async <T>(work: () => Promise<T>): Promise<{ value: T; queries: number }> => {
    const before = queries;
    const value = await work();
    return { value, queries: queries - before };
  };
  return { h, ada, app, prepare, apply, queriesDuring };
}

test('a second send from the same session to the same recipient is prepared without reading', async (t) => {
  const { ada, prepare, apply, queriesDuring } = await leader(t);
  const first = await queriesDuring(() => prepare('send', { token: ada, to: 'bob', text: 'one', requestId: 'r1' }));
  t.is(first.value.kind, 'propose');
  t.true(first.queries > 0, 'the first send reads its facts');
  t.like(await apply(first.value), { ok: true });
  const second = await queriesDuring(() => prepare('send', { token: ada, to: 'bob', text: 'two', requestId: 'r2' }));
  t.is(second.value.kind, 'propose');
  t.is(second.queries, 0, 'the second is answered from memory');
  t.like(await apply(second.value), { ok: true, message: { text: 'two', from: 'ada', to: 'bob' } });
});

test('applying a logout forgets: the next send reads again and is refused before the log', async (t) => {
  const { ada, prepare, apply, queriesDuring } = await leader(t);
  await apply(await prepare('send', { token: ada, to: 'bob', text: 'one', requestId: 'r1' }));
  t.like(await apply(await prepare('logout', { token: ada })), { ok: true });
  const after = await queriesDuring(() => prepare('send', { token: ada, to: 'bob', text: 'two', requestId: 'r2' }));
  t.true(after.queries > 0);
  t.like(after.value, { kind: 'answer', reply: { ok: false, error: { code: 'unauthorized' } } });
});

test('a stale memory is not the authority: the apply refuses a revoked session as prepare would have', async (t) => {
  const { h, ada, prepare, apply } = await leader(t);
  await apply(await prepare('send', { token: ada, to: 'bob', text: 'one', requestId: 'r1' }));
  // Behind the application's back (as a snapshot install would be): the memory still has the session.
  await h.db('sessions').where({ token_hash: hashToken(ada) }).delete();
  const prepared = await prepare('send', { token: ada, to: 'bob', text: 'two', requestId: 'r2' });
  t.is(prepared.kind, 'propose', 'served from memory');
  t.like(await apply(prepared), { ok: false, error: { code: 'unauthorized' } });
  t.is(await h.db('messages').where({ text: 'two' }).first(), undefined, 'nothing was stored');
});

test('a repeated send served from memory enters the log, and the apply answers it with the original message', async (t) => {
  const { h, ada, prepare, apply } = await leader(t);
  const original = await apply(await prepare('send', { token: ada, to: 'bob', text: 'one', requestId: 'same' }));
  const repeat = await prepare('send', { token: ada, to: 'bob', text: 'one', requestId: 'same' });
  t.is(repeat.kind, 'propose');
  t.deepEqual(await apply(repeat), original);
  t.is((await h.db('messages').count({ n: '*' }).first())?.['n'], 1, 'exactly once');
});
