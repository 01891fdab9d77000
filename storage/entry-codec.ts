/**
 * The canonical byte encoding of a log entry, defined in this one place.
 *
 * Every replica must turn the same entry into the same bytes: the applied
 * digest (PROTOCOL.md, per-replica status) and the per-entry checksum are
 * computed over them. The encoding is MessagePack of the array
 * `[index, term, kind, payload]` where payload is
 *   - `null` for a `noop`,
 *   - the command bytes (MessagePack bin) for a `command`,
 *   - `[voters, learners]` (arrays of replica ids, in the entry's order) for a `config`,
 *     or `[voters, learners, dataIds]` when it records data identities, `dataIds` being
 *     `[id, dataId]` pairs sorted by id (entries written before identities keep their bytes).
 * MessagePack writes each integer in its shortest form and an array keeps its
 * order, so the bytes depend on nothing but the entry's values.
 */
import { decode } from '@msgpack/msgpack';
import { crc32 } from 'node:zlib';
import type { Configuration, Entry } from '../actors/raft/types.ts';
import { Packer } from '../actors/util/packer.ts';

/**
 * Canonical bytes with one reused encoder (actors/util/packer.ts): a store encodes every
 * entry twice, once to log it and once to check and digest it as it applies.
 */
export class EntryEncoder {
  readonly #packer = new Packer();

  encode(entry: Entry): Uint8Array {
    return this.#packer.pack([entry.index, entry.term, entry.kind, payloadOf(entry)]);
  }
}

/** The canonical bytes of `entry`, for callers that encode now and then (an encoder of its own each call). */
export function encodeEntry(entry: Entry): Uint8Array {
  return new EntryEncoder().encode(entry);
}

/** The entry that `bytes` encode; throws EntryDecodeError on anything else. */
export function decodeEntry(bytes: Uint8Array): Entry {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch (err) {
    throw new EntryDecodeError(`not MessagePack: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.length !== 4) throw new EntryDecodeError('not a 4-element array');
  const [index, term, kind, payload] = value as unknown[];
  if (!isLogNumber(index) || !isLogNumber(term)) throw new EntryDecodeError('index or term is not a non-negative safe integer');
  switch (kind) {
    case 'noop':
      if (payload !== null) throw new EntryDecodeError('noop entry with a payload');
      return { index, term, kind };
    case 'command':
      if (!(payload instanceof Uint8Array)) throw new EntryDecodeError('command entry without byte payload');
      return { index, term, kind, data: payload };
    case 'config':
      return { index, term, kind, config: decodeConfig(payload) };
    default:
      throw new EntryDecodeError(`unknown entry kind ${JSON.stringify(kind)}`);
  }
}

/** CRC-32 of the canonical bytes: stored beside each log row and verified on every read. */
export function checksumOf(bytes: Uint8Array): number {
  return crc32(bytes);
}

/** The canonical bytes were not a valid entry. The store reports it as corruption. */
export class EntryDecodeError extends Error {
  constructor(detail: string) {
    super(`undecodable log entry: ${detail}`);
    this.name = 'EntryDecodeError';
  }
}

type ConfigPayload = [readonly string[], readonly string[]] | [readonly string[], readonly string[], [string, string][]];

function payloadOf(entry: Entry): null | Uint8Array | ConfigPayload {
  switch (entry.kind) {
    case 'noop':
      return null;
    case 'command':
      return entry.data;
    case 'config':
      return configPayload(entry.config);
  }
}

function configPayload(config: Configuration): ConfigPayload {
  const pairs = Object.entries(config.dataIds ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length === 0 ? [config.voters, config.learners] : [config.voters, config.learners, pairs];
}

function decodeConfig(payload: unknown): Configuration {
  if (!Array.isArray(payload) || (payload.length !== 2 && payload.length !== 3)) throw new EntryDecodeError('config payload is not [voters, learners] or [voters, learners, dataIds]');
  const [voters, learners, pairs] = payload as unknown[];
  if (!isStringArray(voters) || !isStringArray(learners)) throw new EntryDecodeError('config members are not replica ids');
  if (pairs === undefined) return { voters, learners };
  if (!Array.isArray(pairs) || pairs.length === 0 || !pairs.every((p) => isStringArray(p) && p.length === 2)) throw new EntryDecodeError('config data identities are not [id, dataId] pairs');
  return { voters, learners, dataIds: Object.fromEntries(pairs as [string, string][]) };
}

function isLogNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
