/**
 * `quorumchat chat`: the terminal chat client (log in or register, talk, page
 * history, delete) against a running cluster.
 */
import type { Command } from 'commander';
import { DEFAULT_PREFIX, DEFAULT_REPLICA_COUNT } from '../../config/defaults.ts';
import { CliError, ExitCode } from '../errors.ts';
import { NatsUrlSchema, PrefixSchema, parseFlag, replicaIdsFor } from '../options.ts';
import { DEFAULT_NATS_URL } from './status.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';

export function registerChatCommand(program: Command): void {
  addNatsAccessOptions(program.command('chat'))
    .description('open the terminal chat client on a running cluster')
    .option('--nats <url>', 'NATS server of the cluster', DEFAULT_NATS_URL)
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .addHelpText('after', '\nKeys are shown at the bottom of the screen; F1 shows them all.\n\nExample:\n  quorumchat chat --nats nats://127.0.0.1:4222')
    .action(async (raw: Record<string, unknown>) => {
      const natsUrl = parseFlag('nats', NatsUrlSchema, raw['nats']);
      const prefix = parseFlag('prefix', PrefixSchema, raw['prefix']);
      requireTty('chat');
      const { runTui } = await import('../tui/app.ts');
      const security = natsAccessOf(raw, 'client', natsUrl);
      await runTui({ natsUrl, security, prefix, tabs: ['chat'], replicaIds: replicaIdsFor(DEFAULT_REPLICA_COUNT), supervisor: null });
    });
}

/** The UI needs a terminal; say so instead of drawing escape codes into a pipe. */
export function requireTty(command: string): void {
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new CliError(`quorumchat ${command} needs a terminal (stdin and stdout must be a TTY)`, ExitCode.usage);
  }
}
