/**
 * `quorumchat inspect`: every replica's state machine live, from the
 * inspection records replicas publish on `<prefix>.inspect.<id>`: in the
 * terminal, or with --web as a local page (loopback only, no internet).
 * The inspector itself loads only when the command runs (cli/inspector/run.ts),
 * so other commands (every replica process among them) do not load blessed.
 */
import type { Command } from 'commander';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { NatsUrlSchema, PortSchema, PrefixSchema, parseFlag } from '../options.ts';
import { requireTty } from './chat.ts';
import { DEFAULT_NATS_URL } from './status.ts';
import { addNatsAccessOptions, natsAccessOf } from '../nats-access.ts';

/** The web inspector's default port (any free port with --port 0). */
export const DEFAULT_INSPECTOR_PORT = 8090;

export function registerInspectCommand(program: Command): void {
  addNatsAccessOptions(program.command('inspect'))
    .description("watch every replica's state machine live, in the terminal or (--web) in a browser")
    .option('--nats <url>', 'NATS server of the cluster', DEFAULT_NATS_URL)
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .option('--web', 'serve the inspector as a local web page instead', false)
    .option('--port <port>', 'port of the web page on 127.0.0.1 (with --web)', String(DEFAULT_INSPECTOR_PORT))
    .addHelpText('after', '\nExamples:\n  quorumchat inspect\n  quorumchat inspect --web --port 8090   then open http://127.0.0.1:8090/')
    .action(async (raw: Record<string, unknown>) => {
      const natsUrl = parseFlag('nats', NatsUrlSchema, raw['nats']);
      const prefix = parseFlag('prefix', PrefixSchema, raw['prefix']);
      const web = raw['web'] === true;
      const port = web ? (String(raw['port']) === '0' ? 0 : parseFlag('port', PortSchema, raw['port'])) : 0;
      if (!web) requireTty('inspect');
      const { runInspector } = await import('../inspector/run.ts');
      await runInspector({ natsUrl, security: natsAccessOf(raw, 'operator', natsUrl), prefix, web, port });
    });
}
