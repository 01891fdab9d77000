/**
 * The apply path alone, on the real store and the real chat application:
 * `npx tsx test/scenarios/bench-apply.ts [--sends N] [--rounds R] [--batches 1,2,4,16]`.
 *
 * Applies committed sends through `applyCommitted` (actors/replica/apply.ts)
 * into `openReplicaStore` (SQLite through Knex), one entry per apply (a
 * follower at one writer) and in batches (a busy cluster), and prints per
 * applied entry: main-thread time (event-loop utilisation: what the replica's
 * single JavaScript thread spends), process CPU (user + system, SQLite's
 * thread-pool work included), calls into the sqlite3 driver (each one a
 * thread-pool round trip whose callback the main thread runs) and the SQL
 * statements SQLite ran (its trace hook; trigger bodies not counted).
 * Rounds alternate the batch sizes, so load from other processes falls on
 * each alike; figures are medians over the rounds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sqlite3 from 'sqlite3';
import { encodeCommand, hashToken, type ChatCommand } from '../../actors/chat/index.ts';
import type { Entry } from '../../actors/raft/types.ts';
import { applyCommitted, type CommandReply } from '../../actors/replica/apply.ts';
import { chatApplication } from '../../actors/replica/chat-application.ts';
import { Waiters } from '../../actors/replica/waiters.ts';
import { CHAT_MIGRATIONS } from '../../storage/chat/schema.ts';
import { openReplicaStore } from '../../storage/index.ts';

/** Accounts that send to one another, each logged in once. */
const USERS = 16;
/**
 * Entries per apply: 1 is a follower at one writer (each send's commit arrives with the next
 * append); 2 and 4 are what a follower that waited for one or three more sends would apply;
 * 16 is about what a leader applies at once at 64 senders.
 */
const BATCH_SIZES = [1, 2, 4, 16] as const;
const T0 = 1_800_000_000_000;
const CONFIG = { voters: ['r1', 'r2', 'r3', 'r4', 'r5'], learners: [] };

const { values } = parseArgs({ options: { sends: { type: 'string' }, rounds: { type: 'string' }, batches: { type: 'string' } } });
const SENDS_PER_RUN = Number(values.sends ?? 2_000);
const ROUNDS = Number(values.rounds ?? 3);
/** Sends applied per batch size while counting calls and statements. */
const COUNTED_SENDS = 256;

// Count calls into the driver and the statements SQLite runs. Methods of the prototypes are wrapped
// before any connection exists, so every connection (Knex's pool included) goes through them.
let driverCalls = 0;
let depth = 0;
let statements = 0;
/** Counting costs main-thread time itself (a JavaScript call per statement), so the timed rounds run without it. */
let counting = false;
const traced: sqlite3.Database[] = [];
const countCalls = (proto: Record<string, unknown>, names: readonly string[], isDatabase: boolean): void => {
  for (const name of names) {
    const original = proto[name] as (...args: unknown[]) => unknown;
    proto[name] = function (this: object, ...args: unknown[]) {
      if (!counting) return original.apply(this, args);
      // Database#all and friends call Statement#all inside: count the outer call only.
      if (depth === 0) driverCalls += 1;
      if (isDatabase && !traced.includes(this as sqlite3.Database)) {
        traced.push(this as sqlite3.Database);
        (this as sqlite3.Database).on('trace', (sql: string) => {
          if (!sql.startsWith('--')) statements += 1;
        });
      }
      depth += 1;
      try {
        return original.apply(this, args);
      } finally {
        depth -= 1;
      }
    };
  }
};
countCalls(sqlite3.Database.prototype as unknown as Record<string, unknown>, ['run', 'all', 'get', 'each', 'exec', 'prepare'], true);
countCalls(sqlite3.Statement.prototype as unknown as Record<string, unknown>, ['run', 'all', 'get', 'each'], false);

const root = await mkdtemp(join(tmpdir(), 'qc-bench-apply-'));
const store = await openReplicaStore({ dataDir: root, replicaId: 'r1', migrations: CHAT_MIGRATIONS, initialConfig: CONFIG });
const application = chatApplication({ prefix: 'bench', reader: store.reader, log: { error: () => undefined } });
const waiters = new Waiters<CommandReply>(0);
const deps = {
  store,
  application,
  waiters,
  publish: () => undefined,
  now: () => T0,
  log: { error: () => undefined, warn: () => undefined },
  afterApply: () => undefined,
  publishesLive: () => false,
  inOrderLater: () => undefined,
};

