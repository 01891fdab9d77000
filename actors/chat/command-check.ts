/**
 * The hot-path check of a decoded chat command: every replica decodes every
 * committed entry, so this runs once per entry per replica. It accepts and
 * refuses exactly what `ChatCommandSchema` (commands.ts, the reference) does,
 * and returns the same object (known fields only, in the schema's order);
 * test/unit/chat-command-check.test.ts holds the two to that with fast-check.
 * zod stays the reference and the edge people touch; this only runs on
 * bytes a leader encoded.
 */
import { DELETE_MAX_IDS, PASSWORD_MAX_CHARS, REQUEST_ID_MAX_CHARS, SEAL_KEY_FORM, TEXT_MAX_CHARS, USERNAME_CHARSET, USERNAME_MAX_CHARS } from '../protocol/index.ts';
import type { ChatCommand } from './commands.ts';

/** Why a value is not a command (the first problem found), or the command. */
export type CommandCheck = { readonly ok: true; readonly command: ChatCommand } | { readonly ok: false; readonly problem: string };

type Fields = Record<string, unknown>;
type Field = (value: unknown) => boolean;

const TOKEN_HASH = /^[0-9a-f]{64}$/;
const isInt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
const ts: Field = (v) => isInt(v) && v >= 0;
const logIndex: Field = (v) => isInt(v) && v >= 1;
const chars = (min: number, max: number): Field => (v) => typeof v === 'string' && v.length >= min && v.length <= max;
const username: Field = (v) => chars(1, USERNAME_MAX_CHARS)(v) && USERNAME_CHARSET.test(v as string);
const tokenHash: Field = (v) => typeof v === 'string' && TOKEN_HASH.test(v);
const bytes: Field = (v) => v instanceof Uint8Array;
const sealKey: Field = (v) => typeof v === 'string' && SEAL_KEY_FORM.test(v);
const scrypt: Field = (v) => isPlainObject(v) && isInt(v['n']) && v['n'] >= 2 && isInt(v['r']) && v['r'] >= 1 && isInt(v['p']) && v['p'] >= 1;
const ids: Field = (v) => Array.isArray(v) && v.length >= 1 && v.length <= DELETE_MAX_IDS && v.every(logIndex);

const AUTHENTICATED: readonly (readonly [string, Field])[] = [
  ['ts', ts],
  ['username', username],
  ['tokenHash', tokenHash],
];

/** Each command type's fields in the reference schema's order; `optional` fields may be absent. */
const SHAPES: Readonly<Record<ChatCommand['type'], { readonly fields: readonly (readonly [string, Field])[]; readonly optional?: readonly string[] }>> = {
  register: { fields: [['ts', ts], ['username', username], ['salt', bytes], ['hash', bytes], ['scrypt', scrypt]] },
  login: {
    fields: [['ts', ts], ['username', username], ['accountIndex', logIndex], ['tokenHash', tokenHash], ['token', chars(1, PASSWORD_MAX_CHARS)], ['expiresTs', ts], ['liveKey', sealKey]],
    optional: ['tokenHash', 'token', 'liveKey'],
  },
  logout: { fields: AUTHENTICATED },
  send: { fields: [...AUTHENTICATED, ['to', username], ['text', chars(1, TEXT_MAX_CHARS * 2)], ['requestId', chars(1, REQUEST_ID_MAX_CHARS * 2)]] },
  markRead: { fields: [...AUTHENTICATED, ['with', username], ['upToId', logIndex]] },
  deleteMessages: { fields: [...AUTHENTICATED, ['ids', ids], ['forEveryone', (v) => typeof v === 'boolean']] },
  deleteAccount: { fields: [...AUTHENTICATED, ['accountIndex', logIndex]] },
};

export function checkCommand(value: unknown): CommandCheck {
  if (!isPlainObject(value)) return { ok: false, problem: 'not an object' };
  const type = value['type'];
  if (typeof type !== 'string' || !Object.hasOwn(SHAPES, type)) return { ok: false, problem: `unknown command type ${JSON.stringify(type)}` };
  const shape = SHAPES[type as ChatCommand['type']];
  const out: Fields = { type };
  for (const [name, valid] of shape.fields) {
    const field = value[name];
    if (field === undefined && shape.optional?.includes(name) === true) continue;
    if (!valid(field)) return { ok: false, problem: `${type}.${name} is missing or invalid` };
    out[name] = name === 'scrypt' ? pick(field as Fields, ['n', 'r', 'p']) : field;
  }
  if (type === 'login' && (out['tokenHash'] === undefined) === (out['token'] === undefined)) return { ok: false, problem: 'a login carries exactly one of tokenHash and token' };
  return { ok: true, command: out as ChatCommand };
}

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function pick(value: Fields, keys: readonly string[]): Fields {
  return Object.fromEntries(keys.map((key) => [key, value[key]]));
}
