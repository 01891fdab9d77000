/**
 * The hand-written command check (actors/chat/command-check.ts) against its
 * reference, the zod schema: the same verdict and the same command for valid
 * commands, mutated ones and junk.
 */
import test from 'ava';
import fc from 'fast-check';
import { checkCommand } from '../../actors/chat/command-check.ts';
import { parseCommandWithSchema } from '../../actors/chat/commands.ts';

const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/);
const hash = fc.stringMatching(/^[0-9a-f]{64}$/);
const ts = fc.integer({ min: 0, max: 2 ** 45 });
const index = fc.integer({ min: 1, max: 2 ** 40 });
const auth = { ts, username: name, tokenHash: hash };

const command = fc.oneof(
  fc.record({ type: fc.constant('register'), ts, username: name, salt: fc.uint8Array({ maxLength: 4 }), hash: fc.uint8Array({ maxLength: 4 }), scrypt: fc.record({ n: fc.integer({ min: 2, max: 2 ** 20 }), r: fc.integer({ min: 1, max: 16 }), p: fc.integer({ min: 1, max: 4 }) }) }),
  fc.record({ type: fc.constant('login'), ts, username: name, accountIndex: index, tokenHash: hash, expiresTs: ts }),
  fc.record({ type: fc.constant('login'), ts, username: name, accountIndex: index, token: fc.string({ minLength: 1, maxLength: 8 }), expiresTs: ts }),
  fc.record({ type: fc.constant('login'), ts, username: name, accountIndex: index, tokenHash: hash, expiresTs: ts, liveKey: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) }),
  fc.record({ type: fc.constant('logout'), ...auth }),
  fc.record({ type: fc.constant('send'), ...auth, to: name, text: fc.string({ minLength: 1, maxLength: 20 }), requestId: fc.string({ minLength: 1, maxLength: 10 }) }),
  fc.record({ type: fc.constant('markRead'), ...auth, with: name, upToId: index }),
  fc.record({ type: fc.constant('deleteMessages'), ...auth, ids: fc.array(index, { minLength: 1, maxLength: 5 }), forEveryone: fc.boolean() }),
  fc.record({ type: fc.constant('deleteAccount'), ...auth, accountIndex: index }),
);

/** Values that are wrong in every way a field can be. */
const junk = fc.oneof(
  fc.anything(),
  fc.constantFrom(-1, 0, 1.5, 2 ** 53, Number.NaN, '', 'x'.repeat(9000), null, [], {}, new Uint8Array(), 'not a name!', 'A'.repeat(64)),
);

const mutated = fc.tuple(command, fc.nat(), junk, fc.constantFrom('replace', 'delete', 'extra')).map(([cmd, at, value, how]) => {
  const copy: Record<string, unknown> = { ...cmd };
  const keys = Object.keys(copy);
  const key = keys[at % keys.length]!;
  if (how === 'replace') copy[key] = value;
  if (how === 'delete') delete copy[key];
  if (how === 'extra') copy['extraField'] = value;
  return copy;
});

const sameVerdict = (value: unknown): boolean => {
  const hand = checkCommand(value);
  const reference = parseCommandWithSchema(value);
  if (hand.ok !== reference.success) return false;
  return !hand.ok || JSON.stringify(hand.command, bytesAsList) === JSON.stringify(reference.data, bytesAsList);
};

function bytesAsList(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? [...value] : value;
}

test('valid commands: the same verdict and the same command as the schema', (t) => {
  fc.assert(fc.property(command, sameVerdict), { numRuns: 2_000 });
  t.pass();
});

test('mutated commands: the same verdict as the schema', (t) => {
  fc.assert(fc.property(mutated, sameVerdict), { numRuns: 5_000 });
  t.pass();
});

test('junk: the same verdict as the schema', (t) => {
  fc.assert(fc.property(junk, sameVerdict), { numRuns: 2_000 });
  t.true(sameVerdict({ type: 'login', ts: 1, username: 'a', accountIndex: 1, token: 't', tokenHash: 'a'.repeat(64), expiresTs: 1 }), 'both token and hash');
  t.true(sameVerdict({ type: '__proto__' }));
  t.true(sameVerdict({ type: 'register', ts: 1, username: 'a', salt: new Uint8Array([1]), hash: new Uint8Array([2]), scrypt: { n: 2, r: 1, p: 1, extra: 9 } }), 'unknown keys inside scrypt are dropped too');
  t.true(sameVerdict({ type: 'send', ts: 1, username: 'a', tokenHash: 'a'.repeat(64), to: 'b', text: 'x'.repeat(8001), requestId: 'r' }));
});
