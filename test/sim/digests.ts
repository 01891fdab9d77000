/**
 * Small deterministic digests for the simulation's checks and traces: an
 * entry's readable identity (log matching compares it) and a fast 53-bit
 * string hash (trace hashes, the chat model's running digest).
 */
import type { Entry } from '../../actors/raft/types.ts';

const decoder = new TextDecoder();

/** A readable identity of an entry's contents (without its index), e.g. "t3 command p17". */
export function entryDigest(entry: Entry): string {
  switch (entry.kind) {
    case 'noop':
      return `t${entry.term} noop`;
    case 'command':
      return `t${entry.term} command ${decoder.decode(entry.data)}`;
    case 'config':
      return `t${entry.term} config v=${entry.config.voters.join(',')} l=${entry.config.learners.join(',')}`;
  }
}

/** cyrb53-style 53-bit string hash: fast, well mixed, not cryptographic (we only compare our own data). */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
