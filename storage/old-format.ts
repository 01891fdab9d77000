/**
 * The log of the SQLite-only format: until the segment log (storage/wal),
 * entries lived in `raft_log` and the hard state in `raft_hard_state`. The
 * tables stay (migrations are append-only) but are no longer written; a data
 * directory that still has rows in them is moved into a segment log on open.
 */
import type { Knex } from 'knex';
import type { HardState, Index } from '../actors/raft/types.ts';
import { checksumOf, decodeEntry, EntryDecodeError } from './entry-codec.ts';
import { CorruptStoreError } from './errors.ts';
import type { LoggedEntry } from './wal/segment-log.ts';

export interface OldFormatLog {
  /** True if the tables hold anything (rows, or a hard state past term 0). */
  readonly present: boolean;
  readonly hardState: HardState;
  /** The rows after `after`, checked (checksum, bytes naming their own index and term, contiguous). Empty unless asked to read them. */
  readonly entries: LoggedEntry[];
}

/** What the old tables hold; with `read`, their entries after `after` (the snapshot's index: older rows are what compaction had not yet removed). */
export async function readOldFormatLog(knex: Knex, file: string, after: Index, read: boolean): Promise<OldFormatLog> {
  const hard = ((await knex('raft_hard_state').select('term', 'voted_for').where({ id: 1 })) as { term: number; voted_for: string | null }[])[0];
  const hardState: HardState = hard === undefined ? { term: 0, votedFor: null } : { term: hard.term, votedFor: hard.voted_for };
  const count = Number(((await knex('raft_log').count({ n: '*' })) as { n: number | string }[])[0]?.n ?? 0);
  const present = count > 0 || hardState.term > 0;
  if (!read || count === 0) return { present, hardState, entries: [] };
  const rows = (await knex('raft_log').select('idx', 'term', 'entry', 'crc').where('idx', '>', after).orderBy('idx')) as LogRow[];
  const entries = rows.map((row, i) => {
    const expected = after + 1 + i;
    if (row.idx !== expected) throw new CorruptStoreError(file, expected, 'the log has a gap: this entry is missing');
    return verified(file, row);
  });
  return { present, hardState, entries };
}

/** Empty the old tables once the segment log holds what they held. */
export async function removeOldFormatLog(knex: Knex): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('raft_log').delete();
    await trx('raft_hard_state').where({ id: 1 }).update({ term: 0, voted_for: null });
  });
}

interface LogRow {
  idx: number;
  term: number;
  entry: Buffer;
  crc: number;
}

/** A row's entry, checking its checksum and that its bytes say what its columns say. */
function verified(file: string, row: LogRow): LoggedEntry {
  const bytes = row.entry;
  if (!Buffer.isBuffer(bytes)) throw new CorruptStoreError(file, row.idx, 'the entry column does not hold bytes');
  if (checksumOf(bytes) !== row.crc) throw new CorruptStoreError(file, row.idx, `entry checksum mismatch (crc32 ${checksumOf(bytes)}, recorded ${row.crc})`);
  let entry;
  try {
    entry = decodeEntry(bytes);
  } catch (err) {
    if (err instanceof EntryDecodeError) throw new CorruptStoreError(file, row.idx, err.message, { cause: err });
    throw err;
  }
  if (entry.index !== row.idx || entry.term !== row.term) {
    throw new CorruptStoreError(file, row.idx, `entry bytes say index ${entry.index} term ${entry.term}, the row says index ${row.idx} term ${row.term}`);
  }
  return { index: entry.index, term: entry.term, bytes, crc: row.crc };
}
