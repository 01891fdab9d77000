/**
 * Chat commands: what a leader proposes and every replica applies. A command
 * carries everything nondeterministic (ts, salts, hashes, tokens) decided once
 * by the leader, so applying it needs only the command and the database.
 *
 * Wire form: MessagePack of `[COMMAND_VERSION, command]`. Decoding validates
 * every field and throws CommandDecodeError on anything else.
 */
import { z } from 'zod';
import { Packer } from '../util/packer.ts';
import { checkCommand } from './command-check.ts';
import { DELETE_MAX_IDS, PASSWORD_MAX_CHARS, REQUEST_ID_MAX_CHARS, SEAL_KEY_FORM, TEXT_MAX_CHARS, USERNAME_CHARSET, USERNAME_MAX_CHARS } from '../protocol/index.ts';

/** Bumped when a command's shape changes; a replica refuses versions it does not know. */
export const COMMAND_VERSION = 1;

export type ChatCommand = z.infer<typeof ChatCommandSchema>;
export type CommandOf<T extends ChatCommand['type']> = Extract<ChatCommand, { type: T }>;

/**
 * Encodes and decodes commands with one reused MessagePack encoder and decoder
 * (util/packer.ts): a replica's chat application owns one for its life.
 */
export class CommandCodec {
  readonly #packer = new Packer();

  encode(cmd: ChatCommand): Uint8Array {
    return this.#packer.pack([COMMAND_VERSION, cmd]);
  }

  /** The command `bytes` encode; throws CommandDecodeError on garbage, never anything else. */
  decode(bytes: Uint8Array): ChatCommand {
    let value: unknown;
    try {
      value = this.#packer.unpack(bytes);
    } catch (err) {
      throw new CommandDecodeError(`not MessagePack: ${(err as Error).message}`);
    }
    return commandOf(value);
  }
}

/** One command's bytes, for callers that encode now and then (tests, the seeder): a codec of its own each call. */
export function encodeCommand(cmd: ChatCommand): Uint8Array {
  return new CommandCodec().encode(cmd);
}

/** As CommandCodec#decode, with a codec of its own each call. */
export function decodeCommand(bytes: Uint8Array): ChatCommand {
  return new CommandCodec().decode(bytes);
}

/** The command in a decoded `[version, command]` pair; throws CommandDecodeError on anything else. */
function commandOf(value: unknown): ChatCommand {
  if (!Array.isArray(value) || value.length !== 2) throw new CommandDecodeError('not a [version, command] pair');
  if (value[0] !== COMMAND_VERSION) throw new CommandDecodeError(`unknown command version ${JSON.stringify(value[0])}`);
  // The hand-written check (command-check.ts) on the hot path; the schema below stays the reference and names the problem.
  const checked = checkCommand(value[1]);
  if (checked.ok) return checked.command;
  const parsed = ChatCommandSchema.safeParse(value[1]);
  throw new CommandDecodeError(parsed.success ? checked.problem : z.prettifyError(parsed.error));
}

/** The reference for command-check.ts (the property test compares the two). */
export function parseCommandWithSchema(value: unknown): { readonly success: boolean; readonly data?: ChatCommand } {
  return ChatCommandSchema.safeParse(value);
}

/** A command entry's bytes are not a valid chat command: a bug (or corruption) the runtime reports. */
export class CommandDecodeError extends Error {
  constructor(detail: string) {
    super(`undecodable chat command: ${detail}`);
    this.name = 'CommandDecodeError';
  }
}

// ---- schemas ----

const Username = z.string().min(1).max(USERNAME_MAX_CHARS).regex(USERNAME_CHARSET);
/** Leader time, ms since the epoch. */
const Ts = z.int().min(0);
const LogIndex = z.int().min(1);
const TokenHash = z.string().regex(/^[0-9a-f]{64}$/);
/** An X25519 public key in its wire form; the leader checked it fully (actors/protocol/seal.ts `checkSealKey`) before proposing. */
const SealKey = z.string().regex(SEAL_KEY_FORM);
const Bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes');

/** Every authenticated command names the session it was prepared under, so apply can re-check it at `ts`. */
const Authenticated = { ts: Ts, username: Username, tokenHash: TokenHash };

const ChatCommandSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('register'),
    ts: Ts,
    username: Username,
    salt: Bytes,
    hash: Bytes,
    scrypt: z.object({ n: z.int().min(2), r: z.int().min(1), p: z.int().min(1) }),
  }),
  z
    .object({
      type: z.literal('login'),
      ts: Ts,
      username: Username,
      /** The account generation the password was verified against (its register entry's index). */
      accountIndex: LogIndex,
      /**
       * sha256 of the new session's token: the raw token never enters the log (anyone who reads a log,
       * a snapshot or a peer message could otherwise act as the user); the proposer returns it (`Proposal.reveal`).
       */
      tokenHash: TokenHash.optional(),
      /** Entries written before December 2026 carried the raw token; they still apply, and identically. */
      token: z.string().min(1).max(PASSWORD_MAX_CHARS).optional(),
      expiresTs: Ts,
      /** The session's live frames are sealed to this key (docs/protocol.md §2.5); absent in older entries and for clear sessions. */
      liveKey: SealKey.optional(),
    })
    .refine((cmd) => (cmd.tokenHash === undefined) !== (cmd.token === undefined), 'a login carries exactly one of tokenHash and token'),
  z.object({ type: z.literal('logout'), ...Authenticated }),
  z.object({
    type: z.literal('send'),
    ...Authenticated,
    to: Username,
    text: z.string().min(1).max(TEXT_MAX_CHARS * 2),
    requestId: z.string().min(1).max(REQUEST_ID_MAX_CHARS * 2),
  }),
  z.object({ type: z.literal('markRead'), ...Authenticated, with: Username, upToId: LogIndex }),
  z.object({
    type: z.literal('deleteMessages'),
    ...Authenticated,
    ids: z.array(LogIndex).min(1).max(DELETE_MAX_IDS),
    forEveryone: z.boolean(),
  }),
  z.object({ type: z.literal('deleteAccount'), ...Authenticated, accountIndex: LogIndex }),
]);
