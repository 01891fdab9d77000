import test from 'ava';
import { isWrite } from '../../actors/chat/requests.ts';
import { BadRequest, CHAT_OPS, parseRequest, parseRequestBytes, ProtocolError, TEXT_MAX_CHARS, TooLarge } from '../../actors/protocol/index.ts';

const expectError = (t: import('ava').ExecutionContext, result: unknown, cls: typeof BadRequest | typeof TooLarge, re: RegExp) => {
  t.true(result instanceof cls, `expected ${cls.name}, got ${JSON.stringify(result)}`);
  if (result instanceof ProtocolError) t.regex(result.message, re);
};

test('valid requests parse with defaults filled in', (t) => {
  t.deepEqual(parseRequest('register', { username: 'ada.L_1-x', password: 'password1' }), { op: 'register', username: 'ada.L_1-x', password: 'password1' });
  t.deepEqual(parseRequest('accounts', { token: 't' }), { op: 'accounts', token: 't', pattern: '*', limit: 100 });
  t.deepEqual(parseRequest('history', { token: 't', with: 'bob', beforeId: 0 }), { op: 'history', token: 't', with: 'bob', beforeId: 0, limit: 100 });
  t.deepEqual(parseRequest('deleteMessages', { token: 't', ids: [1, 2] }), { op: 'deleteMessages', token: 't', ids: [1, 2], forEveryone: false });
});

test('unknown fields are ignored', (t) => {
  t.deepEqual(parseRequest('logout', { token: 't', extra: 1 }), { op: 'logout', token: 't' });
});

test('unknown ops and cluster are bad_request', (t) => {
  expectError(t, parseRequest('nope', {}), BadRequest, /unknown op "nope"/);
  expectError(t, parseRequest('cluster', {}), BadRequest, /unknown op/);
});

test('non-object bodies are bad_request', (t) => {
  for (const body of [null, 1, 'x', [], undefined]) expectError(t, parseRequest('logout', body), BadRequest, /JSON object/);
});

test('missing and ill-typed fields name the field', (t) => {
  expectError(t, parseRequest('send', { token: 't', to: 'bob', text: 'hi' }), BadRequest, /requestId is required/);
  expectError(t, parseRequest('send', { token: 't', to: 'bob', text: 5, requestId: 'r' }), BadRequest, /text must be a string/);
  expectError(t, parseRequest('history', { token: 't', with: 'bob', limit: 1.5 }), BadRequest, /limit must be an integer/);
  expectError(t, parseRequest('deleteMessages', { token: 't', ids: [1, 'x'] }), BadRequest, /ids\.1/);
  expectError(t, parseRequest('deleteMessages', { token: 't', ids: [1], forEveryone: 'yes' }), BadRequest, /forEveryone must be a boolean/);
});

test('usernames: charset and length', (t) => {
  expectError(t, parseRequest('register', { username: 'a b', password: 'password1' }), BadRequest, /username may contain only/);
  expectError(t, parseRequest('register', { username: '', password: 'password1' }), BadRequest, /username must be at least 1/);
  expectError(t, parseRequest('register', { username: 'a'.repeat(33), password: 'password1' }), TooLarge, /username must be at most 32/);
  t.false(parseRequest('register', { username: 'a'.repeat(32), password: 'password1' }) instanceof ProtocolError);
});

test('passwords: 8 to 256 characters', (t) => {
  expectError(t, parseRequest('login', { username: 'a', password: 'short' }), BadRequest, /password must be at least 8/);
  expectError(t, parseRequest('login', { username: 'a', password: 'p'.repeat(257) }), TooLarge, /password must be at most 256/);
});

test('text counts code points and refuses lone surrogates', (t) => {
  const emoji = '😀'.repeat(TEXT_MAX_CHARS); // 8,000 UTF-16 units, 4,000 characters
  t.false(parseRequest('send', { token: 't', to: 'b', text: emoji, requestId: 'r' }) instanceof ProtocolError);
  expectError(t, parseRequest('send', { token: 't', to: 'b', text: emoji + 'x', requestId: 'r' }), TooLarge, /text must be at most 4000/);
  expectError(t, parseRequest('send', { token: 't', to: 'b', text: '', requestId: 'r' }), BadRequest, /text must be at least 1/);
  expectError(t, parseRequest('send', { token: 't', to: 'b', text: 'a\ud800', requestId: 'r' }), BadRequest, /text is not well-formed/);
  expectError(t, parseRequest('send', { token: 't', to: 'b', text: 'a', requestId: 'r'.repeat(65) }), TooLarge, /requestId/);
});

test('numbers out of range are bad_request, too many ids too_large', (t) => {
  expectError(t, parseRequest('history', { token: 't', with: 'b', limit: 1001 }), BadRequest, /limit/);
  expectError(t, parseRequest('history', { token: 't', with: 'b', afterId: -1 }), BadRequest, /afterId/);
  expectError(t, parseRequest('markRead', { token: 't', with: 'b', upToId: 0 }), BadRequest, /upToId/);
  expectError(t, parseRequest('accounts', { token: 't', limit: 0 }), BadRequest, /limit/);
  expectError(t, parseRequest('deleteMessages', { token: 't', ids: [] }), BadRequest, /ids/);
  expectError(t, parseRequest('deleteMessages', { token: 't', ids: Array.from({ length: 1001 }, (_, i) => i + 1) }), TooLarge, /ids must have at most 1000 items/);
  expectError(t, parseRequest('accounts', { token: 't', pattern: '*'.repeat(65) }), TooLarge, /pattern/);
});

test('raw bodies: UTF-8 and JSON (the size limit is the runtime\'s configured one)', (t) => {
  expectError(t, parseRequestBytes('logout', new Uint8Array([0xff, 0xfe])), BadRequest, /not UTF-8 JSON/);
  expectError(t, parseRequestBytes('logout', new TextEncoder().encode('{"token":')), BadRequest, /not UTF-8 JSON/);
  t.deepEqual(parseRequestBytes('logout', new TextEncoder().encode('{"token":"t"}')), { op: 'logout', token: 't' });
});

test('isWrite splits the ops', (t) => {
  const writes = CHAT_OPS.filter((op) => {
    const sample: Record<string, unknown> = { token: 't', username: 'a', password: 'password1', to: 'b', with: 'b', text: 'x', requestId: 'r', upToId: 1, ids: [1] };
    const r = parseRequest(op, sample);
    if (r instanceof ProtocolError) throw r;
    return isWrite(r);
  });
  t.deepEqual(writes, ['register', 'login', 'logout', 'send', 'markRead', 'deleteMessages', 'deleteAccount']);
});
