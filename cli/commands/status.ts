/**
 * `quorumchat status`: every replica's role, term, commit and applied index,
 * lag and digest, from the per-replica status subjects, as a table or JSON.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Command } from 'commander';
import { DEFAULT_NATS_HOST, DEFAULT_NATS_PORT, DEFAULT_PREFIX, DEFAULT_REPLICA_COUNT } from '../../config/defaults.ts';
import { CliError, ExitCode } from '../errors.ts';
import { formatClusterStatus } from '../format/status.ts';
import { DurationSchema, NatsUrlSchema, PrefixSchema, ReplicaListSchema, parseFlag, replicaIdsFor } from '../options.ts';
import { askCluster, collectClusterStatus, STATUS_TIMEOUT_MS, type ClusterAnswer } from '../supervisor/cluster-status.ts';
import { addNatsAccessOptions, connectNats, natsAccessOf } from '../nats-access.ts';
import { NatsCredentialsError, type NatsSecuritySettings } from '../../config/nats-security.ts';
import { NatsAuthError } from '../../actors/transport/nats-connection.ts';

export const DEFAULT_NATS_URL = `nats://${DEFAULT_NATS_HOST}:${DEFAULT_NATS_PORT}`;
/** How long to wait for the cluster's member list before falling back to r1..r5. */
const MEMBERS_TIMEOUT_MS = 2_000;
/** Reaching a local nats-server takes milliseconds; a wrong URL should fail fast. */
const CONNECT_TIMEOUT_MS = 3_000;
/** Replicas asked when neither --replicas nor the cluster op names them: what `up` starts. */
const DEFAULT_REPLICA_IDS = replicaIdsFor(DEFAULT_REPLICA_COUNT);

/** The protocol's `cluster` reply, successful. */

export function registerStatusCommand(program: Command): void {
  addNatsAccessOptions(program.command('status'))
    .description("show every replica's role, term, commit and applied index, lag and digest")
    .option('--nats <url>', 'NATS server of the cluster', DEFAULT_NATS_URL)
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--replicas <ids>', "replica ids to ask, comma-separated (default: the cluster's members, else r1..r5)")
    .option('--timeout <duration>', 'how long each replica has to answer', `${STATUS_TIMEOUT_MS}ms`)
    .option('--json', 'print JSON instead of a table', false)
    .addHelpText(
      'after',
      '\nExit code 0 when a leader answered, 4 when none did, 3 when NATS cannot be reached.\n\nExamples:\n  quorumchat status\n  quorumchat status --nats nats://127.0.0.1:4333 --json',
    )
    .action(async (raw: Record<string, unknown>) => {
      const natsUrl = parseFlag('nats', NatsUrlSchema, raw['nats']);
      const prefix = parseFlag('prefix', PrefixSchema, raw['prefix']);
      const timeoutMs = parseFlag('timeout', DurationSchema, raw['timeout']);
      const explicit = raw['replicas'] === undefined ? undefined : parseFlag('replicas', ReplicaListSchema, raw['replicas']);
      const nc = await connectOrExplain(natsUrl, natsAccessOf(raw, 'operator', natsUrl));
      try {
        const ids = explicit ?? memberIdsOf(await askCluster(nc, prefix, MEMBERS_TIMEOUT_MS)) ?? DEFAULT_REPLICA_IDS;
        const status = await collectClusterStatus(nc, prefix, ids, timeoutMs);
        process.stdout.write((raw['json'] === true ? JSON.stringify(status, null, 2) : formatClusterStatus(status)) + '\n');
        process.exitCode = status.leader === null ? ExitCode.unavailable : ExitCode.ok;
      } finally {
        await nc.close();
      }
    });
}

/** Connects once, without retrying: status is a one-shot probe. */
export async function connectOrExplain(natsUrl: string, security: NatsSecuritySettings): Promise<NatsConnection> {
  try {
    return await connectNats(natsUrl, security, { name: 'quorumchat-status', timeoutMs: CONNECT_TIMEOUT_MS, reconnect: false });
  } catch (err) {
    // Refused or unreadable credentials say so themselves; "is the cluster up?" would mislead.
    if (err instanceof NatsAuthError || err instanceof NatsCredentialsError) throw err;
    throw new CliError(
      `cannot reach NATS at ${natsUrl} (${err instanceof Error ? err.message : String(err)}); is the cluster up? (quorumchat up)`,
      ExitCode.environment,
    );
  }
}



/** The member ids the leader's `cluster` answer names, or undefined without one. */
function memberIdsOf(cluster: ClusterAnswer | null): string[] | undefined {
  return cluster !== null && cluster.members.length > 0 ? cluster.members.map((m) => m.id) : undefined;
}
