/**
 * The dashboard table's columns as plain text, one function per row (pure,
 * tested without a screen). Left: what each replica says of itself; right:
 * the leader's view of it as a member and the monitor policy's judgement,
 * the same cells `quorumchat members` prints.
 */
import { monitorOpinion, reachableText } from '../commands/members-format.ts';
import { memberRowOf } from './dashboard-membership.ts';
import { lagOf, lastContactOf, type DashboardState, type ReplicaRow } from './dashboard-model.ts';

export interface Column {
  readonly header: string;
  /** Cells are padded to this; the last column takes what is left of the line. */
  readonly width: number;
}

/**
 * Widths fit the whole table in the 138 columns inside a 140-column
 * terminal's border (the size `up` is tested at): role fits `pre-candidate`,
 * indices seven digits (a million messages), health `catching-up`, monitor
 * `dead → requestReplacement`; the digest shows 6 hex digits, plenty to see
 * two replicas differ.
 */
export const COLUMNS: readonly Column[] = [
  { header: 'id', width: 5 },
  { header: 'process', width: 9 },
  { header: 'role', width: 14 },
  { header: 'term', width: 5 },
  { header: 'leader', width: 7 },
  { header: 'kind', width: 8 },
  { header: 'commit', width: 8 },
  { header: 'applied', width: 8 },
  { header: 'match', width: 8 },
  { header: 'lag', width: 6 },
  { header: 'reach', width: 6 },
  { header: 'contact', width: 8 },
  { header: 'digest', width: 8 },
  { header: 'health', width: 12 },
  { header: 'monitor', width: 26 },
];

/** Hex digits of the digest shown. */
const DIGEST_SHOWN = 6;

/**
 * One row's cells. `process` is up's process state, `external` for a replica
 * up does not run (one added from the dashboard and started by hand), `-`
 * outside up.
 */
export function rowCells(state: DashboardState, row: ReplicaRow, process: string): string[] {
  const s = row.status;
  const answering = s !== null && row.error === null;
  const member = memberRowOf(state.membership, row.id);
  const lag = member?.lag ?? lagOf(state, row);
  const contact = member ? member.lastContactMs : lastContactOf(state, row.id);
  return [
    row.id,
    process,
    // A replica that stopped answering shows no role: its last answer may say "leader".
    answering ? s.role : '-',
    s ? String(s.term) : '-',
    answering ? (s.leader ?? '-') : '-',
    member?.kind ?? (state.membership.report?.notMembers.includes(row.id) ? 'none' : '-'),
    s ? String(s.commitIndex) : '-',
    s ? String(s.appliedIndex) : '-',
    member?.matchIndex === null || member === null ? '-' : String(member.matchIndex),
    lag === null ? '-' : String(lag),
    (member && reachableText(member)) ?? '-',
    contact !== null ? `${Math.round(contact)}ms` : member?.reachable === false ? 'never' : '-',
    s ? s.digest.slice(0, DIGEST_SHOWN) + '…' : '-',
    row.error !== null ? 'no answer' : (s?.health ?? 'ok'),
    (member && monitorOpinion(member)) ?? (member === null && state.membership.report?.leader ? 'not a member' : '-'),
  ];
}

/** The cells padded into one line (the last one cut at its width). */
export function rowLine(cells: readonly string[]): string {
  return cells.map((c, i) => pad(c, COLUMNS[i]?.width ?? 8)).join('');
}

export function headerLine(): string {
  return rowLine(COLUMNS.map((c) => c.header));
}

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width - 1) + ' ' : text + ' '.repeat(width - text.length);
}
