import test from 'ava';
import { createHash } from 'node:crypto';
import {
  ERROR_CODES, OPS, SendRequest, RegisterRequest, HistoryRequest, DeleteMessagesRequest,
  errorFromCode, ProtocolError, UnavailableError, BadRequestError, InternalError,
  sessionKeyOf, sessionKeyOfTokenHash, liveSubject, apiSubject, statusSubject,
  decodeLiveFrame, encodeLiveFrame, charCount,
} from '../../actors/client/index.ts';

test('every error code maps to its own class, and back', (t) => {
  const names = new Set<string>();
  for (const code of ERROR_CODES) {
    const err = errorFromCode(code, `m-${code}`);
    t.true(err instanceof ProtocolError);
    t.is(err.code, code);
    t.is(err.message, `m-${code}`);
    names.add(err.name);
  }
  t.is(names.size, ERROR_CODES.length);
  t.true(errorFromCode('unavailable', 'x') instanceof UnavailableError);
  t.false(errorFromCode('internal', 'x') instanceof UnavailableError);
  t.true(errorFromCode('internal', 'x') instanceof InternalError);
  t.true(errorFromCode('bad_request', 'x') instanceof BadRequestError);
});

test('request schemas carry the field rules of PROTOCOL.md', (t) => {
  t.true(RegisterRequest.safeParse({ username: 'a.b-c_9', password: '12345678' }).success);
  t.false(RegisterRequest.safeParse({ username: '', password: '12345678' }).success);
  t.false(RegisterRequest.safeParse({ username: 'x'.repeat(33), password: '12345678' }).success);
  t.false(RegisterRequest.safeParse({ username: 'bad name', password: '12345678' }).success);
  t.false(RegisterRequest.safeParse({ username: 'ada', password: '1234567' }).success);
  t.false(RegisterRequest.safeParse({ username: 'ada', password: 'p'.repeat(257) }).success);
  const send = { token: 't', to: 'bob', text: 'hi', requestId: 'r1' };
  t.true(SendRequest.safeParse(send).success);
  t.true(SendRequest.safeParse({ ...send, extra: 1 }).success, 'unknown fields are ignored');
  t.false(SendRequest.safeParse({ ...send, text: '' }).success);
  t.true(SendRequest.safeParse({ ...send, text: '😀'.repeat(4000) }).success, 'characters are code points');
  t.false(SendRequest.safeParse({ ...send, text: 'x'.repeat(4001) }).success);
  t.false(SendRequest.safeParse({ ...send, requestId: 'r'.repeat(65) }).success);
  t.false(HistoryRequest.safeParse({ token: 't', with: 'bob', limit: 1001 }).success);
  t.false(HistoryRequest.safeParse({ token: 't', with: 'bob', afterId: 1.5 }).success);
  t.false(DeleteMessagesRequest.safeParse({ token: 't', ids: [0] }).success);
  t.false(DeleteMessagesRequest.safeParse({ token: 't', ids: [] }).success);
  t.is(charCount('a😀b'), 3);
  t.is(Object.keys(OPS).length, 11);
});

test('subjects and the session key', (t) => {
  const token = 'secret-token';
  const full = createHash('sha256').update(token).digest('hex');
  t.is(sessionKeyOf(token), full.slice(0, 32));
  t.is(sessionKeyOfTokenHash(full.toUpperCase()), full.slice(0, 32));
  t.is(liveSubject('qc', 'abc'), 'qc.live.abc');
  t.is(apiSubject('qc', 'send'), 'qc.api.send');
  t.is(statusSubject('qc', 'r1'), 'qc.replica.r1.status');
});

test('live frames round trip; unknown types and garbage are reported, not thrown', (t) => {
  const message = { id: 7, from: 'ada', to: 'bob', text: 'hi', ts: 1, read: false };
  const decoded = decodeLiveFrame(encodeLiveFrame({ type: 'message', message }));
  t.deepEqual(decoded, { kind: 'frame', frame: { type: 'message', message } });
  t.deepEqual(decodeLiveFrame(new TextEncoder().encode('{"type":"typing","who":"x"}')), { kind: 'unknown', type: 'typing' });
  t.is(decodeLiveFrame(new Uint8Array([0xff, 0xfe])).kind, 'malformed');
  t.is(decodeLiveFrame(new TextEncoder().encode('[1]')).kind, 'malformed');
  t.is(decodeLiveFrame(new TextEncoder().encode('{"type":"message","message":{"id":0}}')).kind, 'malformed');
});
