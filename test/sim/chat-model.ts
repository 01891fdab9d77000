/**
 * A small deterministic model of the chat state machine, plugged into the
 * REAL runtime through its application port (actors/replica/ports.ts
 * `ReplicaApplication`) in place of actors/chat over Knex/SQLite, which
 * cannot run deterministically in one process (docs/simulation.md, "What is
 * real and what is modelled").
 *
 * Requests are parsed by the real protocol parser (actors/chat
 * `parseRequestBytes`). Modelled: `send` with exactly-once per
 * (sender, requestId), checked when the leader prepares AND when the entry
 * is applied (two proposals of one request may both commit); `history`
 * between two users. A token is `t-<username>` (sessions are not modelled).
 * Message ids are assigned in commit order. The model keeps a running digest
 * over every command it applies (PROTOCOL.md style: hash of the previous
 * digest and the entry's bytes), so an entry applied twice shows.
 */
import { BadRequest, parseRequest, Unauthorized } from '../../actors/protocol/index.ts';
import type { CommandEntry, ReplicaApplication, WireReply } from '../../actors/replica/ports.ts';
import type { MemoryStateCodec } from '../../storage/memory-store.ts';
import { hash53 } from './digests.ts';

export interface ModelMessage {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly ts: number;
  readonly requestId: string;
}

export interface ChatModelState {
  messages: ModelMessage[];
  /** `${from} ${requestId}` → message id: exactly-once. */
  sends: Record<string, number>;
  nextId: number;
  /** Running digest over every applied command, hex. */
  digest: string;
  /** Commands applied (each apply call counts; a double apply shows here and in the digest). */
  applied: number;
}

interface SendCommand {
  readonly type: 'send';
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly requestId: string;
  readonly ts: number;
}

export const TOKEN_PREFIX = 't-';

export const chatModelCodec: MemoryStateCodec<ChatModelState> = {
  initial: () => ({ messages: [], sends: {}, nextId: 1, digest: '0', applied: 0 }),
  clone: (state) => ({ messages: [...state.messages], sends: { ...state.sends }, nextId: state.nextId, digest: state.digest, applied: state.applied }),
  encode: (state) => state,
  decode: (value) => value as ChatModelState,
};

/** The model over the store's applied state (`applied()`: the live state of this replica's store). */
export function chatModel(applied: () => ChatModelState): ReplicaApplication<ChatModelState> {
  return {
    parse: (op, body) => parseRequest(op, body),
    async prepare(request, now) {
      if (request.op !== 'send') return { kind: 'answer', reply: new BadRequest(`${request.op} is not modelled in the simulation`).toReply() };
      const from = userOf(request.token);
      if (from === null) return { kind: 'answer', reply: new Unauthorized('unknown token').toReply() };
      const state = applied();
      const earlier = state.sends[sendKey(from, request.requestId)];
      if (earlier !== undefined) return { kind: 'answer', reply: sendReply(state, earlier) };
      const command: SendCommand = { type: 'send', from, to: request.to, text: request.text, requestId: request.requestId, ts: now };
      return { kind: 'propose', data: new TextEncoder().encode(JSON.stringify(command)) };
    },
    async read(request) {
      if (request.op !== 'history') return new BadRequest(`${request.op} is not modelled in the simulation`).toReply();
      const user = userOf(request.token);
      if (user === null) return new Unauthorized('unknown token').toReply();
      const other = request.with;
      const messages = applied().messages.filter((m) => (m.from === user && m.to === other) || (m.from === other && m.to === user));
      return { ok: true, messages: messages.map(({ id, from, to, text, ts }) => ({ id, from, to, text, ts })) };
    },
    async apply(state, entry) {
      state.applied += 1;
      state.digest = hash53(`${state.digest}|${entry.index}|${entry.term}|${new TextDecoder().decode(entry.data)}`).toString(16);
      const command = decodeSend(entry);
      if (command === null) return { reply: new BadRequest(`entry ${entry.index} is not a modelled command`), live: [], ts: null };
      const key = sendKey(command.from, command.requestId);
      const earlier = state.sends[key];
      if (earlier !== undefined) return { reply: sendReply(state, earlier) as { ok: true }, live: [], ts: command.ts };
      const message: ModelMessage = { id: state.nextId, from: command.from, to: command.to, text: command.text, ts: command.ts, requestId: command.requestId };
      state.nextId += 1;
      state.messages.push(message);
      state.sends[key] = message.id;
      return { reply: sendReply(state, message.id) as { ok: true }, live: [], ts: command.ts };
    },
    publications: async () => [],
  };
}

function userOf(token: string): string | null {
  return token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : null;
}

function sendKey(from: string, requestId: string): string {
  return `${from} ${requestId}`;
}

function sendReply(state: ChatModelState, id: number): WireReply {
  const message = state.messages.find((m) => m.id === id);
  if (message === undefined) return new BadRequest(`message ${id} is missing from the model`).toReply();
  return { ok: true, message: { id: message.id, from: message.from, to: message.to, text: message.text, ts: message.ts } };
}

function decodeSend(entry: CommandEntry): SendCommand | null {
  try {
    const value = JSON.parse(new TextDecoder().decode(entry.data)) as Partial<SendCommand>;
    return value.type === 'send' && typeof value.from === 'string' && typeof value.requestId === 'string' ? (value as SendCommand) : null;
  } catch {
    return null;
  }
}
