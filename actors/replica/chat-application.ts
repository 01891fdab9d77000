/**
 * The real replicated application: the chat state machine (actors/chat) over
 * the store's Knex/SQLite tables. An adapter, plugged in by
 * cli/commands/replica.ts; the runtime only sees `ReplicaApplication`.
 */
import type { Knex } from 'knex';
import {
  AlreadyApplied,
  applyCommand,
  applyCommands,
  CommandCodec,
  type ChatCommand,
  type PositionedCommand,
  executeRead,
  Internal,
  isProtocolError,
  parseRequest,
  prepareCommand,
  resolveDeliveries,
  SendFactsCache,
  type Delivery,
  type ScryptCost,
} from '../chat/index.ts';
import { randomBytes } from 'node:crypto';
import { BadSealKeyError, liveSubject, sealedFrame, Sealer, type LiveFrame, type SealedFrame } from '../protocol/index.ts';
import type { AppliedCommand, CommandEntry, ReplicaApplication, RuntimeLogger } from './ports.ts';

export interface ChatApplicationOptions {
  readonly prefix: string;
  /** The store's read-only connection: prepare and read never write. */
  readonly reader: Knex;
  /**
   * Seals the live frames of sessions that logged in with `liveKey` (docs/protocol.md §2.5);
   * default: one on node:crypto and the wall clock (this adapter is the real world's).
   */
  readonly sealer?: Sealer | undefined;
  /** Lower scrypt cost for tests; production uses the chat module's default. */
  readonly passwordCost?: ScryptCost | undefined;
  readonly log: Pick<RuntimeLogger, 'error'>;
}

/** Commands that remove no session and no account: applying them keeps the leader's send facts (send-facts-cache.ts). */
const KEEPS_SESSIONS_AND_ACCOUNTS: ReadonlySet<ChatCommand['type']> = new Set(['send', 'markRead', 'deleteMessages']);

export function chatApplication(options: ChatApplicationOptions): ReplicaApplication<Knex, Delivery> {
  const { reader, prefix, log } = options;
  const sealer = options.sealer ?? new Sealer({ randomBytes, now: Date.now });
  const commands = new CommandCodec();
  const decodeOrReport = (entry: CommandEntry): ChatCommand | null => {
    try {
      return commands.decode(entry.data);
    } catch (error) {
      // Every replica decodes the same bytes the same way, so skipping it keeps them identical; the proposer gets `internal`.
      log.error({ err: error, index: entry.index }, 'committed entry is not a chat command; applied as a no-op');
      return null;
    }
  };
  const undecodable = (entry: CommandEntry): AppliedCommand<Delivery> => ({ reply: new Internal(`entry ${entry.index} could not be decoded`), live: [], ts: null });
  // Filled by the leader's prepares; every replica forgets it when it applies a command that may remove a session or an account.
  const sendFacts = new SendFactsCache();
  const decodeApplied = (entry: CommandEntry): ChatCommand | null => {
    const command = decodeOrReport(entry);
    if (command === null || !KEEPS_SESSIONS_AND_ACCOUNTS.has(command.type)) sendFacts.forget();
    return command;
  };
  return {
    parse: (op, body) => parseRequest(op, body),
    async prepare(request, now, randomBytes) {
      const prepared = await prepareCommand(request, {
        db: reader,
        now,
        randomBytes: (n) => Buffer.from(randomBytes(n)),
        sendFacts,
        ...(options.passwordCost ? { passwordCost: options.passwordCost } : {}),
      });
      if (prepared instanceof AlreadyApplied) return { kind: 'answer', reply: prepared.reply };
      if (isProtocolError(prepared)) return { kind: 'answer', reply: prepared.toReply() };
      return { kind: 'propose', data: commands.encode(prepared.command), ...(prepared.reveal === null ? {} : { reveal: prepared.reveal }) };
    },
    async read(request, now) {
      const reply = await executeRead(reader, request, now);
      return isProtocolError(reply) ? reply.toReply() : reply;
    },
    async apply(trx, entry) {
      const command = decodeApplied(entry);
      if (command === null) return undecodable(entry);
      const result = await applyCommand(trx, command, { index: entry.index, term: entry.term });
      return { reply: result.reply, live: result.deliveries, ts: command.ts };
    },
    async applyMany(trx, entries) {
      // Undecodable entries are no-ops, applied where they stand; the commands between them go in runs (apply-run.ts).
      const out: AppliedCommand<Delivery>[] = [];
      let run: PositionedCommand[] = [];
      const flush = async (): Promise<void> => {
        const results = await applyCommands(trx, run);
        results.forEach((result, i) => out.push({ reply: result.reply, live: result.deliveries, ts: run[i]!.command.ts }));
        run = [];
      };
      for (const entry of entries) {
        const command = decodeApplied(entry);
        if (command !== null) {
          run.push({ command, at: { index: entry.index, term: entry.term } });
          continue;
        }
        await flush();
        out.push(undecodable(entry));
      }
      await flush();
      return out;
    },
    committed: () => sendFacts.committed(),
    async publications(live) {
      const resolved = await resolveDeliveries(reader, live);
      return resolved.flatMap(({ sessionKey, frame, liveKey }): { subject: string; body: LiveFrame | SealedFrame }[] => {
        const subject = liveSubject(prefix, sessionKey);
        if (liveKey === null) return [{ subject, body: frame }];
        const target = sealer.target(liveKey);
        if (target instanceof BadSealKeyError) {
          // The leader checked the key before the login entered the log, so this is a bug; a frame it cannot seal is never sent in the clear.
          log.error({ sessionKey, reason: target.message }, 'a session\'s liveKey cannot be sealed to; its frame is dropped');
          return [];
        }
        return [{ subject, body: sealedFrame(sealer.seal(target, 'live', subject, JSON.stringify(frame))) }];
      });
    },
  };
}
