/** `quorumchat members list` as a terminal table, with the monitor's decisions below it. */
import { formatTable, type Column } from '../format/table.ts';
import { describeDecision, describeTaken } from './members-decisions.ts';
import type { MemberRow, MembersReport, MonitorReport } from './members-report.ts';

export { describeDecision } from './members-decisions.ts';

/** Decisions the table prints, newest first; `--json` has all the report keeps. */
export const DECISIONS_PRINTED = 10;

const columns: readonly Column<MemberRow>[] = [
  { header: 'member', value: (r) => r.id },
  { header: 'kind', value: (r) => r.kind },
  { header: 'role', value: (r) => r.role },
  { header: 'term', value: (r) => r.term, align: 'right' },
  { header: 'reachable', value: reachableText },
  { header: 'last contact', value: (r) => (r.lastContactMs === null ? (r.reachable === false ? 'never' : null) : `${r.lastContactMs} ms ago`), align: 'right' },
  { header: 'match', value: (r) => r.matchIndex, align: 'right' },
  { header: 'lag', value: (r) => r.lag, align: 'right' },
  { header: 'health', value: (r) => r.health },
  { header: 'monitor', value: monitorOpinion },
];

/** `yes` / `no` from the leader's view; null (shown as `-`) without a leader. The dashboard shows the same. */
export function reachableText(row: MemberRow): string | null {
  return row.reachable === null ? null : row.reachable ? 'yes' : 'no';
}

/**
 * The verdict, and `→ decision`: the leader's latest action on this member
 * (within a minute), or, when advisory, what the policy would do now. The
 * dashboard shows the same.
 */
export function monitorOpinion(row: MemberRow): string | null {
  return row.verdict === null ? null : row.action === null ? row.verdict : `${row.verdict} → ${row.action}`;
}

export function formatMembers(report: MembersReport): string {
  const head =
    report.leader === null
      ? 'no leader: the members below are as the most recent answer names them'
      : `leader ${report.leader}, term ${report.term}, commitIndex ${report.commitIndex}${report.changeInFlight ? ', a membership change in flight' : ''}`;
  const lines = [head, formatTable(columns, report.members)];
  if (report.notMembers.length > 0) lines.push(`answering but not members: ${report.notMembers.join(', ')}`);
  lines.push(...monitorSection(report.monitor));
  return lines.join('\n');
}

/** Which decisions these are, then the decisions, newest first. */
export function monitorSection(monitor: MonitorReport): string[] {
  const indent = (line: string): string => `  ${line}`;
  const taken = monitor.decisions.slice(0, DECISIONS_PRINTED).map((d) => indent(describeTaken(d)));
  const older = monitor.decisions.length > DECISIONS_PRINTED ? [indent(`(${monitor.decisions.length - DECISIONS_PRINTED} older: --json lists them)`)] : [];
  if (monitor.source === 'leader') {
    const acting = monitor.enabled === false ? `; monitor.enabled is false there: it decides and logs, never acts` : '';
    if (taken.length === 0) return [`monitor: the leader ${monitor.leader}'s monitor has decided nothing yet (it looks every monitor.intervalMs)${acting}`];
    return [`monitor: decisions of the leader ${monitor.leader}'s monitor (and of former leaders still running), newest first${acting}:`, ...taken, ...older];
  }
  const why = monitor.leader === null ? 'no leader to ask' : `the leader ${monitor.leader} reports no monitor`;
  const lines = [`monitor policy (advisory: ${why}; what the policy decides from this one look, nothing carries it out):`, ...monitor.advisory.map((d) => indent(describeDecision(d)))];
  if (taken.length > 0) lines.push('decisions taken earlier by replicas that led, newest first:', ...taken, ...older);
  return lines;
}
