/** `quorumchat members list` as a terminal table, with the monitor's opinion below it. */
import type { Decision } from '../../actors/monitor/index.ts';
import { formatTable, type Column } from '../format/table.ts';
import type { MemberRow, MembersReport } from './members-report.ts';

const columns: readonly Column<MemberRow>[] = [
  { header: 'member', value: (r) => r.id },
  { header: 'kind', value: (r) => r.kind },
  { header: 'role', value: (r) => r.role },
  { header: 'term', value: (r) => r.term, align: 'right' },
  { header: 'reachable', value: (r) => (r.reachable === null ? null : r.reachable ? 'yes' : 'no') },
  { header: 'last contact', value: (r) => (r.lastContactMs === null ? (r.reachable === false ? 'never' : null) : `${r.lastContactMs} ms ago`), align: 'right' },
  { header: 'match', value: (r) => r.matchIndex, align: 'right' },
  { header: 'lag', value: (r) => r.lag, align: 'right' },
  { header: 'health', value: (r) => r.health },
  { header: 'monitor', value: (r) => (r.verdict === null ? null : r.action === null ? r.verdict : `${r.verdict} → ${r.action}`) },
];

export function formatMembers(report: MembersReport): string {
  const head =
    report.leader === null
      ? 'no leader: the members below are as the most recent answer names them'
      : `leader ${report.leader}, term ${report.term}, commitIndex ${report.commitIndex}${report.changeInFlight ? ', a membership change in flight' : ''}`;
  const lines = [head, formatTable(columns, report.members)];
  if (report.notMembers.length > 0) lines.push(`answering but not members: ${report.notMembers.join(', ')}`);
  // One look, no memory: what the policy would decide now (it does not run inside replicas yet).
  lines.push(...report.monitor.map((d) => `monitor policy: ${describeDecision(d)}`));
  return lines.join('\n');
}

export function describeDecision(decision: Decision): string {
  const subject = decision.kind === 'wait' ? decision.why : decision.kind === 'requestReplacement' ? `for ${decision.replaces}` : decision.id;
  return `${decision.kind} ${subject} (${decision.reason})`;
}
