/**
 * Applying a run of committed commands at once, with exactly the result of
 * applying them one by one (`applyCommand`): replicas cut their apply
 * batches at different places, so any other result would split their state.
 *
 * Consecutive sends become ONE statement (`INSERT … SELECT FROM json_each`),
 * which is what most entries are: one statement per entry was most of a
 * follower's apply cost (docs/notebook.md, "Issue 10"). It is the same
 * result because a send's checks read only sessions, accounts and
 * send_requests; sends change none of the first two, and the third only for
 * their own (sender, requestId), so sends in one statement cannot see one
 * another unless two share a (sender, requestId). A run is therefore cut
 * before a repeated pair, and every other command is applied on its own.
 */
import type { Knex } from 'knex';
import type { ChatCommand, CommandOf } from './commands.ts';
import { applyCommand, applySendChecked, sendRow, type ApplyResult, type EntryPosition } from './apply.ts';
import { preparedRows } from '../../storage/prepared.ts';

/** Sends in one statement at most: bounds the JSON bound to it (a send's text is at most 8,000 characters here). */
export const MAX_SENDS_PER_STATEMENT = 256;

export interface PositionedCommand {
  readonly command: ChatCommand;
  readonly at: EntryPosition;
}

/** The results of applying `commands` in order, inside the caller's transaction. */
export async function applyCommands(trx: Knex, commands: readonly PositionedCommand[]): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  let i = 0;
  while (i < commands.length) {
    const run = sendRunFrom(commands, i);
    if (run.length >= 2) {
      results.push(...(await applySends(trx, run)));
      i += run.length;
    } else {
      const { command, at } = commands[i]!;
      results.push(await applyCommand(trx, command, at));
      i += 1;
    }
  }
  return results;
}

type PositionedSend = { readonly command: CommandOf<'send'>; readonly at: EntryPosition };

/** The longest run of sends from `start` in which no (sender, requestId) repeats. */
function sendRunFrom(commands: readonly PositionedCommand[], start: number): PositionedSend[] {
  const run: PositionedSend[] = [];
  const seen = new Set<string>();
  for (let i = start; i < commands.length && run.length < MAX_SENDS_PER_STATEMENT; i += 1) {
    const { command, at } = commands[i]!;
    if (command.type !== 'send') break;
    const key = JSON.stringify([command.username, command.requestId]);
    if (seen.has(key)) break;
    seen.add(key);
    run.push({ command, at });
  }
  return run;
}

async function applySends(trx: Knex, run: readonly PositionedSend[]): Promise<ApplyResult[]> {
  const rows = run.map(({ command, at }) => {
    const row = sendRow(command, at);
    return [row.id, row.sender, row.recipient, row.pair_lo, row.pair_hi, row.text, row.ts, command.requestId, command.tokenHash];
  });
  const inserted = await preparedRows<{ id: number }>(trx, SENDS_SQL, [JSON.stringify(rows)]);
  const sent = new Set(inserted.map((row) => row.id));
  const results: ApplyResult[] = [];
  for (const { command, at } of run) results.push(await applySendChecked(trx, command, at, sent.has(at.index)));
  return results;
}

/**
 * The same three checks as applySend's one-row statement, per row of the JSON array. One SQL
 * text for every run length (the rows are one bound JSON value), so it is prepared once.
 */
const SENDS_SQL = `INSERT INTO messages (id, sender, recipient, pair_lo, pair_hi, text, ts, read, hidden_by_sender, hidden_by_recipient, request_id)
     SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5, r.value ->> 6, 0, 0, 0, r.value ->> 7
       FROM json_each(?) AS r
      WHERE EXISTS (SELECT 1 FROM sessions WHERE token_hash = r.value ->> 8 AND username = r.value ->> 1 AND expires_ts > r.value ->> 6)
        AND NOT EXISTS (SELECT 1 FROM send_requests WHERE sender = r.value ->> 1 AND request_id = r.value ->> 7)
        AND EXISTS (SELECT 1 FROM accounts WHERE username = r.value ->> 2)
      ORDER BY r.key
     RETURNING id`;
