/**
 * Runs `quorumchat inspect` once its flags are checked: the terminal panel, or
 * the local web page (cli/inspector/web.ts) until Ctrl-C.
 */
import blessed from 'blessed';
import { ANY_TOKEN, inspectSubject } from '../../actors/protocol/index.ts';
import { raftMachine } from '../../actors/raft/index.ts';
import { connectTuiNats } from '../tui/app.ts';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';
import { keyHints } from '../tui/widgets.ts';
import { InspectorFeed } from './feed.ts';
import { stateGraphOf } from './graph.ts';
import { layoutChart } from './layout.ts';
import { InspectorPanel } from './terminal-view.ts';
import { startInspectorWeb } from './web.ts';

export interface InspectorOptions {
  readonly natsUrl: string;
  readonly security: NatsSecuritySettings;
  readonly prefix: string;
  readonly web: boolean;
  /** With `web`: the page's port on 127.0.0.1 (0: any free port). */
  readonly port: number;
}

export async function runInspector({ natsUrl, security, prefix, web, port }: InspectorOptions): Promise<void> {
  const nc = await connectTuiNats(natsUrl, security, 'quorumchat-inspect');
  const feed = InspectorFeed.attach(nc, prefix);
  const subject = inspectSubject(prefix, ANY_TOKEN);
  const graph = stateGraphOf(raftMachine);
  try {
    if (web) {
      const server = await startInspectorWeb({ graph, layout: layoutChart(graph), source: feed, port, title: `quorumchat inspector · ${prefix}` });
      process.stdout.write(`inspector: ${server.url}  (subscribed to ${subject} on ${natsUrl}; Ctrl-C stops)\n`);
      await untilSignal();
      await server.close();
    } else {
      await runTerminalInspector(feed, graph, `${natsUrl} · ${subject}`);
    }
  } finally {
    feed.close();
    await nc.close().catch(() => undefined);
  }
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
