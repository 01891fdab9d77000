/**
 * The simulated replicated state machine: not chat, just the sequence of
 * applied entries folded into a running hash chain, so two replicas agree on
 * every applied entry up to index i exactly when their hashes at i agree.
 */
import type { Configuration, Entry, Index, Term } from '../../actors/raft/types.ts';

/** What a replica has applied. Immutable: applying returns a new state. */
export interface AppliedState {
  readonly appliedIndex: Index;
  /** Term of the entry at appliedIndex (0 for the empty state). */
  readonly appliedTerm: Term;
  /** hash(entry 1) chained through hash(entry appliedIndex). */
  readonly hash: string;
  /** The configuration in force at appliedIndex (the latest applied config entry). */
  readonly config: Configuration;
  /** How many command entries were applied (the "table size" of this toy machine). */
  readonly commands: number;
}

export function initialState(config: Configuration): AppliedState {
  return { appliedIndex: 0, appliedTerm: 0, hash: '0', config, commands: 0 };
}

/** Apply the next entry; the caller checks contiguity first. */
export function applyEntry(state: AppliedState, entry: Entry): AppliedState {
  return {
    appliedIndex: entry.index,
    appliedTerm: entry.term,
    hash: chainHash(state.hash, entry),
    config: entry.kind === 'config' ? entry.config : state.config,
    commands: state.commands + (entry.kind === 'command' ? 1 : 0),
  };
}

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

/** The payload of a command entry as the simulation's client wrote it, or null for other kinds. */
export function commandPayload(entry: Entry): string | null {
  return entry.kind === 'command' ? decoder.decode(entry.data) : null;
}

function chainHash(previous: string, entry: Entry): string {
  return hash53(`${previous}|${entry.index}|${entryDigest(entry)}`).toString(36);
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
