/** The cluster status as a terminal table (shared by `status` and `up`). */
import type { ClusterStatus, ReplicaStatusRow } from '../supervisor/cluster-status.ts';
import { formatTable, type Column } from './table.ts';

/** Digests are 64 hex characters; 12 tell replicas apart at a glance (`--json` has them whole). */
const DIGEST_SHOWN_CHARS = 12;

const columns: readonly Column<ReplicaStatusRow>[] = [
  { header: 'replica', value: (r) => r.id },
  { header: 'answered', value: (r) => (r.answered ? 'yes' : 'no') },
  { header: 'role', value: (r) => (r.answered ? r.status.role : null) },
  { header: 'term', value: (r) => (r.answered ? r.status.term : null), align: 'right' },
  { header: 'leader', value: (r) => (r.answered ? r.status.leader : null) },
  { header: 'commit', value: (r) => (r.answered ? r.status.commitIndex : null), align: 'right' },
  { header: 'applied', value: (r) => (r.answered ? r.status.appliedIndex : null), align: 'right' },
  { header: 'lag', value: (r) => (r.answered ? r.lag : null), align: 'right' },
  { header: 'digest', value: (r) => (r.answered ? r.status.digest.slice(0, DIGEST_SHOWN_CHARS) : null) },
  // `health` is a replica's own extra (docs/replica.md), shown when it reports one.
  { header: 'health', value: (r) => (r.answered && typeof r.status['health'] === 'string' ? r.status['health'] : null) },
  { header: 'note', value: (r) => (r.answered ? null : r.error) },
];

export function formatClusterStatus(status: ClusterStatus): string {
  const head =
    status.leader === null
      ? 'no leader: no replica answered as leader'
      : `leader ${status.leader}, term ${status.term}, commitIndex ${status.commitIndex}`;
  return `${head}\n${formatTable(columns, status.replicas)}`;
}
