/**
 * `quorumchat inspect`: every replica's state machine live, from the
 * inspection records replicas publish on `<prefix>.inspect.<id>`: in the
 * terminal, or with --web as a local page (loopback only, no internet).
 */
import blessed from 'blessed';
import type { Command } from 'commander';
import { raftMachine } from '../../actors/raft/index.ts';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { NatsUrlSchema, PortSchema, PrefixSchema, parseFlag } from '../options.ts';
import { InspectorFeed } from '../inspector/feed.ts';
import { stateGraphOf } from '../inspector/graph.ts';
import { layoutChart } from '../inspector/layout.ts';
import { InspectorPanel } from '../inspector/terminal-view.ts';
import { startInspectorWeb } from '../inspector/web.ts';
import { connectNats } from '../tui/app.ts';
import { keyHints } from '../tui/widgets.ts';
import { requireTty } from './chat.ts';
import { DEFAULT_NATS_URL } from './status.ts';

/** The web inspector's default port (any free port with --port 0). */
export const DEFAULT_INSPECTOR_PORT = 8090;

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
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
      const nc = await connectNats(natsUrl, 'quorumchat-inspect');
      const feed = InspectorFeed.attach(nc, prefix);
      const graph = stateGraphOf(raftMachine);
      try {
        if (web) {
          const server = await startInspectorWeb({ graph, layout: layoutChart(graph), source: feed, port, title: `quorumchat inspector · ${prefix}` });
          process.stdout.write(`inspector: ${server.url}  (subscribed to ${prefix}.inspect.* on ${natsUrl}; Ctrl-C stops)\n`);
          await untilSignal();
          await server.close();
        } else {
          await runTerminalInspector(feed, graph, `${natsUrl} · ${prefix}.inspect.*`);
        }
      } finally {
        feed.close();
        await nc.close().catch(() => undefined);
      }
    });
}

async function runTerminalInspector(feed: InspectorFeed, graph: ReturnType<typeof stateGraphOf>, where: string): Promise<void> {
  const screen = blessed.screen({ smartCSR: true, fullUnicode: true, forceUnicode: true, title: 'quorumchat inspect', warnings: false });
  blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { bg: 'blue', fg: 'white' }, content: ` {bold}quorumchat inspect{/bold} │ ${blessed.escape(where)}` });
  const panel = new InspectorPanel(screen, screen, graph, feed, { top: 1, left: 0, width: '100%', height: '100%-2' });
  blessed.box({ parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true, content: keyHints([['↑↓', 'scroll log'], ['q', 'quit'], ['^C', 'quit']]) });
  panel.logWidget.focus();
  screen.render();
  await new Promise<void>((resolve) => screen.key(['q', 'C-c', 'escape'], () => resolve()));
  panel.destroy();
  screen.destroy();
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
