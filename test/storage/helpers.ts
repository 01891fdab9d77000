/**
 * Shared helpers of the storage tests: temp data dirs, a test state machine
 * (two tables, one referencing the other), deterministic entries, and an
 * independent recomputation of the digest chain.
 */
import { encode } from '@msgpack/msgpack';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Configuration, Entry } from '../../actors/raft/types.ts';
import type { Migration } from '../../storage/migrations.ts';

export const TEST_CONFIG: Configuration = { voters: ['r1', 'r2', 'r3'], learners: [] };

/** A state machine for tests: `test_rows` (one per applied command), `test_notes` referencing it (indexed), and `test_counts` kept by a trigger. */
export const testMigrations: readonly Migration[] = [
  {
    name: 'test_0001_rows',
    async up(knex) {
      await knex.schema.createTable('test_rows', (t) => {
        t.integer('idx').primary();
        t.integer('term').notNullable();
        t.binary('body').notNullable();
      });
      await knex.schema.createTable('test_notes', (t) => {
        t.increments('id');
        t.integer('row_idx').notNullable().references('idx').inTable('test_rows').onDelete('CASCADE');
        t.text('note').notNullable();
        t.index(['note'], 'test_notes_by_note');
      });
      // A trigger-maintained counter: a restore that fired triggers would count its rows twice.
      await knex.schema.createTable('test_counts', (t) => {
        t.integer('id').primary();
        t.integer('n').notNullable();
      });
      await knex.raw('INSERT INTO test_counts (id, n) VALUES (1, 0)');
      await knex.raw('CREATE TRIGGER test_rows_counted AFTER INSERT ON test_rows BEGIN UPDATE test_counts SET n = n + 1 WHERE id = 1; END');
    },
  },
];

/** applyOne for the test state machine: a command inserts a row and a note; others insert nothing. */
export async function applyTestEntry(trx: Knex, entry: Entry): Promise<number> {
  if (entry.kind === 'command') {
    await trx('test_rows').insert({ idx: entry.index, term: entry.term, body: Buffer.from(entry.data) });
    await trx('test_notes').insert({ row_idx: entry.index, note: `note ${entry.index}` });
  }
  return entry.index;
}

/** A fresh temp directory, removed when the test ends. */
export async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qc-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The command payload of entry (index, term): deterministic so a checker can recompute it. */
export function payloadOf(index: number, term: number): Uint8Array {
  return new TextEncoder().encode(`cmd ${index}@${term}`);
}

/** Entries from..to (inclusive) of `term`; every seventh is a noop and every 11th a config entry. */
export function makeEntries(from: number, to: number, term: number): Entry[] {
  const entries: Entry[] = [];
  for (let index = from; index <= to; index++) {
    if (index % 11 === 0) entries.push({ index, term, kind: 'config', config: { voters: ['r1', 'r2', 'r3'], learners: [`l${index}`] } });
    else if (index % 7 === 0) entries.push({ index, term, kind: 'noop' });
    else entries.push({ index, term, kind: 'command', data: payloadOf(index, term) });
  }
  return entries;
}

/**
 * The digest chain recomputed without storage's code: msgpack of
 * [index, term, kind, payload] chained through sha256 from 32 zero bytes.
 */
export function independentDigest(entries: readonly Entry[], start = '00'.repeat(32)): string {
  let digest = Buffer.from(start, 'hex');
  for (const e of entries) {
    const payload = e.kind === 'noop' ? null : e.kind === 'command' ? e.data : [e.config.voters, e.config.learners];
    digest = createHash('sha256').update(digest).update(encode([e.index, e.term, e.kind, payload])).digest();
  }
  return digest.toString('hex');
}

/** The log's segment files of a data directory, oldest first (storage/wal/segment-log.ts names them by sequence number). */
export async function segmentFiles(dataDir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const dir = join(dataDir, 'wal');
  return (await readdir(dir)).filter((name) => /^\d{16}\.wal$/.test(name)).sort().map((name) => join(dir, name));
}

/** A logger that keeps what it is told, for tests that check a line was logged. */
export function recordingLogger(): { lines: { level: string; obj: object; msg: string }[]; info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}