try {
  await store.persist({ hardState: { term: 1, votedFor: 'r1' }, entries: [] });
  let index = 0;
  const entryOf = (command: ChatCommand): Entry => ({ index: ++index, term: 1, kind: 'command', data: encodeCommand(command) });
  const name = (u: number): string => `user${u}`;
  const setup: Entry[] = [];
  for (let u = 0; u < USERS; u += 1) {
    setup.push(entryOf({ type: 'register', ts: T0, username: name(u), salt: new Uint8Array([1]), hash: new Uint8Array([2]), scrypt: { n: 1024, r: 8, p: 1 } }));
  }
  for (let u = 0; u < USERS; u += 1) {
    setup.push(entryOf({ type: 'login', ts: T0, username: name(u), accountIndex: u + 1, tokenHash: hashToken(`t${u}`), expiresTs: T0 + 3_600_000 }));
  }
  await store.persist({ entries: setup });
  // Counting on while setting up, so the trace hook is in place on the writer before the counted pass.
  counting = true;
  await applyCommitted(deps, setup, index);
  counting = false;

  const text = 'x'.repeat(200);
  let request = 0;
  const sends = (count: number): Entry[] =>
    Array.from({ length: count }, () => {
      const u = request % USERS;
      request += 1;
      return entryOf({ type: 'send', ts: T0, username: name(u), tokenHash: hashToken(`t${u}`), to: name((u + 1) % USERS), text, requestId: `q${request}` });
    });

  const batchSizes = values.batches === undefined ? BATCH_SIZES : values.batches.split(',').map(Number);
  const applyInBatches = async (entries: readonly Entry[], batch: number): Promise<void> => {
    for (let i = 0; i < entries.length; i += batch) await applyCommitted(deps, entries.slice(i, i + batch), entries[Math.min(i + batch, entries.length) - 1]!.index);
  };
  // Counted pass: driver calls and statements per applied send (deterministic).
  const counted: Record<string, { calls: number; statements: number }> = {};
  for (const batch of batchSizes) {
    const entries = sends(COUNTED_SENDS);
    await store.persist({ entries });
    counting = true;
    const calls0 = driverCalls;
    const statements0 = statements;
    await applyInBatches(entries, batch);
    counting = false;
    counted[`${batch} per apply`] = { calls: (driverCalls - calls0) / entries.length, statements: (statements - statements0) / entries.length };
  }
  for (const db of traced) db.removeAllListeners('trace');

  // Timed rounds, the batch sizes alternating.
  const results: Record<string, { mainMs: number[]; cpuMs: number[] }> = {};
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const batch of batchSizes) {
      const entries = sends(SENDS_PER_RUN);
      await store.persist({ entries });
      const elu = performance.eventLoopUtilization();
      const cpu = process.cpuUsage();
      await applyInBatches(entries, batch);
      const used = performance.eventLoopUtilization(elu);
      const cpuUsed = process.cpuUsage(cpu);
      const row = (results[`${batch} per apply`] ??= { mainMs: [], cpuMs: [] });
      row.mainMs.push(used.active / entries.length);
      row.cpuMs.push((cpuUsed.user + cpuUsed.system) / 1000 / entries.length);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`bench-apply: ${SENDS_PER_RUN} sends per run, ${ROUNDS} rounds, node ${process.version}; per applied send, median of rounds [each round]`);
  for (const [label, r] of Object.entries(results)) {
    const f = (xs: number[], digits: number): string => `${median(xs).toFixed(digits)} [${xs.map((x) => x.toFixed(digits)).join(', ')}]`;
    const c = counted[label]!;
    console.log(`  ${label.padEnd(13)} main thread ms ${f(r.mainMs, 3)}  process CPU ms ${f(r.cpuMs, 3)}  driver calls ${c.calls.toFixed(2)}  statements ${c.statements.toFixed(2)}`);
  }
  console.log(`  appliedIndex ${store.status().appliedIndex}, digest ${store.status().digest}`);
} finally {
  await store.close();
  await rm(root, { recursive: true, force: true });
}
