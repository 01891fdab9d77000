import test from 'ava';
import fc from 'fast-check';
import { CHAT_OPS, parseRequest, parseRequestBytes, ProtocolError } from '../../actors/protocol/index.ts';
import { CommandDecodeError, decodeCommand } from '../../actors/chat/commands.ts';
import { encode } from '@msgpack/msgpack';

const op = fc.oneof(fc.constantFrom(...CHAT_OPS), fc.string());
/** Bodies shaped like requests (the known field names with arbitrary values), and anything at all. */
const body = fc.oneof(
  fc.anything(),
  fc.record(
    {
      token: fc.anything(), username: fc.anything(), password: fc.anything(), to: fc.anything(), text: fc.anything(),
      requestId: fc.anything(), with: fc.anything(), afterId: fc.anything(), beforeId: fc.anything(), limit: fc.anything(),
      upToId: fc.anything(), ids: fc.anything(), forEveryone: fc.anything(), pattern: fc.anything(), after: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

test('parseRequest never throws: every input is a request or a ProtocolError', (t) => {
  fc.assert(
    fc.property(op, body, (o, b) => {
      const result = parseRequest(o, b);
      if (result instanceof ProtocolError) {
        t.true(result.code === 'bad_request' || result.code === 'too_large');
        t.true(result.message.length > 0);
      } else {
        t.is(result.op as string, o);
      }
    }),
    { numRuns: 2_000, seed: 1 },
  );
});

test('parseRequestBytes never throws on arbitrary bytes or JSON text', (t) => {
  fc.assert(
    fc.property(op, fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.json().map((s) => new TextEncoder().encode(s))), (o, bytes) => {
      t.notThrows(() => parseRequestBytes(o, bytes));
    }),
    { numRuns: 2_000, seed: 2 },
  );
});

test('decodeCommand throws only CommandDecodeError on arbitrary bytes and MessagePack values', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.anything().map((v) => encode([1, v], { ignoreUndefined: true }))), (bytes) => {
      try {
        decodeCommand(bytes);
      } catch (err) {
        t.true(err instanceof CommandDecodeError, String(err));
      }
    }),
    { numRuns: 2_000, seed: 3 },
  );
});
