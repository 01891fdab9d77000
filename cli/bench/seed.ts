/**
 * The seeder: a replica data directory holding N committed chat messages,
 * built offline through the production storage and state-machine code, for
 * the large-cluster test and figures of issue 11 (loading a million messages
 * through real sends takes about half an hour on a 2-core machine).
 *
 * It plays one leader of term 1 with nobody else around: it appends a noop
 * (as a new leader does), then proposes chat requests the way the runtime
 * does: each request validated by the protocol's schema (`parseRequest`),
 * prepared by the chat application (`chatApplication().prepare`: session
 * checks, salts, scrypt hashes, token hashes, timestamps) into the bytes a
 * leader proposes; the entries persisted to the real segment log
 * (`store.persist`) and applied by the runtime's own apply stage
 * (`applyCommitted`, so runs of sends take the batched `applyMany` path).
 * Then it takes a snapshot and compacts the log up to it, so that a replica
 * joining later must catch up by InstallSnapshot.
 *
 * What it does not exercise is the network: no peer received these entries
 * by AppendEntries. What the figures measure afterwards (catch-up,
 * promotion, healing) starts from the stored state and does not depend on
 * how its rows got there.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { CHAT_MIGRATIONS, CommandCodec, isProtocolError, isWrite, parseRequest, type ChatCommand, type Delivery } from '../../actors/chat/index.ts';
import type { Entry, HardState, ReplicaId } from '../../actors/raft/types.ts';
import { applyCommitted, type ApplyStageDeps, type CommandReply } from '../../actors/replica/apply.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { Waiters } from '../../actors/replica/waiters.ts';
import { openReplicaStore, type ReplicaStore } from '../../storage/index.ts';
import { SeedError, checkApplied, refusalsThrow } from './seed-checks.ts';

export { SeedError } from './seed-checks.ts';

export interface SeedOptions {
  /** A data directory that does not hold a store yet. */
  readonly dataDir: string;
  /** The replica that owns it (the store records its owner). */
  readonly replicaId: ReplicaId;
  /** The cluster's bootstrap voters: the configuration in the snapshot. */
  readonly voters: readonly ReplicaId[];
  readonly messages: number;
  readonly progress?: (line: string) => void;
}

/** What the seeded directory holds, as its store reports it. */
export interface SeededData {
  readonly messages: number;
  readonly appliedIndex: number;
  readonly digest: string;
  readonly snapshotIndex: number;
  readonly snapshotBytes: number;
  /** Wall time of the whole build (accounts, sends, snapshot, compaction). */
  readonly elapsedMs: number;
}

/** The term the seeded log was written in: the first leader's. */
export const SEED_TERM = 1;
/**
 * Entries per persist and apply: one group commit and one apply transaction,
 * as a busy leader batches them. Large enough that the fdatasync and the
 * transaction cost little per entry; small enough that one batch's prepared
 * commands are a few MiB of memory.
 */
export const SEED_BATCH_ENTRIES = 4_096;
/** A progress line every this many messages. */
const PROGRESS_EVERY = 100_000;
/** The two accounts the messages go between (alternating direction, so both have unread messages). */
export const SEED_ACCOUNTS = ['seed-ada', 'seed-bob'] as const;

type RequestBody = { readonly op: string } & Readonly<Record<string, unknown>>;
type CommandOfSend = Extract<ChatCommand, { type: 'send' }>;

export async function seedReplicaData(options: SeedOptions): Promise<SeededData> {
  const started = Date.now();
  const store = await openReplicaStore({
    dataDir: options.dataDir,
    replicaId: options.replicaId,
    migrations: CHAT_MIGRATIONS,
    initialConfig: { voters: [...options.voters], learners: [] },
  });
  try {
    if (!(await store.load()).fresh) throw new SeedError(`${options.dataDir} already holds a store: the seeder only builds new ones`);
    const leader = new SeedLeader(store, options.replicaId);
    const tokens = await leader.accounts();
    await leader.sends(options.messages, tokens, options.progress ?? (() => {}));
    await checkApplied(store.reader, options.messages);
    // A compacted log: whoever joins later needs the snapshot (Raft §7).
    const snapshot = await store.createSnapshot();
    await store.compact(snapshot.meta.index);
    const status = store.status();
    return { messages: options.messages, appliedIndex: status.appliedIndex, digest: status.digest, snapshotIndex: status.snapshotIndex, snapshotBytes: snapshot.bytes, elapsedMs: Date.now() - started };
  } finally {
    await store.close();
  }
}

/** A leader of SEED_TERM alone: an entry is committed as soon as it is durable here. */
class SeedLeader {
  private nextIndex = 1;
  private readonly apply: ApplyStageDeps<Knex, Delivery>;
  /** Encodes every seeded send, as the leader's chat application encodes its proposals. */
  private readonly commands = new CommandCodec();

