/**
 * `quorumchat members`: list the members with the leader's view of each and
 * the monitor policy's opinion; add a learner, promote, remove, transfer
 * leadership, each checked for safety before it is sent (docs/operators.md).
 */
import type { Command } from 'commander';
import type { ChangeAction } from '../../actors/monitor/index.ts';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { ReplicaIdSchema } from '../../actors/protocol/index.ts';
import { DurationSchema, NatsUrlSchema, PrefixSchema, parseFlag } from '../options.ts';
import { connectOrExplain, DEFAULT_NATS_URL } from './status.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';
import { makeChange } from './members-change.ts';
import { MembersRefusal, REFUSAL_HELP } from './members-exit.ts';
import { formatMembers } from './members-format.ts';
import { gatherMembers } from './members-report.ts';

/** The leader answers `cluster` in milliseconds; a leaderless cluster holds the request, so this is also how long "no leader" takes to say. */
const LIST_TIMEOUT = '3s';
/** Beyond a replica's default request deadline (5 s), so the cluster's own `unavailable` arrives rather than our timeout. */
const CHANGE_TIMEOUT = '10s';

interface Connection {
  readonly natsUrl: string;
  readonly prefix: string;
  readonly timeoutMs: number;
}

const CHANGES: readonly { name: string; action: ChangeAction; description: string; force?: boolean }[] = [
  { name: 'add', action: 'addLearner', description: 'add a replica as a learner (then start it with --peers naming the voters and itself)' },
  { name: 'promote', action: 'promote', description: 'make a caught-up learner a voter', force: true },
  { name: 'remove', action: 'remove', description: 'remove a voter or learner; the leader hands leadership to the most caught-up other voter first' },
  { name: 'transfer', action: 'transfer', description: 'move leadership to a caught-up voter' },
];

export function registerMembersCommand(program: Command): void {
  const members = program
    .command('members')
    .description('list the replica set, add, promote, remove, transfer leadership')
    .addHelpText('after', `\n${REFUSAL_HELP}\n\nExamples:\n  quorumchat members\n  quorumchat members add r6\n  quorumchat members promote r6\n  quorumchat members remove r3\n  quorumchat members transfer r6`);

  withConnection(
    members.command('list', { isDefault: true }).description("every member: kind, role, term, reachable, last contact, match index, lag, health, the monitor's opinion"),
    LIST_TIMEOUT,
  )
    .option('--json', 'print JSON instead of a table', false)
    .addHelpText('after', '\nExit code 0 when a leader answered, 4 when none did, 3 when NATS cannot be reached.')
    .action(async (raw: Record<string, unknown>) => {
      const options = connectionOf(raw);
      const nc = await connectOrExplain(options.natsUrl, natsAccessOf(raw, 'operator', options.natsUrl));
      try {
        const report = await gatherMembers(nc, options.prefix, options.timeoutMs);
        process.stdout.write((raw['json'] === true ? JSON.stringify(report, null, 2) : formatMembers(report)) + '\n');
        process.exitCode = report.leader === null ? ExitCode.unavailable : ExitCode.ok;
      } finally {
        await nc.close();
      }
    });

  for (const change of CHANGES) {
    const command = withConnection(members.command(`${change.name} <id>`).description(change.description), CHANGE_TIMEOUT);
    if (change.force) command.option('--force', 'promote even if the learner has not caught up (never into a configuration without a quorum)', false);
    command.addHelpText('after', `\n${REFUSAL_HELP}`).action(async (id: string, raw: Record<string, unknown>) => {
      const replicaId = replicaIdOf(id);
      const options = connectionOf(raw);
      const nc = await connectOrExplain(options.natsUrl, natsAccessOf(raw, 'operator', options.natsUrl));
      try {
        const done = await makeChange(nc, { action: change.action, id: replicaId }, { prefix: options.prefix, timeoutMs: options.timeoutMs, force: raw['force'] === true });
        process.stdout.write(`${done}\n`);
      } catch (err) {
        if (!(err instanceof MembersRefusal)) throw err;
        // Its own exit code, which cli/errors.ts's shared set does not name.
        process.stderr.write(`quorumchat members ${change.name}: refused: ${err.message}\n`);
        process.exitCode = err.exitCode;
      } finally {
        await nc.close();
      }
    });
  }
}

function withConnection(command: Command, defaultTimeout: string): Command {
  // Membership changes need the operator credential (docs/security.md); beside `up` it is found under ./data.
  return addNatsAccessOptions(command)
    .option('--nats <url>', 'NATS server of the cluster', DEFAULT_NATS_URL)
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--timeout <duration>', 'how long the cluster has to answer', defaultTimeout);
}

function connectionOf(raw: Record<string, unknown>): Connection {
  return {
    natsUrl: parseFlag('nats', NatsUrlSchema, raw['nats']),
    prefix: parseFlag('prefix', PrefixSchema, raw['prefix']),
    timeoutMs: parseFlag('timeout', DurationSchema, raw['timeout']),
  };
}

/** The ID argument, validated like a flag but named as the argument it is. */
function replicaIdOf(id: string): string {
  const parsed = ReplicaIdSchema.safeParse(id);
  if (!parsed.success) throw new UsageError(`ID ${JSON.stringify(id)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}
