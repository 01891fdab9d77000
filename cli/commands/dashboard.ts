/**
 * `quorumchat dashboard`: the operator dashboard (every replica's role, term,
 * indices, lag, health, membership and the monitor policy's opinion; commit
 * and election charts; the state-machine inspector) on a running cluster.
 * Membership changes work here (they need only NATS); stopping and starting
 * replicas needs the supervisor of `quorumchat up`, where the dashboard is a tab.
 */
import type { Command } from 'commander';
import { DEFAULT_PREFIX, DEFAULT_REPLICA_COUNT } from '../../config/defaults.ts';
import { NatsUrlSchema, PrefixSchema, ReplicaListSchema, parseFlag, replicaIdsFor } from '../options.ts';
import { requireTty } from './chat.ts';
import { DEFAULT_NATS_URL } from './status.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';

export function registerDashboardCommand(program: Command): void {
  addNatsAccessOptions(program.command('dashboard'))
    .description("watch every replica live: role, term, indices, lag, health, charts and state machines")
    .option('--nats <url>', 'NATS server of the cluster', DEFAULT_NATS_URL)
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--replicas <ids>', 'replica ids to poll at first, comma-separated (members the replicas name are added)', replicaIdsFor(DEFAULT_REPLICA_COUNT).join(','))
    .addHelpText('after', '\nStop/start/restart of replicas works inside `quorumchat up` (F3 there), not here; add, promote, remove and transfer (a, p, x, l) work in both.')
    .action(async (raw: Record<string, unknown>) => {
      const natsUrl = parseFlag('nats', NatsUrlSchema, raw['nats']);
      const prefix = parseFlag('prefix', PrefixSchema, raw['prefix']);
      const replicaIds = parseFlag('replicas', ReplicaListSchema, raw['replicas']);
      requireTty('dashboard');
      const { runTui } = await import('../tui/app.ts');
      const security = natsAccessOf(raw, 'operator', natsUrl);
      await runTui({ natsUrl, security, prefix, tabs: ['dashboard'], replicaIds, supervisor: null });
    });
}