  constructor(
    private readonly store: ReplicaStore,
    private readonly self: ReplicaId,
  ) {
    // The apply stage logs only trouble (an undecodable entry, applied as a no-op): while seeding, that is a bug.
    const fail = (obj: object, msg: string): never => {
      throw new SeedError(`${msg}: ${JSON.stringify(obj)}`);
    };
    // Nothing is published while seeding: no clients, no live frames (the prefix names no subject used).
    this.apply = {
      store,
      application: refusalsThrow(chatApplication({ prefix: 'seed', reader: store.reader, log: { error: fail } })),
      waiters: new Waiters<CommandReply>(store.status().appliedIndex),
      publish: () => {},
      now: () => Date.now(),
      log: { error: fail, warn: fail },
      afterApply: () => {},
      publishesLive: () => false,
      inOrderLater: () => {},
    };
  }

  /** The new leader's noop (Raft §8), then both accounts registered and logged in: their session tokens. */
  async accounts(): Promise<string[]> {
    await this.commit([{ index: this.nextIndex++, term: SEED_TERM, kind: 'noop' }], { term: SEED_TERM, votedFor: this.self });
    // Nobody logs in as these accounts later; the password only has to be valid.
    const password = `seed-${randomBytes(12).toString('hex')}`;
    for (const username of SEED_ACCOUNTS) await this.proposeOne({ op: 'register', username, password });
    const tokens: string[] = [];
    for (const username of SEED_ACCOUNTS) {
      const token = (await this.proposeOne({ op: 'login', username, password }))['token'];
      if (token === undefined) throw new SeedError(`the login of ${username} revealed no token`);
      tokens.push(token);
    }
    return tokens;
  }

  /**
   * `count` sends, alternating direction between the two accounts, SEED_BATCH_ENTRIES per
   * persist and apply. The first send of each batch in each direction is prepared by the
   * chat application itself; the others are that command with their own text, requestId
   * and ts (all a send's prepare decides beyond the session it checked), encoded as the
   * leader encodes every proposal. Preparing each one would cost a read of the session
   * per send (0.25 ms here: 4 minutes for a million), and the apply checks every send
   * again anyway (live session, new requestId, existing recipient), refusing, and so
   * stopping the seeder, on any that is wrong.
   */
  async sends(count: number, tokens: readonly string[], progress: (line: string) => void): Promise<void> {
    for (let first = 0; first < count; first += SEED_BATCH_ENTRIES) {
      const size = Math.min(SEED_BATCH_ENTRIES, count - first);
      const templates = await Promise.all(SEED_ACCOUNTS.map(async (_, from) => await this.preparedSend(sendBody(first + from, tokens))));
      const entries: Entry[] = [];
      for (let n = first; n < first + size; n += 1) {
        const body = sendBody(n, tokens);
        const template = templates[n % SEED_ACCOUNTS.length]!;
        entries.push(this.entryOf(this.commands.encode({ ...template, ts: Date.now(), text: String(body['text']), requestId: String(body['requestId']) })));
      }
      await this.commit(entries);
      const done = first + size;
      if (Math.floor(done / PROGRESS_EVERY) > Math.floor(first / PROGRESS_EVERY) || done === count) progress(`seeded ${done} of ${count} messages`);
    }
  }

  /** A send as the chat application prepares it on the leader. */
  private async preparedSend(body: RequestBody): Promise<CommandOfSend> {
    const command = this.commands.decode((await this.prepare(body)).data);
    if (command.type !== 'send') throw new SeedError(`a send was prepared as ${command.type}`);
    return command;
  }

  private async proposeOne(body: RequestBody): Promise<Readonly<Record<string, string>>> {
    const { data, reveal } = await this.prepare(body);
    await this.commit([this.entryOf(data)]);
    return reveal;
  }

  /** As the runtime's request handler does on the leader: parse, then prepare (decides ts, salt, hash, token). */
  private async prepare(body: RequestBody): Promise<{ data: Uint8Array; reveal: Readonly<Record<string, string>> }> {
    const { op, ...fields } = body;
    const request = parseRequest(op, fields);
    if (isProtocolError(request) || !isWrite(request)) throw new SeedError(`${op} is not a valid write: ${JSON.stringify(isProtocolError(request) ? request.toReply() : request)}`);
    const prepared = await this.apply.application.prepare(request, Date.now(), (n) => new Uint8Array(randomBytes(n)));
    if (prepared.kind !== 'propose') throw new SeedError(`${op} was answered instead of proposed: ${JSON.stringify(prepared.reply)}`);
    return { data: prepared.data, reveal: prepared.reveal ?? {} };
  }

  private entryOf(data: Uint8Array): Entry {
    return { index: this.nextIndex++, term: SEED_TERM, kind: 'command', data };
  }

  /** Persist (durable), then apply: the order a Ready is carried out in. */
  private async commit(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    await this.store.persist({ ...(hardState === undefined ? {} : { hardState }), entries });
    await applyCommitted(this.apply, entries, entries.at(-1)?.index ?? 0);
  }
}

/** The `n`th send: from the first account to the second on even n, back on odd n; the text and requestId name n. */
function sendBody(n: number, tokens: readonly string[]): RequestBody {
  const from = n % 2;
  return { op: 'send', token: tokens[from], to: SEED_ACCOUNTS[1 - from], text: `seeded message ${n}`, requestId: `seed-${n}` };
}
